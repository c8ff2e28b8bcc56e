"""What code in a tool's own language runs: awk ``system()`` and pipes, sed's ``e`` command and
``s///e``/``w`` flags, vim/less ``!cmd`` and ``system()``, Emacs Lisp ``shell-command`` and
``delete-file``, gdb ``shell``, expect ``spawn``/``exec``, make ``--eval`` recipes, the commands
of an AWS SSM document.

``scan(lang, code)`` returns what the code amounts to, as (kind, value) pairs: ``shell`` text,
an ``argv`` (words joined by NUL), a ``file`` it overwrites, ``code`` in another language
(``lang NUL code``), or ``opaque`` with the reason (a command built at run time).
"""
from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable

STRING = r'"((?:[^"\\]|\\.)*)"'
AWK_SYSTEM = re.compile(r"\bsystem\s*\(\s*(?:" + STRING + r"\s*\)|(?=[^)]))")
AWK_PIPE_TO = re.compile(r"(?<![|&])\|&?\s*(?:" + STRING + r"|([A-Za-z_]\w*))")
AWK_PIPE_FROM = re.compile(STRING + r"\s*\|&?\s*getline")
AWK_VAR_GETLINE = re.compile(r"\b([A-Za-z_]\w*)\s*\|&?\s*getline")
AWK_WRITE = re.compile(r"\b(?:print|printf)\b[^;{}\n]*?>>?\s*" + STRING)
ELISP_SHELL = re.compile(r"\((shell-command(?:-to-string)?|async-shell-command|shell-command-on-region)\s+(?:" +
                         STRING + r"|([^\s)]))")
ELISP_PROC = re.compile(r"\((call-process(?:-shell-command)?|start-process(?:-shell-command)?|process-lines|"
                        r"make-process)\b([^()]*(?:\([^()]*\)[^()]*)*)\)")
ELISP_DELETE = re.compile(r"\((delete-file|delete-directory)\s+(?:" + STRING + r"|([^\s)]))([^)]*)\)")
ELISP_EVAL_HIDDEN = re.compile(r"\((?:eval|funcall|apply)\s+\((?:read|intern)")
VIM_BANG = re.compile(r"(?:^|\|)\s*:*\s*(?:(?:sil(?:ent)?!?|exe(?:cute)?|norm(?:al)?!?)\s+)*"
                      r"(?:[%.$,\d'<>]*)\s*(?:(?:r(?:ead)?|w(?:rite)?)\s*)?!(.*)")
VIM_SYSTEM = re.compile(r"\b(?:system|systemlist|jobstart|termopen)\s*\(\s*(?:['\"]([^'\"]*)['\"]|(?=[^)]))")
VIM_WRITE = re.compile(r"(?:^|\|)\s*:*\s*(?:w(?:rite)?|sav(?:eas)?)!?\s+(?!!)(\S+)")
GDB_SHELL = re.compile(r"^\s*(?:shell\s+|!)(.*)$")
GDB_PIPE = re.compile(r"^\s*(?:pipe\s+|\|)(.*)$")
GDB_PYTHON = re.compile(r"^\s*(?:python|py|python-interactive|pi)\s+(.*)$")
GDB_CALL_SYSTEM = re.compile(r"^\s*(?:call|print|p)\s+\(?\s*(?:\(\w+\)\s*)?system\s*\(\s*(?:" + STRING + r"|(?=.))")
TCL_RUN = re.compile(r"(?:^|[;\n\[{])\s*(spawn|exec|system)\s+([^;\n\]}]*)")
SSM_COMMANDS = re.compile(r"commands\s*[=:]\s*\[(.*?)\]", re.S | re.I)
SSM_STRING = re.compile(r"\"((?:[^\"\\]|\\.)*)\"|'([^']*)'")
SED_ADDR = re.compile(r"^\s*(?:\d+|\$|/(?:[^/\\\n]|\\.)*/[IM]*|\\(.)(?:(?!\1).)*\1)?\s*"
                      r"(?:[,~]\s*(?:\d+|\$|/(?:[^/\\\n]|\\.)*/[IM]*|\+\d+|~\d+))?\s*!?\s*")


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text)


def scan(lang: str, code: str) -> list[tuple[str, str]]:
    reader = READERS.get(lang)
    if reader is None:
        return [("code", f"{lang}\0{code}")] if lang in INLINE else []
    return reader(code)


def language_of(program: str) -> str | None:
    base = program.rsplit("/", 1)[-1]
    for lang, names in PROGRAM_LANGUAGES.items():
        if base in names:
            return lang
    if base.startswith("python"):
        return "python"
    return None


def _awk(code: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for m in AWK_SYSTEM.finditer(code):
        if m.group(1) is not None:
            found.append(("shell", _unescape(m.group(1))))
        else:
            found.append(("opaque", "awk runs a command it builds at run time (system of an expression)"))
    for m in AWK_PIPE_TO.finditer(code):
        if m.group(1) is not None:
            target = _unescape(m.group(1))
            words = target.split()
            if words and words[0].rsplit("/", 1)[-1] in PIPE_SHELLS and "-c" not in words:
                found.append(("opaque", f"awk prints the commands a shell runs ({target}): guardsh cannot see them"))
            else:
                found.append(("shell", target))
        elif m.group(2) not in ("getline",):
            found.append(("opaque", f"awk pipes into a command held in a variable ({m.group(2)})"))
    for m in AWK_PIPE_FROM.finditer(code):
        found.append(("shell", _unescape(m.group(1))))
    for m in AWK_VAR_GETLINE.finditer(code):
        found.append(("opaque", f"awk reads from a command held in a variable ({m.group(1)} | getline)"))
    for m in AWK_WRITE.finditer(code):
        found.append(("file", _unescape(m.group(1))))
    return found


def _sed(code: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for line in code.split("\n"):
        for part in _sed_commands(line):
            rest = SED_ADDR.sub("", part, count=1).lstrip("{ ")
            if not rest:
                continue
            c = rest[0]
            if c == "e":
                cmd = rest[1:].strip()
                found.append(("shell", cmd) if cmd else ("opaque", "sed's e command runs the pattern space as a command"))
            elif c in "wW":
                path = rest[1:].strip()
                if path and path not in ("/dev/stdout", "/dev/stderr"):
                    found.append(("file", path))
            elif c == "s" and len(rest) > 1:
                flags = _sed_s_flags(rest)
                if flags is None:
                    continue
                head, _, path = flags.partition("w")
                if "e" in head:
                    found.append(("opaque", "sed's s///e runs the result of the substitution as a command"))
                if _ and path.strip() and path.strip() not in ("/dev/stdout", "/dev/stderr"):
                    found.append(("file", path.strip()))
    return found


def _sed_commands(line: str) -> list[str]:
    """Split a sed line on ``;`` outside s/// and y/// bodies (roughly as GNU sed does)."""
    parts: list[str] = []
    cur: list[str] = []
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c == ";":
            parts.append("".join(cur))
            cur = []
            i += 1
            continue
        if c in "sy" and i + 1 < n and not line[i + 1].isalnum() and line[i + 1] not in " ;\\\n" and (
                not cur or SED_ADDR.sub("", "".join(cur), count=1).strip() in ("", "{")):
            delim = line[i + 1]
            j, seen = i + 2, 0
            while j < n and seen < 2:
                if line[j] == "\\":
                    j += 2
                    continue
                if line[j] == delim:
                    seen += 1
                j += 1
            cur.append(line[i:j])
            i = j
            continue
        if c in "wWe" and not "".join(cur).strip().rstrip("!").strip("{ ").strip() or (
                c in "wWe" and SED_ADDR.sub("", "".join(cur), count=1).strip() in ("", "{")):
            cur.append(line[i:])  # w FILE and e CMD take the rest of the line
            break
        cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


SED_S_FLAGS = re.compile(r"^[gpiImMe0-9]*(?:w.*)?$")


def _sed_s_flags(rest: str) -> str | None:
    """The flags of an s command (None when it does not parse as one: then it is not judged)."""
    delim = rest[1]
    j, seen, n = 2, 0, len(rest)
    while j < n and seen < 2:
        c = rest[j]
        if c == "\\":
            j += 2
            continue
        if c == "[" and seen == 0:  # a bracket expression: the delimiter inside it is literal
            k = rest.find("]", j + 2 if rest[j + 1:j + 2] in ("]", "^") else j + 1)
            if k > 0:
                j = k + 1
                continue
        if c == delim:
            seen += 1
        j += 1
    if seen != 2:
        return None
    flags = rest[j:].strip()
    return flags if SED_S_FLAGS.match(flags) else None


def _vim(code: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    m = VIM_BANG.match(code)
    if m:
        found.append(("shell", m.group(1)))
    for m2 in VIM_SYSTEM.finditer(code):
        if m2.group(1) is not None:
            found.append(("shell", m2.group(1)))
        else:
            found.append(("opaque", "vim runs a command it builds at run time"))
    for m3 in VIM_WRITE.finditer(code):
        found.append(("file", m3.group(1)))
    return found


def _elisp(code: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for m in ELISP_SHELL.finditer(code):
        if m.group(2) is not None:
            found.append(("shell", _unescape(m.group(2))))
        else:
            found.append(("opaque", f"Emacs Lisp ({m.group(1)}) runs a command it builds at run time"))
    for m in ELISP_PROC.finditer(code):
        fn, args = m.group(1), m.group(2)
        strings = [_unescape(s) for s in re.findall(STRING, args)]
        if fn.endswith("shell-command"):
            found.extend(("shell", s) for s in strings[:1] if fn.startswith("call") or True)
            continue
        if fn == "start-process":
            strings = strings[2:] if len(strings) >= 3 else []
        elif fn == "make-process":
            cm = re.search(r":command\s+\((?:list\s+)?([^()]*)\)", args)
            strings = [_unescape(s) for s in re.findall(STRING, cm.group(1))] if cm else []
        if strings:
            found.append(("argv", "\0".join(strings)))
        else:
            found.append(("opaque", f"Emacs Lisp ({fn}) runs a program it names at run time"))
    for m in ELISP_DELETE.finditer(code):
        fn, path, rest = m.group(1), m.group(2), m.group(4) or ""
        if path is None:
            found.append(("opaque", f"Emacs Lisp ({fn}) deletes a path it computes at run time"))
        elif fn == "delete-directory":
            found.append(("argv", "\0".join(["rm", "-r", path] if rest.strip() not in ("", "nil") else ["rmdir", path])))
        else:
            found.append(("argv", f"rm\0{_unescape(path)}"))
    if ELISP_EVAL_HIDDEN.search(code):
        found.append(("opaque", "Emacs Lisp evaluates code it reads at run time"))
    return found


def _gdb(code: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for line in code.split("\n"):
        m = GDB_SHELL.match(line)
        if m:
            found.append(("shell", m.group(1)))
            continue
        m = GDB_PIPE.match(line)
        if m:
            body = m.group(1)
            sep = body.find("|")
            if body[:1] == "-" and " " in body:  # pipe -d DELIM COMMAND DELIM SHELL
                parts = body.split(None, 2)
                sep = parts[2].find(parts[1]) if len(parts) == 3 else -1
                body = parts[2] if len(parts) == 3 else body
            if sep >= 0:
                found.append(("shell", body[sep + 1:]))
            continue
        m = GDB_PYTHON.match(line)
        if m:
            found.append(("code", f"python\0{m.group(1)}"))
            continue
        m = GDB_CALL_SYSTEM.match(line)
        if m:
            found.append(("shell", _unescape(m.group(1))) if m.group(1) is not None else
                         ("opaque", "gdb calls system() with a command built at run time"))
    return found


def _tcl(code: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for m in TCL_RUN.finditer(code):
        verb, rest = m.group(1), m.group(2).strip()
        words = rest.split()
        while words and words[0].startswith("-") and verb != "system":
            words.pop(0)  # spawn -noecho, exec -ignorestderr
        if not words:
            continue
        if words[0].startswith("$") or words[0].startswith("["):
            found.append(("opaque", f"expect/Tcl {verb} runs a program named at run time"))
        else:
            found.append(("shell", " ".join(words)))
    return found


MAKE_VAR = re.compile(r"\$(?:\((?!shell\s)[^()]*\)|\{[^{}]*\}|[@<^*?%+|A-Za-z])")


def _make(code: str) -> list[tuple[str, str]]:
    """Recipes of ``make --eval`` text as shell code: make's own variables ($(VAR), $@, $*) are
    expanded by make, not the shell, so they stand for a plain word; $$ is the shell's $."""
    found: list[tuple[str, str]] = []
    code = MAKE_VAR.sub("MAKEVAR", code.replace("$$", "\0")).replace("\0", "$")
    for line in code.replace("\\n", "\n").split("\n"):
        if line.startswith("\t"):
            found.append(("shell", line.strip().lstrip("@-+")))
            continue
        head, sep, recipe = line.partition(";")
        if sep and ":" in head and "=" not in head.split(":", 1)[0]:
            found.append(("shell", recipe.strip().lstrip("@-+")))
        for sm in re.finditer(r"\$\(shell\s+([^)]*)\)", line):
            found.append(("shell", sm.group(1)))
    return [f for f in found if f[1]]


def _ssm(code: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for m in SSM_COMMANDS.finditer(code):
        body = m.group(1)
        strings = [a if a else b for a, b in SSM_STRING.findall(body)]
        if strings:
            found.extend(("shell", _unescape(s)) for s in strings)
        elif body.strip():
            found.extend(("shell", s.strip()) for s in body.split(",") if s.strip())
    if not found and code.strip() and "commands" not in code.lower() and not code.lstrip().startswith(("{", "[", "file:")):
        return []
    if not found and code.lstrip().startswith("file:"):
        found.append(("opaque", "the SSM parameters are read from a file guardsh does not open"))
    return found


PIPE_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "ash", "mksh", "fish", "python", "python3", "perl",
                         "ruby", "node", "php", "xargs", "parallel", "env"})
READERS: dict[str, Callable[[str], list[tuple[str, str]]]] = {"awk": _awk, "sed": _sed, "vim": _vim, "elisp": _elisp, "gdb": _gdb, "expect": _tcl, "make": _make,
           "ssm": _ssm}
INLINE = frozenset({"python", "js", "ruby", "perl", "php"})
PROGRAM_LANGUAGES = {
    "awk": ("awk", "gawk", "mawk", "nawk"),
    "sed": ("sed", "gsed"),
    "vim": ("vim", "vi", "nvim", "view", "ex", "gvim", "vimdiff", "less"),
    "elisp": ("emacs", "emacsclient"),
    "gdb": ("gdb",),
    "expect": ("expect",),
    "make": ("make", "gmake"),
    "sql": ("clickhouse-client", "clickhouse", "cqlsh", "sqlcmd", "snowsql", "duckdb", "bq", "usql", "trino",
            "presto", "spark-sql", "beeline", "vsql", "sqlplus", "cockroach", "mysqlsh", "influx"),
}
