"""SQL given to database CLIs (psql, mysql, sqlite3): each statement becomes ``sql <words...>``."""
from __future__ import annotations

from guardsh.engine.expansion import Expansion, Reader
from guardsh.engine.inline.common import emit, opaque, read_code_file, shell_text, stdin_source, walk_options
from guardsh.engine.model import Command, Word

MAX_SQL_WORDS = 64

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
            opaque(cmd, f"{prog} runs SQL holding shell expansions made at run time", out)
        flat = [v for k, v in toks if k == "w"]
        if flat and flat[0] in ("copy",) and "program" in flat:  # COPY ... FROM PROGRAM 'cmd' (on the server)
            k = next(idx for idx, t in enumerate(toks) if t == ("w", "program"))
            if k + 1 < len(toks) and toks[k + 1][0] == "s":
                shell_text(cmd, toks[k + 1][1], f"{label} COPY PROGRAM", out, reader, depth)
        if flat[:1] == ["do"]:
            body = next((v for k, v in toks if k == "s"), "")
            _plpgsql(cmd, body, label, out, reader, depth)
        if flat[:1] in (["execute"], ["exec"]) and dialect != "pg":
            opaque(cmd, f"{prog} runs a prepared or dynamic statement guardsh cannot see", out)
        for words in sql_statements(toks):
            key = tuple(w.value for w in words[:MAX_SQL_WORDS])
            if key not in seen:  # a dump repeats the same INSERT shape thousands of times
                seen.add(key)
                emit(cmd, [Word("sql")] + words[:MAX_SQL_WORDS], label, source, out, reader, depth)


def _plpgsql(cmd: Command, body: str, label: str, out: Expansion, reader: Reader, depth: int) -> None:
    """A DO block: its statements run now."""
    for kind, item, start, end in _Sql(body, "pg").items:
        if kind != "stmt":
            continue
        toks = list(item)  # type: ignore[call-overload]
        while toks and toks[0][0] == "w" and toks[0][1] in ("begin", "declare", "end", "loop", "then", "else"):
            toks = toks[1:]
        if toks[:1] == [("w", "execute")] and not (len(toks) == 2 and toks[1][0] == "s"):
            opaque(cmd, "a DO block runs SQL built at run time (EXECUTE)", out)
            continue
        if len(toks) == 2 and toks[0] == ("w", "execute"):
            _sql_text(cmd, toks[1][1], "pg", label + " DO", out, reader, depth)
            continue
        for words in sql_statements(toks):
            if words and words[0].value not in ("if", "raise", "perform", "return", "null", "exception"):
                emit(cmd, [Word("sql")] + words, label + " DO", body[start:end], out, reader, depth)


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
        shell_text(cmd, arg, f"{label} {name or '!'}", out, reader, depth)
        return
    if name_l in ("i", "ir", "include", "include_relative", "source", "read") and arg:
        if files > 8:
            opaque(cmd, "SQL files include each other too deeply", out)
            return
        path = arg.split()[0].strip("'\"").rstrip(";")
        if dialect == "sqlite" and path.startswith("|"):
            shell_text(cmd, arg.lstrip("|").strip(), f"{label} .read |", out, reader, depth)
            return
        text = read_code_file(cmd, Word(path), "SQL", out, reader)
        if text is not None:
            _sql_text(cmd, text, dialect, f"{label} {name} {path}", out, reader, depth, files=files + 1)
        return
    if name_l == "gexec":
        opaque(cmd, "psql \\gexec runs the SQL a query builds at run time", out)
        return
    words = [Word("sql"), Word("meta"), Word(name_l)] + [Word(a) for a in arg.split()]
    emit(cmd, words, label, line, out, reader, depth)


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
        opts, pos = walk_options(cmd.words, PSQL_SHORT, PSQL_LONG)
        for name, value in opts:
            if value is not None and name in ("-c", "--command"):
                sources.append((value.value, "psql -c", value.dynamic))
            elif value is not None and name in ("-f", "--file"):
                files.append(value)
    elif prog == "sqlite3":
        dialect = "sqlite"
        opts, pos = walk_options(cmd.words, "", SQLITE_VALUES, single_dash_long=True)
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
        opts, pos = walk_options(cmd.words, MYSQL_SHORT, MYSQL_LONG, attached_only="p")
        for name, value in opts:
            if value is not None and name in ("-e", "--execute", "--init-command"):
                sources.append((value.value, f"{prog} -e", value.dynamic))
    names = {name for name, _ in opts}
    for text, label, dynamic in sources:
        if dynamic and text.startswith("$") and " " not in text:
            opaque(cmd, f"{prog} runs SQL held in a variable ({text}): guardsh cannot see it", out)
            continue
        _sql_text(cmd, text, dialect, label, out, reader, depth, dynamic)
    for path in files:
        if path.value == "-":
            continue
        text = read_code_file(cmd, path, "SQL", out, reader)
        if text is not None:
            _sql_text(cmd, text, dialect, f"{prog} -f {path.value}", out, reader, depth, files=1)
    reads_stdin = (not sources and not files and not names & INFO_FLAGS) or any(p.value == "-" for p in files)
    if reads_stdin:
        _sql_stdin(cmd, dialect, out, reader, depth)


def _sql_stdin(cmd: Command, dialect: str, out: Expansion, reader: Reader, depth: int) -> None:
    prog = cmd.program
    src = stdin_source(cmd)
    if src is None:
        return
    kind, value = src
    if kind == "text":
        body, dynamic = value  # type: ignore[misc]
        _sql_text(cmd, body, dialect, f"{prog} <<", out, reader, depth, dynamic)
    elif kind == "file":
        assert isinstance(value, Word)
        text = read_code_file(cmd, value, "SQL", out, reader)
        if text is not None:
            _sql_text(cmd, text, dialect, f"{prog} < {value.value}", out, reader, depth, files=1)
    else:
        source = f" from {value}" if value else ""
        opaque(cmd, f"{prog} runs SQL read from a pipe{source}: guardsh cannot see it", out)
