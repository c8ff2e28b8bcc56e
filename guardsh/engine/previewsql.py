"""The SQL part of a preview: the statement, the tables it touches, and a row count where one
can be derived safely.

Counts are derived only for a local SQLite file, with ``sqlite3 -readonly`` (which can write
nothing), and only when the statement's condition is plain: column names, literals, comparisons
and AND/OR/NOT/IN/LIKE/BETWEEN/IS NULL, with no function call, subquery or comment (a condition
could call a function with side effects, or take minutes).  guardsh never queries a database
server to preview: its address, credentials and load are the requester's business, and a count
on a big production table is itself an incident.  For those the preview names the statement and
its tables, and says why there is no count.
"""
from __future__ import annotations

import re

from guardsh.engine.model import Command, Verdict
from guardsh.engine.view import View

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from guardsh.engine.classify import Classifier

NAME = r'(?:"[^"]+"|`[^`]+`|\[[^\]]+\]|[A-Za-z_][A-Za-z0-9_$]*)(?:\.(?:"[^"]+"|`[^`]+`|[A-Za-z_][A-Za-z0-9_$]*))?'
SHAPE_SOURCES = (  # statement -> (kind, the tables part, the condition); compiled when first needed
    ("delete", (rf"^\s*delete\s+from\s+({NAME})\s*(?:where\s+(.*?))?\s*;?\s*$")),
    ("update", (rf"^\s*update\s+(?:or\s+\w+\s+)?({NAME})\s+set\s+.*?(?:\s+where\s+(.*?))?\s*;?\s*$")),
    ("drop", (rf"^\s*drop\s+table\s+(?:if\s+exists\s+)?((?:{NAME})(?:\s*,\s*{NAME})*)\s*(?:cascade|restrict)?\s*;?\s*$")),
    ("truncate", (rf"^\s*truncate\s+(?:table\s+)?(?:only\s+)?((?:{NAME})(?:\s*,\s*{NAME})*)\s*(?:cascade|restrict|restart\s+identity|continue\s+identity)*\s*;?\s*$")),
)
TOKEN_SOURCE = r"\s*(?:('(?:[^']|'')*')|(\d+(?:\.\d+)?)|(" + NAME + r")|(<>|!=|>=|<=|==|=|<|>|\(|\)|,|-(?=\d)))"
_COMPILED: list[Any] = []


def _patterns() -> tuple[list[tuple[str, re.Pattern[str]]], re.Pattern[str]]:
    if not _COMPILED:
        _COMPILED.append([(kind, re.compile(src, re.I | re.S)) for kind, src in SHAPE_SOURCES])
        _COMPILED.append(re.compile(TOKEN_SOURCE, re.S))
    return _COMPILED[0], _COMPILED[1]


CONDITION_WORDS = {"and", "or", "not", "in", "like", "glob", "between", "is", "null", "true", "false"}
CLIENTS = ("sqlite3", "psql", "mysql", "mariadb")


def sql_plan(cmd: Command, verdict: Verdict, classifier: Classifier) -> dict[str, Any]:
    """``notes`` (statement, tables, why no count) and, for SQLite, the count step."""
    statement = " ".join((cmd.text or " ".join(cmd.argv[1:])).split())
    notes = [f"statement: {statement}"]
    shapes, _token = _patterns()
    shape = next(((kind, m) for kind, m in ((k, p.match(statement)) for k, p in shapes) if m), None)
    if shape is None:
        tables = _tables_from_words(cmd)
        notes.append(f"tables: {', '.join(tables) or 'none named'}")
        return {"notes": notes, "steps": []}
    kind, m = shape
    tables = [t.strip() for t in re.split(r"\s*,\s*", m.group(1).strip())]
    notes.append(f"tables: {', '.join(tables)}")
    condition = m.group(2) if kind in ("delete", "update") else None
    client = _client(cmd, verdict)
    if client is None or client.program != "sqlite3":
        who = client.program if client is not None else "this client"
        notes.append(f"row counts: not queried ({who} talks to a database server; guardsh previews never query servers)")
        return {"notes": notes, "steps": []}
    db = _sqlite_file(client, classifier)
    if db is None:
        notes.append("row counts: not queried (no database file named)")
        return {"notes": notes, "steps": []}
    if condition is not None and not plain_condition(condition):
        notes.append("row counts: not queried (the condition calls functions or holds a subquery)")
        return {"notes": notes, "steps": []}
    where = f" WHERE {condition}" if condition else ""
    steps = [{"kind": "run", "argv": ["sqlite3", "-readonly", db, f"SELECT count(*) FROM {t}{where}"], "globs": [],
              "label": f"rows {'affected in' if condition else 'in'} {t}", "show": "lines"} for t in tables]
    return {"notes": notes, "steps": steps}


def plain_condition(text: str) -> bool:
    """Only names, literals, comparisons and the condition words; parentheses only after IN."""
    pos, tokens = 0, []
    text = text.strip()
    token = _patterns()[1]
    while pos < len(text):
        m = token.match(text, pos)
        if m is None or m.end() == pos:
            return False
        tokens.append(m.group(0).strip())
        pos = m.end()
    for k, tok in enumerate(tokens):
        if tok == "(" and (k == 0 or tokens[k - 1].lower() != "in"):
            return False
        if tok.lower() in ("select", "with", "values"):
            return False
        if k + 1 < len(tokens) and tokens[k + 1] == "(" and tok.lower() != "in":
            return False
    return True


def _tables_from_words(cmd: Command) -> list[str]:
    words = [w.value for w in cmd.words[1:]]
    out = []
    for k, w in enumerate(words[:-1]):
        if w.lower() in ("from", "into", "table", "update", "join") and words[k + 1].lower() not in ("if", "select", "("):
            out.append(words[k + 1])
    return list(dict.fromkeys(out))


def _client(cmd: Command, verdict: Verdict) -> Command | None:
    """The SQL client command this statement came from."""
    statement = cmd.text
    found = None
    for other in verdict.commands:
        if other is cmd:
            break
        if other.program in CLIENTS and statement and any(statement in w.value for w in other.words[1:]):
            found = other
    return found


def _sqlite_file(client: Command, classifier: Classifier) -> str | None:
    view = View(client, classifier.rules.program("sqlite3"))
    if not view.positionals or view.positionals[0].dynamic:
        return None
    db = view.positionals[0].value
    if db in (":memory:", "") or len(view.positionals) < 1:
        return None
    return db
