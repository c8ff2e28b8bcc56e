"""Code embedded in commands: SQL given to database CLIs, Redis and MongoDB commands, and the
inline code of interpreters (``python -c``, ``perl -e``, ``node -e``...).

The code is read just far enough to turn what it will do into pseudo-commands that the rules
classify like any other command:

* each SQL statement becomes ``sql <words...>`` (keywords lower-cased, string literals as
  ``?``, parenthesised groups as ``(...)``): ``psql -c 'DROP TABLE users'`` -> ``sql drop table users``;
* each Redis command becomes ``redis <command> <args...>``, each MongoDB shell call that deletes
  becomes ``mongo <operation> <collection> <filter>``;
* a destructive call in interpreter code becomes the shell command it amounts to:
  ``shutil.rmtree("data")`` -> ``rm -r data``, ``os.system("...")`` -> the shell text itself,
  so the filesystem rules and path classes apply.

Code that cannot be read (a program built at run time, ``eval`` of a variable, SQL or code read
from a pipe) is reported as a problem, which makes the verdict ask.  This module is imported
only when one of these programs appears in a command.
"""
from __future__ import annotations

import os

from guardsh.engine.model import Command, Word

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable
from guardsh.engine.unwrap import Expansion, Reader, _text, expand_one

MAX_TEXT = 160
MAX_SQL_WORDS = 64


# --- shared plumbing ------------------------------------------------------------------------

def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."


def _emit(cmd: Command, words: list[Word], label: str, text: str, out: Expansion, reader: Reader,
          depth: int) -> None:
    """Classify a pseudo-command found inside ``cmd``'s code."""
    pseudo = Command(words=tuple(words), assignments=cmd.assignments, text=_short(text),
                     via=cmd.via + (label,), args_from_stdin=cmd.args_from_stdin)
    expand_one(pseudo, reader, out, depth + 1)


def _shell_text(cmd: Command, text: str, label: str, out: Expansion, reader: Reader, depth: int) -> None:
    _text(cmd.replace(redirects=(), stdin=None, stdin_from=None), text, label, out, reader, depth + 1)


def _opaque(cmd: Command, reason: str, out: Expansion) -> None:
    out.problem(reason, cmd)
    out.worsen("opaque")


def _stdin(cmd: Command) -> tuple[str, object] | None:
    """What a command reads on standard input: ('text', body) for a here-document or string,
    ('file', Word) for ``< file``, ('pipe', program) for a pipeline, None otherwise."""
    for r in cmd.redirects:
        if r.fd in (None, 0):
            if r.heredoc is not None:
                body = r.heredoc
                return ("text", (body, not r.heredoc_quoted and r.op != "<<<" and "$" in body))
            if r.op == "<" and r.target is not None:
                return ("file", r.target)
    if cmd.stdin == "pipe":
        return ("pipe", cmd.stdin_from)
    return None


def _read(cmd: Command, word: Word, what: str, out: Expansion, reader: Reader) -> str | None:
    """Text of a file the command reads its code from; a problem when it cannot be read."""
    if word.dynamic or word.subs:
        _opaque(cmd, f"{cmd.program} runs {what} from {word.value}, which is named at run time", out)
        return None
    text = reader.read(word.value)
    if text is None:
        full = os.path.join(reader.cwd, os.path.expanduser(word.value))
        if reader.read_files and not os.path.lexists(full):
            return None  # the CLI reports a missing file; nothing runs
        _opaque(cmd, f"{cmd.program} runs {what} from {word.value}, which guardsh cannot read", out)
    return text


def _walk(words: tuple[Word, ...], short_values: str, long_values: frozenset[str],
          single_dash_long: bool = False, attached_only: str = "") -> tuple[list[tuple[str, Word | None]], list[Word]]:
    """Options (name, value word) and positional words of a command line."""
    opts: list[tuple[str, Word | None]] = []
    pos: list[Word] = []
    i, n = 1, len(words)
    while i < n:
        word = words[i]
        w = word.value
        i += 1
        if w == "--":
            pos.extend(words[i:])
            break
        if len(w) < 2 or w[0] != "-":
            pos.append(word)
            continue
        if w.startswith("--") or single_dash_long:
            name, eq, value = w.partition("=")
            name = "--" + name.lstrip("-") if single_dash_long else name
            if eq:
                opts.append((name, Word(value, word.dynamic)))
            elif name in long_values and i < n:
                opts.append((name, words[i]))
                i += 1
            else:
                opts.append((name, None))
            continue
        for j in range(1, len(w)):
            c = w[j]
            if c in attached_only:  # mysql -pSECRET: the rest of the word is the value, never the next word
                opts.append(("-" + c, Word(w[j + 1:], word.dynamic) if w[j + 1:] else None))
                break
            if c in short_values:
                rest = w[j + 1:]
                if rest:
                    opts.append(("-" + c, Word(rest, word.dynamic)))
                elif i < n:
                    opts.append(("-" + c, words[i]))
                    i += 1
                else:
                    opts.append(("-" + c, None))
                break
            opts.append(("-" + c, None))
    return opts, pos


# --- SQL ------------------------------------------------------------------------------------

MODIFYING = frozenset({"insert", "update", "delete", "merge", "drop", "truncate", "alter", "create", "replace",
                       "grant", "revoke", "copy", "call", "do", "execute", "exec", "rename"})
MAIN_VERBS = frozenset({"select", "insert", "update", "delete", "merge", "values", "table"})
CLAUSE_END = frozenset({"returning", "order", "limit", "group", "having", "window", "union", "for", "option"})


class _Sql:
    """A splitter for SQL text: statements as token lists, plus client commands."""

    def __init__(self, text: str, dialect: str) -> None:
        self.text = text
        self.dialect = dialect
        self.items: list[tuple[str, object, int, int]] = []  # ('stmt', tokens, start, end) | ('meta', line, ...)
        self._split()

    def _split(self) -> None:
        t, dialect = self.text, self.dialect
        n = len(t)
        i = 0
        toks: list[tuple[str, str]] = []
        start = -1
        delim = ";"
        mysql = dialect == "mysql"

        def flush(end: int) -> None:
            nonlocal toks, start
            if toks:
                self.items.append(("stmt", toks, start, end))
            toks = []
            start = -1

        while i < n:
            c = t[i]
            if c in " \t\r\n\f":
                i += 1
                continue
            at_start = not toks
            if at_start and c in "\\." and (dialect in ("pg", "mysql") and c == "\\" or dialect == "sqlite" and c == "."):
                end = t.find("\n", i)
                end = n if end < 0 else end
                self.items.append(("meta", t[i:end], i, end))
                i = end
                continue
            if at_start and mysql:
                word = t[i:i + 10].split(None, 1)[0].lower() if t[i:i + 10].split() else ""
                if word in ("delimiter", "source", "system"):
                    end = t.find("\n", i)
                    end = n if end < 0 else end
                    line = t[i:end].strip()
                    if word == "delimiter":
                        parts = line.split(None, 1)
                        delim = parts[1].strip() if len(parts) > 1 else ";"
                    else:
                        self.items.append(("meta", line, i, end))
                    i = end
                    continue
            if t.startswith(delim, i) and (delim != ";" or c == ";"):
                flush(i)
                i += len(delim)
                continue
            if c == ";":
                flush(i)
                i += 1
                continue
            if c == "\\" and dialect in ("pg", "mysql"):
                end = t.find("\n", i)
                end = n if end < 0 else end
                line = t[i:end]
                name = line[1:].split(None, 1)[0] if len(line) > 1 else ""
                flush(i)
                if dialect == "mysql" and name[:1] in ("g", "G"):
                    i += 2
                    continue
                self.items.append(("meta", line, i, end))
                i = end
                continue
            if start < 0:
                start = i
            if c == "-" and t.startswith("--", i):
                end = t.find("\n", i)
                i = n if end < 0 else end
                continue
            if c == "#" and mysql:
                end = t.find("\n", i)
                i = n if end < 0 else end
                continue
            if c == "/" and t.startswith("/*", i):
                if mysql and t.startswith("/*!", i):  # executable comment: its content runs
                    i += 3
                    while i < n and t[i].isdigit():
                        i += 1
                    continue
                end = t.find("*/", i + 2)
                i = n if end < 0 else end + 2
                continue
            if c == "*" and t.startswith("*/", i):
                i += 2
                continue
            if c == "'" or (c == '"' and mysql):
                j = i + 1
                buf = []
                backslash = mysql or (i > 0 and t[i - 1] in "eE")
                while j < n:
                    d = t[j]
                    if backslash and d == "\\" and j + 1 < n:
                        buf.append(t[j + 1])
                        j += 2
                        continue
                    if d == c:
                        if j + 1 < n and t[j + 1] == c:
                            buf.append(c)
                            j += 2
                            continue
                        break
                    buf.append(d)
                    j += 1
                if toks and toks[-1] == ("w", "e") and backslash and not mysql:
                    toks.pop()
                toks.append(("s", "".join(buf)))
                i = j + 1
                continue
            if c in '"`[' and not (c == "[" and dialect != "sqlite"):
                close = {"[": "]"}.get(c, c)
                j = t.find(close, i + 1)
                j = n if j < 0 else j
                toks.append(("q", t[i:j + 1]))
                i = j + 1
                continue
            if c == "$" and dialect == "pg":
                j = i + 1
                while j < n and (t[j].isalnum() or t[j] == "_"):
                    j += 1
                if j < n and t[j] == "$":
                    tag = t[i:j + 1]
                    end = t.find(tag, j + 1)
                    end = n if end < 0 else end
                    toks.append(("s", t[j + 1:end]))
                    i = end + len(tag)
                    continue
            if c.isalpha() or c == "_":
                j = i + 1
                while j < n and (t[j].isalnum() or t[j] in "_$"):
                    j += 1
                toks.append(("w", t[i:j].lower()))
                i = j
                continue
            if c.isdigit():
                j = i + 1
                while j < n and (t[j].isalnum() or t[j] == "."):
                    j += 1
                toks.append(("n", t[i:j]))
                i = j
                continue
            toks.append(("p", c))
            i += 1
        flush(n)


def _groups(toks: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[list[tuple[str, str]]]]:
    """Top-level tokens (each parenthesised group as one ``(...)`` token) and the groups."""
    top: list[tuple[str, str]] = []
    groups: list[list[tuple[str, str]]] = []
    depth = 0
    cur: list[tuple[str, str]] = []
    for tok in toks:
        if tok == ("p", "("):
            if depth == 0:
                cur = []
            else:
                cur.append(tok)
            depth += 1
            continue
        if tok == ("p", ")") and depth > 0:
            depth -= 1
            if depth == 0:
                groups.append(cur)
                top.append(("g", "(...)"))
            else:
                cur.append(tok)
            continue
        if depth:
            cur.append(tok)
        else:
            top.append(tok)
    if depth:
        groups.append(cur)
    return top, groups


def _always_true(cond: list[tuple[str, str]]) -> bool:
    vals = [v for _, v in cond]
    if vals in (["true"], ["1"]):
        return True
    return len(vals) == 3 and vals[1] == "=" and vals[0] == vals[2] and cond[0][0] in ("n", "s")


def sql_statements(toks: list[tuple[str, str]], nested: int = 0) -> list[list[Word]]:
    """The pseudo-commands (argv after ``sql``) one statement amounts to."""
    out: list[list[Word]] = []
    top, groups = _groups(toks)
    if nested < 4:
        for g in groups:  # data-modifying CTEs and subqueries: WITH x AS (DELETE ...) SELECT
            if g and g[0][0] == "w" and g[0][1] in MODIFYING and g[0][1] not in ("create", "replace"):
                out.extend(sql_statements(g, nested + 1))
    words = [v for _, v in top]
    if not words:
        return out
    first = words[0]
    if first in ("with",) and nested < 4:
        for k, (kind, v) in enumerate(top[1:], 1):
            if kind == "w" and v in MAIN_VERBS and top[k - 1] != ("w", "as"):
                rest = _from_top(toks, top, k)
                out.extend(sql_statements(rest, nested + 1))
                return out
    if first == "explain" and nested < 4:
        flat = [v for _, v in toks]
        for k, (kind, v) in enumerate(top[1:], 1):
            if kind == "w" and v in MAIN_VERBS | {"with", "create", "execute"}:
                if "analyze" in flat[: flat.index(v) if v in flat else len(flat)] or "analyse" in flat:
                    out.extend(sql_statements(_from_top(toks, top, k), nested + 1))  # EXPLAIN ANALYZE runs it
                break
    if first in ("delete", "update"):
        k = words.index("where") if "where" in words else -1
        if k >= 0:
            end = next((m for m in range(k + 1, len(words)) if words[m] in CLAUSE_END), len(words))
            if _always_true(top[k + 1:end]):
                top = top[:k] + [("w", "where-always-true")] + top[end:]
    if first == "alter" and any(t == ("p", ",") for t in top):
        head = [t for t in top[:2]]
        parts: list[list[tuple[str, str]]] = [[]]
        for t in top:
            if t == ("p", ","):
                parts.append(list(head))
            else:
                parts[-1].append(t)
        out.extend([_words(p) for p in parts if p])
        return out
    out.append(_words(top))
    return out


def _from_top(toks: list[tuple[str, str]], top: list[tuple[str, str]], k: int) -> list[tuple[str, str]]:
    """The raw tokens from top-level token ``k`` on."""
    depth = 0
    index = 0
    for pos, tok in enumerate(toks):
        if depth == 0 and index == k:
            return toks[pos:]
        if tok == ("p", "("):
            depth += 1
        elif tok == ("p", ")") and depth:
            depth -= 1
            if depth == 0:
                index += 1
            continue
        if depth == 0:
            index += 1
    return []


def _words(top: list[tuple[str, str]]) -> list[Word]:
    return [Word("?" if kind == "s" else v) for kind, v in top if not (kind == "p" and v in ",;")]


def _sql_text(cmd: Command, text: str, dialect: str, label: str, out: Expansion, reader: Reader,
              depth: int, dynamic: bool = False, files: int = 0) -> None:
    prog = cmd.program
    parsed = _Sql(text, dialect)
    seen: set[tuple[str, ...]] = set()
    for kind, item, start, end in parsed.items:
        source = text[start:end]
        if kind == "meta":
            _sql_meta(cmd, str(item), dialect, label, out, reader, depth, files)
            continue
        toks = item  # type: ignore[assignment]
        assert isinstance(toks, list)
        if dynamic and any("$" in v for k, v in toks if k != "s"):
            _opaque(cmd, f"{prog} runs SQL holding shell expansions made at run time", out)
        flat = [v for k, v in toks if k == "w"]
        if flat and flat[0] in ("copy",) and "program" in flat:  # COPY ... FROM PROGRAM 'cmd' (on the server)
            k = next(idx for idx, t in enumerate(toks) if t == ("w", "program"))
            if k + 1 < len(toks) and toks[k + 1][0] == "s":
                _shell_text(cmd, toks[k + 1][1], f"{label} COPY PROGRAM", out, reader, depth)
        if flat[:1] == ["do"]:
            body = next((v for k, v in toks if k == "s"), "")
            _plpgsql(cmd, body, label, out, reader, depth)
        if flat[:1] in (["execute"], ["exec"]) and dialect != "pg":
            _opaque(cmd, f"{prog} runs a prepared or dynamic statement guardsh cannot see", out)
        for words in sql_statements(toks):
            key = tuple(w.value for w in words[:MAX_SQL_WORDS])
            if key not in seen:  # a dump repeats the same INSERT shape thousands of times
                seen.add(key)
                _emit(cmd, [Word("sql")] + words[:MAX_SQL_WORDS], label, source, out, reader, depth)


def _plpgsql(cmd: Command, body: str, label: str, out: Expansion, reader: Reader, depth: int) -> None:
    """A DO block: its statements run now."""
    for kind, item, start, end in _Sql(body, "pg").items:
        if kind != "stmt":
            continue
        toks = list(item)  # type: ignore[call-overload]
        while toks and toks[0][0] == "w" and toks[0][1] in ("begin", "declare", "end", "loop", "then", "else"):
            toks = toks[1:]
        if toks[:1] == [("w", "execute")] and not (len(toks) == 2 and toks[1][0] == "s"):
            _opaque(cmd, "a DO block runs SQL built at run time (EXECUTE)", out)
            continue
        if len(toks) == 2 and toks[0] == ("w", "execute"):
            _sql_text(cmd, toks[1][1], "pg", label + " DO", out, reader, depth)
            continue
        for words in sql_statements(toks):
            if words and words[0].value not in ("if", "raise", "perform", "return", "null", "exception"):
                _emit(cmd, [Word("sql")] + words, label + " DO", body[start:end], out, reader, depth)


def _sql_meta(cmd: Command, line: str, dialect: str, label: str, out: Expansion, reader: Reader, depth: int,
              files: int) -> None:
    """psql backslash commands, mysql client commands, sqlite3 dot-commands."""
    stripped = line.lstrip("\\.").strip()
    name, _, arg = stripped.partition(" ")
    if not name and line.startswith("\\") and len(line) > 1:
        name = line[1]
    arg = arg.strip()
    name_l = name.lower()
    if dialect == "mysql" and line.startswith("\\"):
        name_l = {"!": "system", ".": "source"}.get(line[1:2], name_l)
        if line[1:2] in "!.":
            arg = line[2:].strip()
    if dialect == "pg" and line.startswith("\\!"):
        name_l, arg = "system", line[2:].strip()
    if name_l in ("system", "shell", "!") and arg:
        _shell_text(cmd, arg, f"{label} {name or '!'}", out, reader, depth)
        return
    if name_l in ("i", "ir", "include", "include_relative", "source", "read") and arg:
        if files > 8:
            _opaque(cmd, "SQL files include each other too deeply", out)
            return
        path = arg.split()[0].strip("'\"").rstrip(";")
        if dialect == "sqlite" and path.startswith("|"):
            _shell_text(cmd, arg.lstrip("|").strip(), f"{label} .read |", out, reader, depth)
            return
        text = _read(cmd, Word(path), "SQL", out, reader)
        if text is not None:
            _sql_text(cmd, text, dialect, f"{label} {name} {path}", out, reader, depth, files=files + 1)
        return
    if name_l == "gexec":
        _opaque(cmd, "psql \\gexec runs the SQL a query builds at run time", out)
        return
    words = [Word("sql"), Word("meta"), Word(name_l)] + [Word(a) for a in arg.split()]
    _emit(cmd, words, label, line, out, reader, depth)


PSQL_SHORT = "cdfhpUvoLTFRP"
PSQL_LONG = frozenset({"--command", "--dbname", "--file", "--host", "--port", "--username", "--set", "--variable",
                       "--output", "--log-file", "--table-attr", "--field-separator", "--record-separator", "--pset"})
MYSQL_SHORT = "eDhuPSO"
MYSQL_LONG = frozenset({"--execute", "--database", "--host", "--user", "--port", "--socket", "--init-command",
                        "--default-character-set", "--defaults-file", "--defaults-extra-file", "--login-path",
                        "--protocol", "--ssl-ca", "--ssl-cert", "--ssl-key", "--ssl-mode", "--tee", "--pager",
                        "--prompt", "--connect-timeout", "--max-allowed-packet", "--delimiter", "--bind-address",
                        "--plugin-dir", "--default-auth", "--character-sets-dir", "--local-infile"})
SQLITE_VALUES = frozenset({"--cmd", "--init", "--separator", "--newline", "--nullvalue", "--vfs", "--mmap",
                           "--heap", "--maxsize", "--lookaside", "--pagecache", "--escape", "--zip", "--A"})
INFO_FLAGS = frozenset({"--help", "-?", "--version", "-V", "-l", "--list"})


def sql_cli(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    """psql, mysql, mariadb, sqlite3: the SQL they run, from every source they read it from."""
    out.commands.append(cmd)
    prog = cmd.program
    sources: list[tuple[str, str, bool]] = []  # (sql, label, dynamic)
    files: list[Word] = []
    if prog == "psql":
        dialect = "pg"
        opts, pos = _walk(cmd.words, PSQL_SHORT, PSQL_LONG)
        for name, value in opts:
            if value is not None and name in ("-c", "--command"):
                sources.append((value.value, "psql -c", value.dynamic))
            elif value is not None and name in ("-f", "--file"):
                files.append(value)
    elif prog == "sqlite3":
        dialect = "sqlite"
        opts, pos = _walk(cmd.words, "", SQLITE_VALUES, single_dash_long=True)
        for name, value in opts:
            if value is not None and name == "--cmd":
                sources.append((value.value, "sqlite3 -cmd", value.dynamic))
            elif value is not None and name == "--init":
                files.append(value)
        for w in pos[1:]:
            sources.append((w.value, "sqlite3", w.dynamic))
        pos = pos[:1]
    else:
        dialect = "mysql"
        opts, pos = _walk(cmd.words, MYSQL_SHORT, MYSQL_LONG, attached_only="p")
        for name, value in opts:
            if value is not None and name in ("-e", "--execute", "--init-command"):
                sources.append((value.value, f"{prog} -e", value.dynamic))
    names = {name for name, _ in opts}
    for text, label, dynamic in sources:
        if dynamic and text.startswith("$") and " " not in text:
            _opaque(cmd, f"{prog} runs SQL held in a variable ({text}): guardsh cannot see it", out)
            continue
        _sql_text(cmd, text, dialect, label, out, reader, depth, dynamic)
    for path in files:
        if path.value == "-":
            continue
        text = _read(cmd, path, "SQL", out, reader)
        if text is not None:
            _sql_text(cmd, text, dialect, f"{prog} -f {path.value}", out, reader, depth, files=1)
    reads_stdin = (not sources and not files and not names & INFO_FLAGS) or any(p.value == "-" for p in files)
    if reads_stdin:
        _sql_stdin(cmd, dialect, out, reader, depth)


def _sql_stdin(cmd: Command, dialect: str, out: Expansion, reader: Reader, depth: int) -> None:
    prog = cmd.program
    src = _stdin(cmd)
    if src is None:
        return
    kind, value = src
    if kind == "text":
        body, dynamic = value  # type: ignore[misc]
        _sql_text(cmd, body, dialect, f"{prog} <<", out, reader, depth, dynamic)
    elif kind == "file":
        assert isinstance(value, Word)
        text = _read(cmd, value, "SQL", out, reader)
        if text is not None:
            _sql_text(cmd, text, dialect, f"{prog} < {value.value}", out, reader, depth, files=1)
    else:
        source = f" from {value}" if value else ""
        _opaque(cmd, f"{prog} runs SQL read from a pipe{source}: guardsh cannot see it", out)


# --- Redis ----------------------------------------------------------------------------------

REDIS_SHORT = "hpsaurindD"
REDIS_LONG = frozenset({"--user", "--pass", "--cacert", "--cacertdir", "--cert", "--key", "--sni", "--tls-ciphers",
                        "--tls-ciphersuites", "--pattern", "--count", "--rdb", "--functions-rdb", "--eval",
                        "--pipe-timeout", "--intrinsic-latency", "--quoted-pattern", "--memkeys-samples",
                        "--cluster-search-multiple-owners", "--resp", "--lru-test", "--show-pushes"})
REDIS_CONTAINERS = frozenset({"config", "script", "function", "cluster", "acl", "client", "debug", "memory",
                              "module", "object", "slowlog", "latency", "xgroup", "xinfo", "command", "pubsub"})
REDIS_TOOLS = frozenset({"--scan", "--bigkeys", "--memkeys", "--hotkeys", "--stat", "--latency", "--latency-history",
                         "--latency-dist", "--intrinsic-latency", "--rdb", "--functions-rdb", "--replica", "--help",
                         "--version", "-v", "--cluster", "--keystats"})


def _redis_words(args: list[Word]) -> list[Word]:
    if not args:
        return []
    words = [Word("redis"), Word(args[0].value.lower(), args[0].dynamic)]
    rest = args[1:]
    if args[0].value.lower() in REDIS_CONTAINERS and rest:
        words.append(Word(rest[0].value.lower(), rest[0].dynamic))
        rest = rest[1:]
    return words + list(rest)


def redis_cli(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    out.commands.append(cmd)
    opts, pos = _walk(cmd.words, REDIS_SHORT, REDIS_LONG)
    names = {name for name, _ in opts}
    for name, value in opts:
        if name == "--eval" and value is not None:
            text = _read(cmd, value, "a Lua script", out, reader)
            if text is not None:
                _lua(cmd, text, "redis-cli --eval", out, reader, depth)
    if pos:
        if pos[0].dynamic:
            _opaque(cmd, f"the redis command is built at run time ({pos[0].value})", out)
        _redis_one(cmd, pos, "redis-cli", out, reader, depth)
        return
    if names & REDIS_TOOLS or "--eval" in names:
        return
    src = _stdin(cmd)
    if src is None:
        return
    kind, value = src
    text = None
    if kind == "text":
        text = value[0]  # type: ignore[index]
    elif kind == "file":
        assert isinstance(value, Word)
        text = _read(cmd, value, "commands", out, reader)
    elif "--pipe" not in names or value not in ("cat",):
        _opaque(cmd, f"redis-cli runs commands read from a pipe{' from ' + str(value) if value else ''}: "
                     "guardsh cannot see them", out)
    if text is None:
        return
    import shlex

    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            parts = shlex.split(line)
        except ValueError:
            parts = line.split()
        _redis_one(cmd, [Word(p) for p in parts], "redis-cli", out, reader, depth)


def _redis_one(cmd: Command, args: list[Word], label: str, out: Expansion, reader: Reader, depth: int) -> None:
    words = _redis_words(args)
    if not words:
        return
    if words[1].value in ("eval", "eval_ro") and len(words) > 2:
        if words[2].dynamic:
            _opaque(cmd, "redis EVAL of a script built at run time", out)
        else:
            _lua(cmd, words[2].value, f"{label} eval", out, reader, depth)
        return
    _emit(cmd, words, label, " ".join(w.value for w in args), out, reader, depth)


def _lua(cmd: Command, code: str, label: str, out: Expansion, reader: Reader, depth: int) -> None:
    """redis.call('DEL', ...) inside a Lua script: each call is a redis command."""
    toks = _tokens(code, "lua")
    found = False
    for k, tok in enumerate(toks):
        if tok[0] == "n" and tok[1] in ("call", "pcall") and k >= 2 and toks[k - 1][1] == "." \
                and toks[k - 2][1] == "redis" and k + 1 < len(toks) and toks[k + 1][1] == "(":
            args, end = _call_args(toks, k + 1)
            found = True
            if not args or len(args[0]) != 1 or args[0][0][0] != "s":
                _opaque(cmd, "a Lua script calls a redis command named at run time", out)
                continue
            words = [_value(a) for a in args]
            flat = [w for item in words for w in (item if isinstance(item, list) else [item])]
            _redis_one(cmd, flat, label, out, reader, depth)
    if not found and "redis" in code:
        _emit(cmd, [Word("redis"), Word("eval")], label, code, out, reader, depth)


# --- MongoDB --------------------------------------------------------------------------------

MONGO_LONG = frozenset({"--host", "--port", "--username", "--password", "--authenticationDatabase",
                        "--authenticationMechanism", "--eval", "--file", "--apiVersion", "--tlsCAFile",
                        "--tlsCertificateKeyFile", "--tlsCertificateKeyFilePassword", "--sslCAFile", "--sslPEMKeyFile",
                        "--awsIamSessionToken", "--gssapiServiceName", "--sspiHostnameCanonicalization",
                        "--retryWrites", "--csfleLibraryPath", "--keyVaultNamespace", "--kmsURL", "--cryptSharedLibPath"})
MONGO_OPS = {
    "dropdatabase": "dropdatabase", "drop": "drop", "deletemany": "deletemany", "remove": "remove",
    "deleteone": "deleteone", "findoneanddelete": "deleteone", "updatemany": "updatemany",
    "replaceone": "replaceone", "dropuser": "dropuser", "dropallusers": "dropallusers", "droprole": "droprole",
    "dropallroles": "dropallroles", "shutdownserver": "shutdown", "dropindex": "dropindex",
    "dropindexes": "dropindexes", "renamecollection": "renamecollection", "bulkwrite": "bulkwrite",
    "insertone": "insert", "insertmany": "insert", "insert": "insert", "updateone": "updateone",
    "update": "update", "createuser": "createuser", "grantrolestouser": "grantroles",
    "revokerolesfromuser": "revokeroles", "updateuser": "updateuser", "find": "read", "findone": "read",
    "countdocuments": "read", "count": "read", "aggregate": "aggregate", "getcollectionnames": "read",
    "stats": "read", "distinct": "read", "estimateddocumentcount": "read",
}


def mongo_cli(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    out.commands.append(cmd)
    prog = cmd.program
    opts, pos = _walk(cmd.words, "upf", MONGO_LONG)
    ran = False
    for name, value in opts:
        if value is None:
            continue
        if name == "--eval":
            ran = True
            if value.dynamic and value.value.startswith("$") and " " not in value.value:
                _opaque(cmd, f"{prog} --eval runs code held in a variable ({value.value})", out)
                continue
            _mongo_js(cmd, value.value, f"{prog} --eval", out, reader, depth, value.dynamic)
        elif name in ("-f", "--file"):
            ran = True
            text = _read(cmd, value, "a script", out, reader)
            if text is not None:
                _mongo_js(cmd, text, f"{prog} {value.value}", out, reader, depth)
    for w in pos:
        if w.value.endswith(".js"):
            ran = True
            text = _read(cmd, w, "a script", out, reader)
            if text is not None:
                _mongo_js(cmd, text, f"{prog} {w.value}", out, reader, depth)
    if ran or {n for n, _ in opts} & INFO_FLAGS:
        return
    src = _stdin(cmd)
    if src is None:
        return
    kind, value = src
    if kind == "text":
        _mongo_js(cmd, value[0], f"{prog} <<", out, reader, depth, value[1])  # type: ignore[index]
    elif kind == "file":
        assert isinstance(value, Word)
        text = _read(cmd, value, "a script", out, reader)
        if text is not None:
            _mongo_js(cmd, text, f"{prog} < {value.value}", out, reader, depth)
    else:
        _opaque(cmd, f"{prog} runs code read from a pipe{' from ' + str(value) if value else ''}", out)


def _mongo_js(cmd: Command, code: str, label: str, out: Expansion, reader: Reader, depth: int,
              dynamic: bool = False) -> None:
    toks = _tokens(code, "js")
    for k, tok in enumerate(toks):
        if tok[0] != "n" or k + 1 >= len(toks) or toks[k + 1][1] != "(" or k == 0 or toks[k - 1][1] != ".":
            continue
        op = MONGO_OPS.get(tok[1].lower())
        if op is None:
            if tok[1] in ("runCommand", "adminCommand"):
                args, _ = _call_args(toks, k + 1)
                keys = {t[1].lower() for a in args for t in a if t[0] in ("n", "s")}
                for key in ("dropdatabase", "drop", "shutdown", "delete", "dropallusersfromdatabase"):
                    if key in keys:
                        _emit(cmd, [Word("mongodb"), Word(key if key != "delete" else "deletecommand")], label,
                              _src(toks, max(0, k - 2), k + 1, code) + "(...)", out, reader, depth)
            continue
        coll = ""
        if k >= 2 and toks[k - 2][0] == "n":
            coll = toks[k - 2][1]
        elif k >= 2 and toks[k - 2][1] == ")":  # db.getCollection("x").drop()
            back = k - 2
            while back > 0 and toks[back][1] != "(":
                back -= 1
            if back + 1 < len(toks) and toks[back + 1][0] == "s":
                coll = toks[back + 1][1]
        args, _ = _call_args(toks, k + 1)
        words = [Word("mongodb"), Word(op)]
        if coll and coll != "db" and op not in ("dropdatabase", "shutdown", "dropuser", "dropallusers"):
            words.append(Word(coll))
        if op in ("deletemany", "remove", "updatemany", "update"):
            first = args[0] if args else []
            if not first or [t[1] for t in first] == ["{", "}"]:
                words.append(Word("{}"))
            else:
                words.append(Word("{...}"))
        if op == "aggregate" and any(t[1] in ("$out", "$merge") for a in args for t in a):
            words.append(Word("$out"))
        _emit(cmd, words, label, _src(toks, max(0, k - 3), k + 1, code) + "(...)", out, reader, depth)
    _code_calls(cmd, toks, "js", label, out, reader, depth, dynamic, code=code)


# --- interpreters ---------------------------------------------------------------------------

def interpreter(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    """python/perl/ruby/node/php: the inline code they are given, scanned for destructive calls."""
    out.commands.append(cmd)
    prog = cmd.program
    lang = _lang(prog)
    codes, script, stdin_program = _inline_code(cmd, lang)
    for code, label, dynamic in codes:
        if dynamic and code.startswith("$") and " " not in code.strip():
            _opaque(cmd, f"{prog} runs code held in a variable or built at run time ({code})", out)
            continue
        _scan(cmd, code, lang, label, out, reader, depth, dynamic)
    if codes or not stdin_program:
        return
    src = _stdin(cmd)
    if src is None:
        return
    kind, value = src
    if kind == "text":
        body, dynamic = value  # type: ignore[misc]
        _scan(cmd, body, lang, f"{prog} <<", out, reader, depth, dynamic)
    elif kind == "pipe":
        source = f" from {value}" if value else ""
        _opaque(cmd, f"{prog} runs a program read from a pipe{source}: guardsh cannot see it", out)


def _lang(prog: str) -> str:
    if prog.startswith("python") or prog.startswith("pypy"):
        return "python"
    if prog in ("node", "nodejs", "deno", "bun"):
        return "js"
    return prog if prog in ("perl", "ruby", "php") else "python"


def _inline_code(cmd: Command, lang: str) -> tuple[list[tuple[str, str, bool]], Word | None, bool]:
    """(code pieces, script word, reads the program from stdin)."""
    words = cmd.words
    prog = cmd.program
    codes: list[tuple[str, str, bool]] = []
    i, n = 1, len(words)
    if lang == "python":
        while i < n:
            w = words[i].value
            if w == "--" or not w.startswith("-") or w == "-":
                break
            i += 1
            if w.startswith("--"):
                if w in ("--check-hash-based-pycs",) and i < n:
                    i += 1
                continue
            for j in range(1, len(w)):
                c = w[j]
                if c in "cmWX":
                    value = w[j + 1:] or (words[i].value if i < n else "")
                    dyn = words[i - 1].dynamic if w[j + 1:] else (words[i].dynamic if i < n else False)
                    if not w[j + 1:]:
                        i += 1
                    if c == "c":
                        return [(value, f"{prog} -c", dyn)], None, False
                    if c == "m":
                        return [], None, False
                    break
        if i < n and words[i].value == "--":
            i += 1
        script = words[i] if i < n else None
        return [], script, script is None or script.value == "-"
    if lang == "js":
        if prog == "deno":
            if n > 2 and words[1].value == "eval":
                return [(words[-1].value, "deno eval", words[-1].dynamic)], None, False
            return [], None, False
        while i < n:
            w = words[i].value
            if not w.startswith("-") or w == "-":
                break
            i += 1
            name, eq, val = w.partition("=")
            if name in ("-e", "--eval", "-p", "--print"):
                if eq:
                    codes.append((val, f"{prog} {name}", words[i - 1].dynamic))
                elif i < n:
                    codes.append((words[i].value, f"{prog} {name}", words[i].dynamic))
                    i += 1
            elif name in ("-c", "--check", "-v", "--version", "-h", "--help"):
                return [], None, False
            elif name in ("-r", "--require", "--import", "--loader", "--experimental-loader", "--input-type",
                          "--env-file", "--conditions", "-C", "--title") and not eq:
                i += 1
        if codes:
            return codes, None, False
        script = words[i] if i < n else None
        return [], script, script is None or script.value == "-"
    # perl, ruby, php
    code_flags = {"perl": "eE", "ruby": "e", "php": "rBRE"}[lang]
    attached = {"perl": "iIlMmx0dDCF", "ruby": "iIrCEKFTWx0", "php": "dcfzt"}[lang]
    next_value = {"perl": "", "ruby": "IrCE", "php": "dcfzt"}[lang]
    script_word: Word | None = None
    while i < n:
        w = words[i].value
        if w == "--":
            i += 1
            break
        if not w.startswith("-") or w == "-":
            break
        i += 1
        if w.startswith("--"):
            continue
        for j in range(1, len(w)):
            c = w[j]
            if c in code_flags:
                if w[j + 1:]:
                    codes.append((w[j + 1:], f"{prog} -{c}", words[i - 1].dynamic))
                elif i < n:
                    codes.append((words[i].value, f"{prog} -{c}", words[i].dynamic))
                    i += 1
                break
            if c in attached:
                if not w[j + 1:] and c in next_value and i < n:
                    if lang == "php" and c == "f":
                        script_word = words[i]
                    i += 1
                break
    if codes:
        return [("\n".join(c for c, _, _ in codes), codes[0][1], any(d for _, _, d in codes))], None, False
    script = script_word or (words[i] if i < n else None)
    return [], script, script is None or script.value == "-"


# --- a small tokenizer for code -------------------------------------------------------------

# Code tokens are (kind, value, dynamic, start, end); kinds: n name, s string, x shell command
# (backticks, qx, %x), g glob (perl <*.log>), w word list (qw), p punctuation, v variable, d number.


def _tokens(code: str, lang: str) -> list[tuple[str, str, bool, int, int]]:
    toks: list[tuple[str, str, bool, int, int]] = []
    n = len(code)
    i = 0
    hash_comment = lang in ("python", "ruby", "perl", "php")
    slash_comment = lang in ("js", "php")
    while i < n:
        c = code[i]
        if c in " \t\r\n\f":
            i += 1
            continue
        if c == "#" and hash_comment and not (lang == "perl" and i and code[i - 1] == "$"):
            end = code.find("\n", i)
            i = n if end < 0 else end
            continue
        if lang == "lua" and code.startswith("--", i):
            end = code.find("\n", i)
            i = n if end < 0 else end
            continue
        if c == "/" and slash_comment and code.startswith("//", i):
            end = code.find("\n", i)
            i = n if end < 0 else end
            continue
        if c == "/" and code.startswith("/*", i) and slash_comment:
            end = code.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        if c.isalpha() or c == "_" or (c == "$" and lang == "js"):
            j = i + 1
            while j < n and (code[j].isalnum() or code[j] == "_" or (code[j] == "$" and lang == "js")):
                j += 1
            word = code[i:j]
            # string prefixes (python f"", r""), perl/ruby quote operators
            if lang == "python" and j < n and code[j] in "'\"" and word.lower() in ("r", "b", "f", "u", "rb", "br",
                                                                                       "fr", "rf"):
                tok, i = _string(code, j, lang, "f" in word.lower())
                toks.append(tok)
                continue
            if lang in ("perl", "ruby") and j < n and word in ("q", "qq", "qw", "qx", "m", "s", "tr", "y", "qr") \
                    and code[j] in "/{([<|!#,'\"" and not (lang == "ruby"):
                tok, i = _quote_op(code, word, j)
                if tok is not None:
                    toks.append(tok)
                continue
            toks.append(("n", word, False, i, j))
            i = j
            continue
        if c in "'\"":
            tok, i = _string(code, i, lang, lang in ("ruby", "perl", "php") and c == '"')
            toks.append(tok)
            continue
        if c == "`" and lang in ("js", "ruby", "perl", "php"):
            tok, i = _string(code, i, lang, True)
            kind = "s" if lang == "js" else "x"
            toks.append((kind,) + tok[1:])
            continue
        if lang == "ruby" and c == "%" and i + 2 < n and code[i + 1] in "xwqQ" and code[i + 2] in "({[<|!/":
            tok, i = _quote_op(code, {"x": "qx", "w": "qw", "q": "q", "Q": "qq"}[code[i + 1]], i + 2)
            if tok is not None:
                toks.append(tok)
            continue
        if lang == "perl" and c == "<" and i + 1 < n:
            end = code.find(">", i + 1)
            inner = code[i + 1:end] if end > 0 else ""
            if end > 0 and inner and "\n" not in inner and any(ch in inner for ch in "*?[") and " " not in inner.strip():
                toks.append(("g", inner, "$" in inner, i, end + 1))
                i = end + 1
                continue
        if c in "$@" and lang in ("perl", "php", "ruby"):
            j = i + 1
            while j < n and (code[j].isalnum() or code[j] in "_:"):
                j += 1
            toks.append(("v", code[i:j], True, i, j))
            i = max(j, i + 1)
            continue
        if c.isdigit():
            j = i + 1
            while j < n and (code[j].isalnum() or code[j] in "._"):
                j += 1
            toks.append(("d", code[i:j], False, i, j))
            i = j
            continue
        two = code[i:i + 2]
        if two in ("::", "->", "=>", "==", "=~", "!=", "&&", "||"):
            toks.append(("p", "." if two in ("::", "->") else two, False, i, i + 2))
            i += 2
            continue
        toks.append(("p", c, False, i, i + 1))
        i += 1
    return toks


def _string(code: str, i: int, lang: str, interpolates: bool) -> tuple[tuple[str, str, bool, int, int], int]:
    """A quoted string at ``code[i]``: its value, and whether it interpolates run-time values."""
    n = len(code)
    q = code[i]
    triple = lang == "python" and code.startswith(q * 3, i)
    close = q * 3 if triple else q
    j = i + len(close)
    buf: list[str] = []
    dynamic = False
    raw = q == "'" and lang in ("perl", "ruby", "php")
    while j < n:
        if code.startswith(close, j):
            break
        d = code[j]
        if d == "\\" and j + 1 < n:
            nxt = code[j + 1]
            if raw and nxt not in ("\\", q):
                buf.append(d)
                j += 1
                continue
            buf.append({"n": "\n", "t": "\t"}.get(nxt, nxt) if not raw else nxt)
            j += 2
            continue
        if interpolates:
            if lang == "python" and d == "{":
                if code.startswith("{{", j):
                    buf.append("{")
                    j += 2
                    continue
                end = code.find("}", j)
                end = n if end < 0 else end
                buf.append("$" + _ident(code[j + 1:end]))
                dynamic = True
                j = end + 1
                continue
            if lang in ("js",) and q == "`" and code.startswith("${", j):
                end = code.find("}", j)
                end = n if end < 0 else end
                buf.append("$" + _ident(code[j + 2:end]))
                dynamic = True
                j = end + 1
                continue
            if lang == "ruby" and code.startswith("#{", j):
                end = code.find("}", j)
                end = n if end < 0 else end
                buf.append("$" + _ident(code[j + 2:end]))
                dynamic = True
                j = end + 1
                continue
            if lang in ("perl", "php") and d in "$@" and j + 1 < n and (code[j + 1].isalpha() or code[j + 1] in "_{"):
                dynamic = True
        if d == "}" and lang == "python" and interpolates and code.startswith("}}", j):
            buf.append("}")
            j += 2
            continue
        buf.append(d)
        j += 1
    end = min(n, j + len(close))
    return ("s", "".join(buf), dynamic, i, end), end


def _ident(expr: str) -> str:
    out = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in expr.strip())
    return out.strip("_") or "expr"


def _quote_op(code: str, op: str, j: int) -> tuple[tuple[str, str, bool, int, int] | None, int]:
    """Perl q// qq// qw// qx// m// s/// tr/// (and ruby %x() %w()): strings, commands, or regexes to skip."""
    n = len(code)
    pairs = {"(": ")", "{": "}", "[": "]", "<": ">"}
    parts = 2 if op in ("s", "tr", "y") else 1
    start = j
    values = []
    for _ in range(parts):
        if j >= n:
            break
        opening = code[j]
        closing = pairs.get(opening, opening)
        k = j + 1
        depth = 1
        while k < n:
            if code[k] == "\\":
                k += 2
                continue
            if opening != closing and code[k] == opening:
                depth += 1
            elif code[k] == closing:
                depth -= 1
                if depth == 0:
                    break
            k += 1
        values.append(code[j + 1:k])
        j = k + 1
        if parts == 2 and opening != closing:
            while j < n and code[j] in " \t":
                j += 1
        elif parts == 2:
            j -= 1  # s/a/b/: the middle delimiter is shared
    while j < n and code[j].isalpha():
        j += 1  # regex modifiers
    if op in ("m", "s", "tr", "y", "qr"):
        return None, j
    value = values[0] if values else ""
    kind = "x" if op == "qx" else ("w" if op == "qw" else "s")
    return (kind, value, op in ("qq", "qx") and "$" in value, start, j), j


def _call_args(toks: list[tuple[str, str, bool, int, int]], k: int) -> tuple[list[list[tuple[str, str, bool, int, int]]], int]:
    """Arguments of a call whose ``(`` is at ``k``: token lists split on top-level commas."""
    args: list[list[tuple[str, str, bool, int, int]]] = [[]]
    depth = 0
    j = k
    while j < len(toks):
        tok = toks[j]
        v = tok[1] if tok[0] == "p" else None
        if v in ("(", "[", "{"):
            depth += 1
            if depth == 1:
                j += 1
                continue
        elif v in (")", "]", "}"):
            depth -= 1
            if depth == 0:
                break
        elif v == "," and depth == 1:
            args.append([])
            j += 1
            continue
        args[-1].append(tok)
        j += 1
    return [a for a in args if a], j


def _bare_args(toks: list[tuple[str, str, bool, int, int]], k: int, code: str, lang: str
               ) -> tuple[list[list[tuple[str, str, bool, int, int]]], int]:
    """Arguments of a call without parentheses (perl ``unlink glob "*.log"``, ruby ``system "ls"``)."""
    args: list[list[tuple[str, str, bool, int, int]]] = [[]]
    depth = 0
    j = k
    line_end = code.find("\n", toks[k - 1][4]) if k else -1
    while j < len(toks):
        tok = toks[j]
        if lang == "ruby" and line_end >= 0 and tok[3] > line_end:
            break
        v = tok[1] if tok[0] == "p" else None
        if depth == 0 and (v in (";", "}", ")") or (tok[0] == "n" and v is None and tok[1] in (
                "if", "unless", "or", "and", "foreach", "for", "while", "until", "do"))):
            break
        if v in ("(", "[", "{"):
            depth += 1
        elif v in (")", "]", "}"):
            depth -= 1
        if v == "," and depth == 0:
            args.append([])
        else:
            args[-1].append(tok)
        j += 1
    return [a for a in args if a], j


JOINS = frozenset({"join", "resolve", "expand_path", "Path", "PurePath", "Pathname", "realpath", "abspath"})


def _value(arg: list[tuple[str, str, bool, int, int]]) -> Word | list[Word]:
    """A literal argument as a Word (a list literal as a list); anything else as a dynamic Word."""
    if len(arg) == 1:
        kind, value, dynamic = arg[0][:3]
        if kind in ("s", "x"):
            return Word(value, dynamic)
        if kind == "g":
            return Word(value, dynamic, glob=True)
        if kind == "w":
            return [Word(v) for v in value.split()]
    if len(arg) >= 2 and arg[0][1] in ("[", "(") and arg[-1][1] in ("]", ")") and arg[0][0] == "p":
        inner = arg[1:-1]
        items: list[Word] = []
        cur: list[tuple[str, str, bool, int, int]] = []
        for tok in inner + [("p", ",", False, 0, 0)]:
            if tok[1] == "," and tok[0] == "p":
                if cur:
                    v = _value(cur)
                    items.extend(v if isinstance(v, list) else [v])
                cur = []
            else:
                cur.append(tok)
        return items
    names = [t[1] for t in arg if t[0] == "n"]
    if len(arg) >= 2 and arg[0][0] == "n" and arg[0][1] == "glob":  # perl glob "*.log", glob("*.log")
        rest = [t for t in arg[1:] if t[0] != "p"]
        if len(rest) == 1 and rest[0][0] == "s":
            return Word(rest[0][1], rest[0][2], glob=True)
    if names and names[-1] in ("glob",) and arg[-1][1] == ")":  # glob.glob("x"), Dir.glob("x")
        strs = [t for t in arg if t[0] == "s"]
        if len(strs) == 1:
            return Word(strs[0][1], strs[0][2], glob=True)
    if names and any(n in JOINS for n in names) and arg[-1][1] == ")":
        strs = [t for t in arg if t[0] == "s"]
        others = [t for t in arg if t[0] not in ("s", "p") and t[1] not in JOINS and t[1] not in (
            "os", "path", "pathlib", "File", "new", "require", "fs", "__dirname", "Path")]
        if strs and not others:
            return Word(os.path.join(*[t[1] for t in strs]), any(t[2] for t in strs))
    text = "".join(t[1] if t[0] != "s" else repr(t[1]) for t in arg)
    return Word("$" + _ident(text)[:60], True)


# What each call does: name -> (qualifiers it needs, or None for any/bare, action).
# Actions: rm, rm-r, rm-opt (recursive if asked), rmdir, rmdir-opt, shell, argv, argv-list, eval.
PY_CALLS = {
    "rmtree": (None, "rm-r"), "remove": ({"os", ""}, "rm"), "unlink": ({"os", "", "<recv>"}, "rm"),
    "rmdir": ({"os", "", "<recv>"}, "rmdir"), "removedirs": ({"os", ""}, "rmdir"),
    "system": ({"os", ""}, "shell"), "popen": ({"os", ""}, "shell"),
    "run": ({"subprocess", "sp", ""}, "shell"), "call": ({"subprocess", "sp"}, "shell"),
    "check_call": ({"subprocess", "sp", ""}, "shell"), "check_output": ({"subprocess", "sp", ""}, "shell"),
    "Popen": ({"subprocess", "sp", ""}, "shell"), "getoutput": ({"subprocess", "sp", ""}, "shell"),
    "getstatusoutput": ({"subprocess", "sp", ""}, "shell"),
    "execv": ({"os"}, "argv-list"), "execvp": ({"os"}, "argv-list"), "execve": ({"os"}, "argv-list"),
    "execvpe": ({"os"}, "argv-list"), "exec": ({""}, "eval"), "eval": ({""}, "eval"), "compile": ({""}, "eval"),
}
JS_CALLS = {
    "rmSync": (None, "rm-opt"), "rm": ({"fs", "promises", "fsp", "fse", "fs/promises"}, "rm-opt"),
    "rmdirSync": (None, "rmdir-opt"), "rmdir": ({"fs", "promises", "fsp", "fse", "fs/promises"}, "rmdir-opt"),
    "unlinkSync": (None, "rm"), "unlink": ({"fs", "promises", "fsp", "fse", "fs/promises"}, "rm"),
    "removeSync": ({"fse", "fs", "fs-extra"}, "rm-r"), "remove": ({"fse", "fs-extra"}, "rm-r"),
    "emptyDirSync": ({"fse", "fs", "fs-extra"}, "rm-r"), "rimraf": (None, "rm-r"), "rimrafSync": (None, "rm-r"),
    "sync": ({"rimraf", "del", "deleteSync"}, "rm-r"), "deleteSync": (None, "rm-r"),
    "execSync": (None, "shell"), "exec": ({"child_process", "cp", "childProcess"}, "shell"),
    "execFileSync": (None, "argv-list"), "execFile": ({"child_process", "cp", "childProcess"}, "argv-list"),
    "spawnSync": (None, "argv-list"), "spawn": ({"child_process", "cp", "childProcess", ""}, "argv-list"),
    "eval": ({""}, "eval"), "Function": ({""}, "eval"), "runInNewContext": (None, "eval"),
    "runInThisContext": (None, "eval"),
}
RB_CALLS = {
    "rm_rf": (None, "rm-r"), "rm_r": (None, "rm-r"), "rmtree": (None, "rm-r"), "remove_dir": (None, "rm-r"),
    "remove_entry": (None, "rm-r"), "remove_entry_secure": (None, "rm-r"), "rm_f": ({"FileUtils", "FU"}, "rm"),
    "rm": ({"FileUtils", "FU"}, "rm"), "remove": ({"FileUtils", "FU"}, "rm"), "safe_unlink": (None, "rm"),
    "rmdir": ({"FileUtils", "FU", "Dir"}, "rmdir"), "delete": ({"File", "Dir"}, "rm"),
    "unlink": ({"File", "Dir", "<recv>"}, "rm"),
    "system": ({"", "Kernel"}, "argv"), "exec": ({"", "Kernel", "Process"}, "argv"), "spawn": ({"", "Process"}, "argv"),
    "popen": ({"IO"}, "argv"), "capture2": ({"Open3"}, "argv"), "capture2e": ({"Open3"}, "argv"),
    "capture3": ({"Open3"}, "argv"), "popen3": ({"Open3"}, "argv"), "popen2": ({"Open3"}, "argv"),
    "eval": ({"", "Kernel", "binding"}, "eval"), "instance_eval": (None, "eval"), "class_eval": (None, "eval"),
}
PL_CALLS = {
    "unlink": ({""}, "rm"), "rmdir": ({""}, "rmdir"), "rmtree": (None, "rm-r"), "remove_tree": (None, "rm-r"),
    "system": ({""}, "argv"), "exec": ({""}, "argv"), "eval": ({""}, "eval"),
}
PHP_CALLS = {
    "unlink": ({""}, "rm"), "rmdir": ({""}, "rmdir"), "system": ({""}, "shell"), "exec": ({""}, "shell"),
    "shell_exec": ({""}, "shell"), "passthru": ({""}, "shell"), "popen": ({""}, "shell"),
    "proc_open": ({""}, "shell"), "eval": ({""}, "eval"), "assert": ({""}, "eval-str"),
    "create_function": ({""}, "eval"),
}
CALLS = {"python": PY_CALLS, "js": JS_CALLS, "ruby": RB_CALLS, "perl": PL_CALLS, "php": PHP_CALLS}


def _src(toks: list[tuple[str, str, bool, int, int]], a: int, b: int, code: str = "") -> str:
    """The code of tokens ``a`` to ``b`` (as written when the code is known)."""
    part = toks[a:b]
    if code and part and part[-1][4] > part[0][3]:
        return code[part[0][3]:part[-1][4]]
    return " ".join(t[1] for t in part)


def _scan(cmd: Command, code: str, lang: str, label: str, out: Expansion, reader: Reader, depth: int,
          dynamic: bool = False, nested: int = 0) -> None:
    toks = _tokens(code, lang)
    if dynamic:  # the shell expanded $x inside the code: literals holding one are unknown until run time
        toks = [(t[0], t[1], True, t[3], t[4]) if t[0] in ("s", "x", "g") and "$" in t[1] else t for t in toks]
    if dynamic and any(t[0] in ("p", "v", "n") and t[1][:1] in ("$", "`") for t in toks):
        _opaque(cmd, f"the {lang} code is spliced together by the shell at run time", out)
    _code_calls(cmd, toks, lang, label, out, reader, depth, dynamic, nested, code)


def _code_calls(cmd: Command, toks: list[tuple[str, str, bool, int, int]], lang: str, label: str,
                out: Expansion, reader: Reader, depth: int, dynamic: bool = False, nested: int = 0,
                code: str = "") -> None:
    table = CALLS[lang]
    for k, tok in enumerate(toks):
        kind, name = tok[0], tok[1]
        if kind == "x":  # `cmd`, qx{cmd}, %x(cmd)
            if tok[2] and name.startswith("$") and " " not in name:
                _opaque(cmd, f"{lang} code runs a shell command built at run time", out)
            else:
                _shell_text(cmd, name, f"{label} `...`", out, reader, depth)
            continue
        if kind != "n" or name not in table:
            continue
        quals, action = table[name]
        prev = toks[k - 1] if k else None
        qual = ""
        if prev is not None and prev[1] == "." and prev[0] == "p":
            before = toks[k - 2] if k >= 2 else None
            if before is None:
                continue
            if before[0] == "n":
                qual = before[1]
            elif before[1] == ")":
                qual = _receiver(toks, k - 2)
            else:
                qual = "<expr>"
        elif prev is not None and prev[0] == "n" and prev[1] in ("def", "function", "sub", "fn", "new") and name != "Function":
            continue  # a definition, not a call
        nxt = toks[k + 1] if k + 1 < len(toks) else None
        if lang == "python" and name in ("unlink", "rmdir") and qual and quals is not None and qual not in quals \
                and not qual.startswith("<recv") and nxt is not None and nxt[1] == "(" \
                and k + 2 < len(toks) and toks[k + 2][1] == ")":
            qual = "<recv>"  # p.unlink(): a pathlib path held in a variable
        if quals is not None and qual not in quals and not (qual.startswith("<recv") and "<recv>" in quals):
            continue
        if nxt is not None and nxt[0] == "p" and nxt[1] == "(":
            args, end = _call_args(toks, k + 1)
        elif lang in ("perl", "ruby") and nxt is not None and nxt[0] != "p" or (
                lang == "perl" and nxt is not None and nxt[1] in ("<",)):
            args, end = _bare_args(toks, k + 1, code, lang)
        elif lang == "perl" and nxt is not None and nxt[1] == "{" and name == "eval":
            continue  # eval { ... }: a block of code, read in place
        elif lang in ("ruby", "perl") and qual.startswith("<recv") and action in ("rm", "rmdir", "rm-r"):
            args, end = [], k
        else:
            continue
        source = _src(toks, max(0, k - 2), min(len(toks), end + 1), code)
        if qual.startswith("<recv"):  # Path("x").unlink(), Pathname.new("x").rmtree
            recv = qual.partition(":")[2]
            args = [[("s", recv, False, 0, 0)]] if recv else [[("n", "receiver", True, 0, 0)]]
        _act(cmd, action, args, lang, label, source, out, reader, depth, nested)


def _receiver(toks: list[tuple[str, str, bool, int, int]], close: int) -> str:
    """For ``f("x").method``: the qualifier f("x") gives (a module for require, a path for Path)."""
    depth = 0
    j = close
    while j >= 0:
        v = toks[j][1] if toks[j][0] == "p" else None
        if v == ")":
            depth += 1
        elif v == "(":
            depth -= 1
            if depth == 0:
                break
        j -= 1
    if j <= 0:
        return "<expr>"
    func = toks[j - 1][1]
    if toks[j - 1][1] == "new" and j >= 3:
        func = toks[j - 3][1]
    inner = toks[j + 1:close]
    literal = inner[0][1] if len(inner) == 1 and inner[0][0] == "s" else None
    if func == "require" and literal:
        mod = literal.removeprefix("node:")
        return "promises" if mod == "fs/promises" else mod
    if func in ("Path", "PurePath", "PosixPath", "Pathname"):
        return "<recv>:" + literal if literal and not inner[0][2] else "<recv>"
    return "<expr>"


def _act(cmd: Command, action: str, args: list[list[tuple[str, str, bool, int, int]]], lang: str, label: str,
         source: str, out: Expansion, reader: Reader, depth: int, nested: int) -> None:
    values = [_value(a) for a in args if not (lang == "python" and len(a) >= 2 and a[0][0] == "n" and a[1][1] == "=")]
    kw = {a[0][1]: a[2:] for a in args if lang == "python" and len(a) >= 3 and a[0][0] == "n" and a[1][1] == "="}
    flat_tokens = [t[1] for a in args for t in a]
    if action.startswith("rm") and action != "rmdir-opt" or action == "rmdir":
        if not values:
            return
        paths: list[Word] = []
        for v in values[:1] if lang in ("python", "js") else values:
            paths.extend(v if isinstance(v, list) else [v])
        recursive = action == "rm-r" or (action == "rm-opt" and "recursive" in flat_tokens)
        prog = "rmdir" if action == "rmdir" else "rm"
        flags = [Word("-r")] if recursive else []
        _emit(cmd, [Word(prog)] + flags + paths, label, source, out, reader, depth)
        return
    if action == "rmdir-opt":
        if values:
            first = values[0] if isinstance(values[0], list) else [values[0]]
            recursive = "recursive" in flat_tokens
            _emit(cmd, [Word("rm" if recursive else "rmdir")] + ([Word("-r")] if recursive else []) + first,
                  label, source, out, reader, depth)
        return
    if action == "eval" or action == "eval-str":
        if not values:
            return
        first = values[0]
        if isinstance(first, Word) and not first.dynamic and args[0][0][0] == "s" and nested < 4:
            _scan(cmd, first.value, lang, label + " eval", out, reader, depth, nested=nested + 1)
        elif action == "eval":
            _opaque(cmd, f"{lang} code evaluates code built at run time ({source}): guardsh cannot read it", out)
        return
    if not values:
        return
    first = values[0]
    if action == "argv-list" and len(values) >= 2 and isinstance(values[1], list) and isinstance(first, Word):
        words = values[1]
        if lang == "js":
            words = [first] + words  # execFileSync("rm", ["-rf", "x"])
        _argv(cmd, words, label, source, out, reader, depth)
        return
    if action == "argv-list" and isinstance(first, list):
        _argv(cmd, first, label, source, out, reader, depth)
        return
    if action == "argv" and len(values) >= 2 and all(isinstance(v, Word) for v in values):
        _argv(cmd, [v for v in values if isinstance(v, Word)], label, source, out, reader, depth)
        return
    if isinstance(first, list):  # subprocess.run(["rm", "-rf", "x"])
        _argv(cmd, first, label, source, out, reader, depth)
        return
    if first.dynamic and (first.value.startswith("$") or action == "argv-list"):
        if "shell" in kw and [t[1] for t in kw["shell"]] != ["True"] and action == "shell":
            return
        _opaque(cmd, f"{lang} code runs a command built at run time ({source})", out)
        return
    if action == "argv-list" and lang == "js" and not any("shell" in flat_tokens for _ in (0,)):
        _argv(cmd, [first], label, source, out, reader, depth)
        return
    _shell_text(cmd, first.value, f"{label} {source.split('(')[0].strip()}", out, reader, depth)


def _argv(cmd: Command, words: list[Word], label: str, source: str, out: Expansion, reader: Reader,
          depth: int) -> None:
    if not words:
        return
    if words[0].dynamic:
        _opaque(cmd, f"code runs a program named at run time ({source})", out)
        return
    _emit(cmd, words, label, source, out, reader, depth)


def _safe(handler: Callable[[Command, Reader, Expansion, int], None]) -> Callable[[Command, Reader, Expansion, int], None]:
    """A reader bug must never crash guardsh or let a command through: it asks instead."""

    def run(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
        before = len(out.commands)
        try:
            handler(cmd, reader, out, depth)
        except RecursionError:
            _opaque(cmd, f"the code given to {cmd.program} is nested too deeply to read", out)
        except Exception as e:  # noqa: BLE001 - any reader failure becomes "cannot analyse"
            _opaque(cmd, f"guardsh could not read the code given to {cmd.program} ({type(e).__name__})", out)
        if not any(c is cmd for c in out.commands[before:]):
            out.commands.append(cmd)

    run.__doc__ = handler.__doc__
    return run


sql_cli = _safe(sql_cli)
redis_cli = _safe(redis_cli)
mongo_cli = _safe(mongo_cli)
interpreter = _safe(interpreter)

__all__ = ["interpreter", "mongo_cli", "redis_cli", "sql_cli", "sql_statements"]
