"""``make [TARGET...]``: the recipes of the targets and their prerequisites, from the Makefile make
will read, with make's variables expanded; ``$(shell ...)`` and ``!=`` run at parse time.

Read as GNU make reads it, enough to find what runs: rules (``t: p; recipe`` and tab-indented
recipe lines, double-colon and pattern rules), variables (``=``, ``:=``, ``::=``, ``?=``, ``+=``,
``!=``, ``define``; command-line and environment values), ``include``, ``.DEFAULT_GOAL``,
``.ONESHELL`` and conditionals (a branch guardsh cannot decide counts as possibly taken, and the
variables it sets become unknown).  A value guardsh cannot work out (``$(wildcard ...)`` and
other functions) reaches the shell as an unknown value, so what depends on it asks.
"""
from __future__ import annotations

import os

from guardsh.engine.expansion import Expansion, Reader
from guardsh.engine.model import Command
from guardsh.engine.tasks.common import MAX_RECIPES, UNKNOWN_VALUE, cannot_read, find_up, run_shell

MAKEFILES = ("GNUmakefile", "makefile", "Makefile")
VALUE_OPTIONS = frozenset({"-f", "--file", "--makefile", "-C", "--directory", "-I", "--include-dir", "-o",
                           "--old-file", "--assume-old", "-W", "--what-if", "--new-file", "--assume-new", "-l",
                           "--load-average", "--eval", "-O", "--output-sync", "--jobserver-style"})
NOTHING_RUNS = frozenset({"-n", "--just-print", "--dry-run", "--recon", "-q", "--question", "-v", "--version",
                          "-h", "--help"})
MAX_INCLUDES = 20
MAX_EXPAND = 32


class Makefile:
    __slots__ = ("vars", "unknown", "rules", "patterns", "default", "oneshell", "parse_shell", "problem", "cwd")

    def __init__(self, cwd: str) -> None:
        self.vars: dict[str, str] = {"MAKE": "make", "SHELL": "/bin/sh", "RM": "rm -f", "CURDIR": cwd,
                                     "CC": "cc", "CXX": "g++", "AR": "ar", "MAKEFLAGS": ""}
        self.unknown: set[str] = set()  # variables whose value guardsh cannot know
        self.rules: dict[str, list[tuple[list[str], list[str]]]] = {}  # target -> [(prereqs, recipe lines)]
        self.patterns: list[tuple[str, list[str], list[str]]] = []  # (target pattern, prereqs, recipe)
        self.default: str | None = None
        self.oneshell = False
        self.parse_shell: list[str] = []  # $(shell ...) and != commands, run while make reads the file
        self.problem: str | None = None
        self.cwd = cwd

    # --- expansion

    def expand(self, text: str, auto: dict[str, str] | None = None, depth: int = 0) -> str:
        out: list[str] = []
        i, n = 0, len(text)
        while i < n:
            c = text[i]
            if c != "$" or i + 1 >= n:
                out.append(c)
                i += 1
                continue
            nxt = text[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            if nxt in "({":
                close = ")" if nxt == "(" else "}"
                end = _matching(text, i + 1, nxt, close)
                if end < 0:
                    out.append(UNKNOWN_VALUE)
                    return "".join(out)
                out.append(self.reference(text[i + 2 : end], auto, depth))
                i = end + 1
                continue
            out.append(self.reference(nxt, auto, depth))
            i += 2
        return "".join(out)

    def reference(self, inner: str, auto: dict[str, str] | None, depth: int) -> str:
        if depth > MAX_EXPAND:
            return UNKNOWN_VALUE
        head, _, rest = inner.partition(" ")
        if head == "shell" and rest:
            command = self.expand(rest, auto, depth + 1)
            self.parse_shell.append(command)
            return UNKNOWN_VALUE
        if rest or "," in head:
            return UNKNOWN_VALUE  # a function: $(wildcard ...), $(patsubst ...), $(foreach ...)...
        name = self.expand(inner, auto, depth + 1) if "$" in inner else inner
        if ":" in name and "=" in name:
            return UNKNOWN_VALUE  # $(VAR:a=b) substitution references
        if auto is not None:
            if name in auto:
                return auto[name]
            if len(name) == 2 and name[0] in auto and name[1] in "DF":
                value = auto[name[0]]
                return os.path.dirname(value) or "." if name[1] == "D" else os.path.basename(value)
        if name in self.unknown:
            return UNKNOWN_VALUE
        if name in self.vars:
            return self.expand(self.vars[name], auto, depth + 1)
        if auto is None and name in "@<^?*+|":
            return UNKNOWN_VALUE
        return ""

    # --- reading

    def read(self, path: str, reader: Reader, depth: int = 0) -> bool:
        text = reader.read(path)
        if text is None:
            return False
        lines = _logical_lines(text)
        conditions: list[bool | None] = []  # per open conditional: True / False / None (unknown)
        current: list[tuple[list[str], list[str]]] = []  # rules the recipe lines belong to
        k = 0
        while k < len(lines):
            line = lines[k]
            k += 1
            active = all(c is not False for c in conditions)
            uncertain = any(c is None for c in conditions)
            if line.startswith("\t") and current:
                if active:
                    for _prereqs, recipe in current:
                        recipe.append(line[1:])
                continue
            stripped = _strip_comment(line).strip()
            if not stripped:
                continue
            word = stripped.split(None, 1)[0]
            if word in ("ifeq", "ifneq", "ifdef", "ifndef"):
                conditions.append(self.condition(stripped) if active else False)
                current = []
                continue
            if word == "else":
                if conditions:
                    rest = stripped[4:].strip()
                    prev = conditions[-1]
                    if rest:  # else ifeq ...
                        conditions[-1] = None if prev is None else (False if prev else self.condition(rest))
                    else:
                        conditions[-1] = None if prev is None else not prev
                current = []
                continue
            if word == "endif":
                if conditions:
                    conditions.pop()
                current = []
                continue
            if not active:
                if word == "define":
                    k = _skip_define(lines, k)
                continue
            if word == "define":
                name = stripped.split(None, 1)[1].split()[0] if len(stripped.split()) > 1 else ""
                body, k = _read_define(lines, k)
                self.assign(name, "=", body, uncertain)
                current = []
                continue
            if word in ("include", "-include", "sinclude"):
                for name in self.expand(stripped.split(None, 1)[1] if " " in stripped else "").split():
                    if UNKNOWN_VALUE in name:
                        self.problem = f"an include guardsh cannot work out ({stripped})"
                        continue
                    full = os.path.join(self.cwd, name)
                    if depth < MAX_INCLUDES and not self.read(full, reader, depth + 1) and word == "include" \
                            and reader.exists(full) is not False:
                        self.problem = f"an included makefile guardsh cannot read ({name})"
                current = []
                continue
            if word in ("export", "unexport", "override", "private", "vpath"):
                rest = stripped[len(word):].strip()
                if word in ("override", "export", "private") and _assignment(rest):
                    self.assignment_line(rest, uncertain)
                current = []
                continue
            if _assignment(stripped):
                self.assignment_line(stripped, uncertain)
                current = []
                continue
            rule = _rule(stripped)
            if rule is None:
                current = []
                continue
            targets_text, prereqs_text, inline = rule
            targets = self.expand(targets_text).split()
            if any(t for t in targets if "=" in t):
                current = []  # target-specific variables: t: VAR = value
                continue
            prereqs = self.expand(prereqs_text.split("|")[0]).split()
            current = []
            for target in targets:
                recipe: list[str] = [inline] if inline else []
                entry = (prereqs, recipe)
                current.append(entry)
                if target == ".ONESHELL":
                    self.oneshell = True
                if target.startswith(".") and "/" not in target and "%" not in target:
                    continue
                if "%" in target:
                    self.patterns.append((target, prereqs, recipe))
                    continue
                self.rules.setdefault(target, []).append(entry)
                if self.default is None:
                    self.default = target
        return True

    def condition(self, line: str) -> bool | None:
        word, _, rest = line.partition(" ")
        rest = rest.strip()
        if word in ("ifdef", "ifndef"):
            name = self.expand(rest).strip()
            if name in self.unknown or UNKNOWN_VALUE in name:
                return None
            defined = bool(self.vars.get(name))
            return defined if word == "ifdef" else not defined
        args = _condition_args(rest)
        if args is None:
            return None
        a, b = (self.expand(x).strip() for x in args)
        if UNKNOWN_VALUE in a or UNKNOWN_VALUE in b:
            return None
        return (a == b) if word == "ifeq" else (a != b)

    def assignment_line(self, line: str, uncertain: bool) -> None:
        parts = _split_assignment(line)
        if parts is not None:
            self.assign(*parts, uncertain)

    def assign(self, name: str, op: str, value: str, uncertain: bool) -> None:
        if not name:
            return
        if op == "!=":
            self.parse_shell.append(self.expand(value))
            self.unknown.add(name)
            return
        if uncertain:
            self.unknown.add(name)
            return
        if op == "?=" and name in self.vars:
            return
        if op in (":=", "::=", ":::="):
            value = self.expand(value)
        if op == "+=" and name in self.vars:
            value = self.vars[name] + " " + value
        self.vars[name] = value
        self.unknown.discard(name)

    # --- what runs

    def recipes(self, goals: list[str]) -> list[tuple[str, list[str]]]:
        """(target, recipe lines) in the order make runs them: prerequisites first."""
        done: set[str] = set()
        order: list[tuple[str, list[str]]] = []

        def visit(target: str, depth: int) -> None:
            if target in done or depth > 50 or len(done) > MAX_RECIPES:
                return
            done.add(target)
            entries = self.rules.get(target)
            stem = ""
            if not entries or not any(r for _p, r in entries):
                for pattern, prereqs, recipe in self.patterns:
                    matched = _stem(pattern, target)
                    if matched is not None and recipe:
                        stem = matched
                        entries = (entries or []) + [([p.replace("%", stem) for p in prereqs], recipe)]
                        break
            for prereqs, recipe in entries or ():
                for p in prereqs:
                    visit(p, depth + 1)
                auto = {"@": target, "<": prereqs[0] if prereqs else "", "^": " ".join(dict.fromkeys(prereqs)),
                        "+": " ".join(prereqs), "?": " ".join(prereqs), "*": stem, "|": ""}
                lines = [self.expand(line, auto) for line in recipe]
                if lines:
                    order.append((target, lines))

        for goal in goals:
            visit(goal, 0)
        return order


def handle_make(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    out.commands.append(cmd)
    words = cmd.words
    files: list[str] = []
    directory = cmd.cwd
    goals: list[str] = []
    overrides: dict[str, str] = {}
    dynamic = False
    dry_run = False
    i = 1
    while i < len(words):
        w = words[i]
        v = w.value
        i += 1
        if w.dynamic:
            dynamic = True
            continue
        if v in NOTHING_RUNS:
            dry_run = True
            continue
        name, eq, value = v.partition("=")
        if v.startswith("--") and eq and name in VALUE_OPTIONS:
            if name in ("--file", "--makefile"):
                files.append(value)
            elif name == "--directory" and directory is not None:
                directory = os.path.join(directory, value)
            continue
        if v in VALUE_OPTIONS and i < len(words):
            arg = words[i].value
            i += 1
            if v in ("-f", "--file", "--makefile"):
                files.append(arg)
            elif v in ("-C", "--directory") and directory is not None:
                directory = os.path.normpath(os.path.join(directory, arg))
            continue
        if v.startswith("-C") and len(v) > 2 and directory is not None:
            directory = os.path.normpath(os.path.join(directory, v[2:]))
            continue
        if v.startswith("-f") and len(v) > 2:
            files.append(v[2:])
            continue
        if v.startswith("-j") and v[2:].isdigit() or v == "-j":
            if v == "-j" and i < len(words) and words[i].value.isdigit():
                i += 1
            continue
        if v.startswith("-"):
            if not v.startswith("--") and "n" in v[1:] and all(c.isalpha() for c in v[1:]):
                dry_run = True
            continue
        if eq and name and all(ch.isalnum() or ch in "_." for ch in name):
            overrides[name] = value
            continue
        goals.append(v)
    if dry_run:
        return  # make -n prints the recipes; -q, --help, --version run nothing
    if directory is None or dynamic:
        cannot_read(cmd, "a Makefile named or placed at run time", out, reader)
        return
    if files:
        paths = [f if f.startswith("/") else os.path.join(directory, f) for f in files]
    else:
        found = find_up(directory, MAKEFILES, reader, up=False)
        if found is None:
            return  # make: no makefile found; nothing runs
        paths = [found]
    mk = Makefile(directory)
    state = out.state
    if state is not None:
        for k, v in state.env.items():  # make reads the environment as variables
            mk.vars.setdefault(k, v)
    for path in paths:
        if not mk.read(path, reader):
            if reader.exists(path) is False:
                return  # make: no such makefile; nothing runs
            cannot_read(cmd, f"the makefile {path}", out, reader)
            return
    mk.vars.update(overrides)
    for name in overrides:
        mk.unknown.discard(name)
    for command in mk.parse_shell:
        run_shell(cmd, command, "make $(shell)", directory, out, reader, depth)
    if mk.problem is not None:
        out.problem(f"make: {mk.problem}", cmd)
        out.worsen("opaque")
    default = mk.vars.get(".DEFAULT_GOAL") or mk.default
    targets = goals or ([default] if default else [])
    for target, lines in mk.recipes(targets):
        label = f"make {target}"
        if mk.oneshell:
            run_shell(cmd, "\n".join(_recipe_line(line) for line in lines), label, directory, out, reader, depth)
            continue
        for line in lines:
            run_shell(cmd, _recipe_line(line), label, directory, out, reader, depth)


def _recipe_line(line: str) -> str:
    """A recipe line as make hands it to the shell: without the @ - + prefixes."""
    text = line.lstrip()
    while text[:1] in ("@", "-", "+"):
        text = text[1:].lstrip()
    return text


def _logical_lines(text: str) -> list[str]:
    """Lines with backslash-newline joined (recipe lines keep the backslash-newline for the shell)."""
    out: list[str] = []
    pending = ""
    for raw in text.split("\n"):
        line = pending + raw
        if line.endswith("\\") and not line.endswith("\\\\"):
            pending = line[:-1] + ("\\\n" if line.startswith("\t") else " ")
            continue
        pending = ""
        out.append(line)
    if pending:
        out.append(pending)
    return out


def _strip_comment(line: str) -> str:
    i = 0
    while i < len(line):
        if line[i] == "\\":
            i += 2
            continue
        if line[i] == "#":
            return line[:i]
        i += 1
    return line


def _assignment(line: str) -> bool:
    return _split_assignment(line) is not None


def _split_assignment(line: str) -> tuple[str, str, str] | None:
    """(name, operator, value) of ``NAME = value`` (and ``:=``, ``::=``, ``?=``, ``+=``, ``!=``)."""
    k = line.find("=")
    if k <= 0:
        return None
    head = line[:k]
    op = "="
    for prefix in (":::", "::", ":", "?", "+", "!"):
        if head.endswith(prefix):
            op = prefix + "="
            head = head[: -len(prefix)]
            break
    name = head.strip()
    if not name or any(c in name for c in ":; \t"):
        return None
    return name, op, line[k + 1 :].strip()


def _rule(line: str) -> tuple[str, str, str] | None:
    """(targets, prerequisites, inline recipe) of a rule line ``t1 t2: p1 p2 ; recipe``."""
    i = 0
    depth = 0
    while i < len(line):
        c = line[i]
        if c in "({":
            depth += 1
        elif c in ")}":
            depth -= 1
        elif c == ":" and depth == 0:
            targets = line[:i]
            rest = line[i + 1 :]
            if rest.startswith(":"):
                rest = rest[1:]
            prereqs, _sep, inline = rest.partition(";")
            return targets, prereqs, inline.strip()
        i += 1
    return None


def _condition_args(rest: str) -> tuple[str, str] | None:
    if rest.startswith("(") and rest.endswith(")"):
        inner = rest[1:-1]
        depth = 0
        for k, c in enumerate(inner):
            if c in "({":
                depth += 1
            elif c in ")}":
                depth -= 1
            elif c == "," and depth == 0:
                return inner[:k], inner[k + 1 :]
        return None
    quoted = []
    i = 0
    while i < len(rest):
        q = rest[i]
        if q in "'\"":
            j = rest.find(q, i + 1)
            if j < 0:
                return None
            quoted.append(rest[i + 1 : j])
            i = j + 1
        else:
            i += 1
    return (quoted[0], quoted[1]) if len(quoted) == 2 else None


def _read_define(lines: list[str], k: int) -> tuple[str, int]:
    body: list[str] = []
    while k < len(lines):
        if lines[k].strip() == "endef":
            return "\n".join(body), k + 1
        body.append(lines[k])
        k += 1
    return "\n".join(body), k


def _skip_define(lines: list[str], k: int) -> int:
    return _read_define(lines, k)[1]


def _matching(text: str, i: int, open_: str, close: str) -> int:
    depth = 0
    while i < len(text):
        if text[i] == open_:
            depth += 1
        elif text[i] == close:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _stem(pattern: str, target: str) -> str | None:
    before, _, after = pattern.partition("%")
    if target.startswith(before) and target.endswith(after) and len(target) >= len(before) + len(after):
        return target[len(before) : len(target) - len(after)]
    return None

