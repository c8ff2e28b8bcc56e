"""``task [NAME...]`` (go-task): the commands of the tasks and their dependencies, from the Taskfile.

A command is a string run by task's shell interpreter (bash-like) in the task's ``dir`` (default:
the Taskfile's directory), ``{cmd: ...}``, or ``{task: other}``.  ``{{.VAR}}`` is filled in from
the Taskfile's static ``vars``; a value guardsh cannot know (``sh:`` variables, templates) stays
unknown.  The default task is ``default``.
"""
from __future__ import annotations

import os

from guardsh.engine.expansion import Expansion, Reader
from guardsh.engine.model import Command
from guardsh.engine.tasks.common import MAX_RECIPES, UNKNOWN_VALUE, cannot_read, find_up, run_shell

NAMES = ("Taskfile.yml", "taskfile.yml", "Taskfile.yaml", "taskfile.yaml", "Taskfile.dist.yml",
         "taskfile.dist.yml", "Taskfile.dist.yaml", "taskfile.dist.yaml")
NOTHING_RUNS = frozenset({"-n", "--dry", "-l", "--list", "-a", "--list-all", "--summary", "-h", "--help",
                          "--version", "-i", "--init"})


def handle_task(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    out.commands.append(cmd)
    words = cmd.words
    values = [w.value for w in words]
    taskfile: str | None = None
    directory = cmd.cwd
    names: list[str] = []
    i = 1
    while i < len(words):
        v = values[i]
        i += 1
        if words[i - 1].dynamic:
            cannot_read(cmd, "a task named at run time", out, reader)
            return
        if v in NOTHING_RUNS:
            return
        if v == "--":
            break
        if v in ("-t", "--taskfile", "-d", "--dir") and i < len(words):
            if directory is not None:
                if v in ("-t", "--taskfile"):
                    taskfile = os.path.join(directory, values[i])
                else:
                    directory = os.path.join(directory, values[i])
            i += 1
            continue
        if v.startswith("-") or "=" in v:
            continue
        names.append(v)
    if directory is None:
        cannot_read(cmd, "a Taskfile", out, reader)
        return
    taskfile = taskfile or find_up(directory, NAMES, reader)
    if taskfile is None:
        return  # task: no Taskfile; nothing runs
    text = reader.read(taskfile)
    doc = _load(text) if text is not None else None
    if not isinstance(doc, dict) or not isinstance(doc.get("tasks", {}), dict):
        if reader.exists(taskfile) is False:
            return
        cannot_read(cmd, f"the Taskfile {taskfile}", out, reader)
        return
    tasks = doc.get("tasks", {})
    variables = {k: str(v) for k, v in (doc.get("vars") or {}).items() if isinstance(v, (str, int, float))}
    root = os.path.dirname(taskfile)
    done: set[str] = set()
    for name in names or ["default"]:
        _run(cmd, tasks, variables, name, root, done, out, reader, depth)


def _run(cmd: Command, tasks: dict, variables: dict[str, str], name: str, root: str, done: set[str],  # type: ignore[type-arg]
         out: Expansion, reader: Reader, depth: int) -> None:
    if name in done or len(done) > MAX_RECIPES:
        return
    done.add(name)
    task = tasks.get(name)
    if task is None:
        if name != "default":
            cannot_read(cmd, f"the task {name!r}, which the Taskfile does not define", out, reader)
        return
    if isinstance(task, (str, list)):
        task = {"cmds": task}
    if not isinstance(task, dict):
        cannot_read(cmd, f"the task {name!r}", out, reader)
        return
    values = dict(variables)
    for k, v in (task.get("vars") or {}).items():
        values[k] = str(v) if isinstance(v, (str, int, float)) else UNKNOWN_VALUE
    directory = os.path.normpath(os.path.join(root, _fill(str(task.get("dir", ".")), values)))
    for dep in task.get("deps") or []:
        dep_name = dep.get("task") if isinstance(dep, dict) else dep
        if isinstance(dep_name, str):
            _run(cmd, tasks, variables, dep_name, root, done, out, reader, depth)
    cmds = task.get("cmds") or []
    if isinstance(cmds, str):
        cmds = [cmds]
    for item in cmds:
        if isinstance(item, dict):
            if "task" in item and isinstance(item["task"], str):
                _run(cmd, tasks, variables, item["task"], root, done, out, reader, depth)
                continue
            item = item.get("cmd", item.get("defer"))
        if isinstance(item, str):
            run_shell(cmd, _fill(item, values), f"task {name}", directory, out, reader, depth)
        elif item is not None:
            cannot_read(cmd, f"a command of the task {name!r}", out, reader)


def _fill(text: str, values: dict[str, str]) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("{{", i):
            end = text.find("}}", i + 2)
            if end < 0:
                out.append(text[i:])
                break
            expr = text[i + 2 : end].strip()
            name = expr[1:] if expr.startswith(".") and expr[1:].replace("_", "").isalnum() else None
            out.append(values.get(name, UNKNOWN_VALUE) if name else UNKNOWN_VALUE)
            i = end + 2
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def _load(text: str) -> object:
    import yaml  # only here: PyYAML is slow to import

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None
