"""``just [RECIPE [ARGS...]]``: the recipe and its dependencies, from the justfile just will read.

just looks for ``justfile`` (any case, or ``.justfile``) in the working directory and the ones
above it, and runs each recipe line with ``sh -cu`` in the justfile's directory (a recipe that
starts with ``#!`` runs as one script).  Variables (``name := "value"``), parameters and
``{{ ... }}`` interpolations are filled in where they are string literals or names guardsh
knows; backticks run while just reads the file.  The default recipe is the first one.
"""
from __future__ import annotations

import os

from guardsh.engine.expansion import Expansion, Reader
from guardsh.engine.model import Command
from guardsh.engine.tasks.common import MAX_RECIPES, UNKNOWN_VALUE, cannot_read, find_up, run_shell

NAMES = ("justfile", "Justfile", "JUSTFILE", ".justfile")
NOTHING_RUNS = frozenset({"-n", "--dry-run", "-l", "--list", "--summary", "-s", "--show", "--evaluate", "--help",
                          "-h", "--version", "-V", "--dump", "--fmt", "--variables", "--choose", "--edit", "-e",
                          "--init", "--completions", "--groups"})
VALUE_OPTIONS = frozenset({"-f", "--justfile", "-d", "--working-directory", "--set", "--shell", "--shell-arg",
                           "--dotenv-filename", "--dotenv-path", "--color", "--chooser", "--list-heading",
                           "--list-prefix", "--command-color"})
SHELLS = frozenset({"sh", "bash", "zsh", "dash"})


class Recipe:
    __slots__ = ("name", "params", "deps", "lines")

    def __init__(self, name: str, params: list[str], deps: list[str]) -> None:
        self.name, self.params, self.deps = name, params, deps
        self.lines: list[str] = []


def handle_just(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    out.commands.append(cmd)
    words = cmd.words
    justfile: str | None = None
    directory = cmd.cwd
    positional: list[str] = []
    overrides: dict[str, str] = {}
    i = 1
    while i < len(words):
        w = words[i]
        v = w.value
        i += 1
        if w.dynamic:
            cannot_read(cmd, "a recipe named at run time", out, reader)
            return
        if v in NOTHING_RUNS:
            return
        name, eq, value = v.partition("=")
        if name in VALUE_OPTIONS:
            if not eq:
                value = words[i].value if i < len(words) else ""
                i += 1
            if name in ("-f", "--justfile") and directory is not None:
                justfile = os.path.join(directory, value)
            elif name in ("-d", "--working-directory") and directory is not None:
                directory = os.path.join(directory, value)
            continue
        if v.startswith("-"):
            continue
        if eq and not positional and name.replace("_", "").replace("-", "").isalnum():
            overrides[name] = value
            continue
        positional.append(v)
    if directory is None:
        cannot_read(cmd, "a justfile", out, reader)
        return
    if justfile is None:
        justfile = find_up(directory, NAMES, reader)
        if justfile is None:
            return  # just: no justfile found; nothing runs
    text = reader.read(justfile)
    if text is None:
        if reader.exists(justfile) is False:
            return
        cannot_read(cmd, f"the justfile {justfile}", out, reader)
        return
    recipes, variables, backticks = _parse(text)
    variables.update(overrides)
    root = os.path.dirname(justfile)
    for command in backticks:
        run_shell(cmd, command, "just `...`", root, out, reader, depth)
    goals: list[tuple[str, list[str]]] = []
    k = 0
    if not positional and recipes:
        default = recipes.get("default") or next(iter(recipes.values()))
        goals.append((default.name, []))
    while k < len(positional):
        name = positional[k]
        recipe = recipes.get(name)
        if recipe is None:
            cannot_read(cmd, f"the recipe {name!r} (not in {justfile})", out, reader)
            return
        taken = len([p for p in recipe.params if not p.startswith(("+", "*"))])
        variadic = any(p.startswith(("+", "*")) for p in recipe.params)
        args = positional[k + 1 :] if variadic else positional[k + 1 : k + 1 + taken]
        goals.append((name, args))
        k += 1 + len(args)
    done: set[str] = set()
    for name, args in goals:
        _run(cmd, recipes, variables, name, args, done, root, out, reader, depth)



def _run(cmd: Command, recipes: dict[str, Recipe], variables: dict[str, str], name: str, args: list[str],
         done: set[str], root: str, out: Expansion, reader: Reader, depth: int) -> None:
    if name in done or len(done) > MAX_RECIPES:
        return
    done.add(name)
    recipe = recipes.get(name)
    if recipe is None:
        return
    for dep in recipe.deps:
        dep_name, *dep_args = dep.split()
        _run(cmd, recipes, variables, dep_name, dep_args, done, root, out, reader, depth)
    values = dict(variables)
    for k, param in enumerate(recipe.params):
        pname, _, default = param.lstrip("+*$").partition("=")
        if param.startswith(("+", "*")):
            values[pname] = " ".join(args[k:])
        elif k < len(args):
            values[pname] = args[k]
        elif default:
            values[pname] = _literal(default, values)
    lines = [_interpolate(line, values) for line in recipe.lines]
    label = f"just {name}"
    if lines and lines[0].startswith("#!"):
        interpreter = lines[0][2:].split()
        prog = interpreter[-1].rsplit("/", 1)[-1] if interpreter else ""
        if prog not in SHELLS:
            cannot_read(cmd, f"the recipe {name!r} in {prog or 'an unknown language'}", out, reader)
            return
        run_shell(cmd, "\n".join(lines[1:]), label, root, out, reader, depth)
        return
    for line in lines:
        run_shell(cmd, line.lstrip("@-").lstrip(), label, root, out, reader, depth)


def _parse(text: str) -> tuple[dict[str, Recipe], dict[str, str], list[str]]:
    recipes: dict[str, Recipe] = {}
    variables: dict[str, str] = {}
    backticks: list[str] = []
    current: Recipe | None = None
    for raw in text.split("\n"):
        if current is not None and raw[:1] in (" ", "\t") and raw.strip():
            current.lines.append(raw.strip() if not raw.strip().startswith("#!") else raw.strip())
            continue
        stripped = raw.split("#", 1)[0].strip()
        if not stripped:
            continue  # a blank line (a recipe body may hold some)
        current = None
        if stripped.startswith("["):
            continue  # an attribute of the next recipe
        if stripped.startswith(("set ", "import ", "mod ", "alias ")) and ":=" not in stripped:
            continue
        if ":=" in stripped:
            name, _, value = stripped.removeprefix("export ").partition(":=")
            value = value.strip()
            if value.startswith("`") and value.endswith("`"):
                backticks.append(value.strip("`"))
                variables[name.strip()] = UNKNOWN_VALUE
            else:
                variables[name.strip()] = _literal(value, variables)
            continue
        head, sep, deps = stripped.partition(":")
        if not sep:
            continue
        parts = head.lstrip("@").split()
        if not parts:
            continue
        current = Recipe(parts[0], parts[1:], [d for d in _split_deps(deps)])
        recipes[current.name] = current
    return recipes, variables, backticks


def _split_deps(text: str) -> list[str]:
    deps: list[str] = []
    for part in text.replace("&&", " ").split():
        part = part.strip("()")
        if part:
            deps.append(part)
    return deps


def _literal(expr: str, variables: dict[str, str]) -> str:
    """A just expression made of string literals, names and +; anything else is unknown."""
    pieces: list[str] = []
    for part in expr.split("+"):
        part = part.strip()
        if len(part) >= 2 and part[0] == part[-1] and part[0] in "'\"":
            pieces.append(part[1:-1])
        elif part in variables:
            pieces.append(variables[part])
        elif part.replace("_", "").replace("-", "").isalnum():
            return UNKNOWN_VALUE  # a name just gets elsewhere (the environment, a function)
        else:
            return UNKNOWN_VALUE
    return "".join(pieces)


def _interpolate(line: str, values: dict[str, str]) -> str:
    out: list[str] = []
    i = 0
    while i < len(line):
        if line.startswith("{{{{", i):
            out.append("{{")
            i += 4
            continue
        if line.startswith("{{", i):
            end = line.find("}}", i + 2)
            if end < 0:
                out.append(line[i:])
                break
            expr = line[i + 2 : end].strip()
            value = values.get(expr)
            if value is None:
                value = _literal(expr, values)
            out.append(value)  # just pastes the value into the line as it is
            i = end + 2
            continue
        out.append(line[i])
        i += 1
    return "".join(out)
