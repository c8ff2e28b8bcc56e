"""``tox [-e ENV]`` (and ``tox run``): the commands of the environments it runs, from tox.ini,
setup.cfg (``[tox:tox]``) or pyproject.toml (``legacy_tox_ini``); ``poetry run CMD``: CMD.

tox runs each line of ``commands_pre``, ``commands`` and ``commands_post`` directly (not through
a shell), in ``changedir`` (default: the directory of the config).  ``{posargs}`` are the
arguments after ``--``; other substitutions guardsh cannot know stay unknown.
"""
from __future__ import annotations

import os
import shlex

from guardsh.engine.expansion import Expansion, Reader, inner_command
from guardsh.engine.model import Command
from guardsh.engine.tasks.common import UNKNOWN_VALUE, cannot_read, find_up, run_argv

NOTHING_RUNS = frozenset({"-l", "--listenvs", "-a", "--listenvs-all", "--help", "-h", "--version",
                          "--showconfig", "list", "l", "config", "c", "quickstart", "q", "--notest"})
KEYS = ("commands_pre", "commands", "commands_post")


def handle_tox(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    out.commands.append(cmd)
    words = cmd.words
    envs: list[str] = []
    config: str | None = None
    posargs: list[str] = []
    values = [w.value for w in words]
    i = 1
    while i < len(words):
        v = values[i]
        i += 1
        if v == "--":
            posargs = values[i:]
            break
        if words[i - 1].dynamic:
            cannot_read(cmd, "an environment named at run time", out, reader)
            return
        if v in NOTHING_RUNS:
            return
        if v in ("-e", "--env") and i < len(words):
            envs.extend(values[i].split(","))
            i += 1
        elif v.startswith("-e") and len(v) > 2:
            envs.extend(v[2:].split(","))
        elif v in ("-c", "--conf", "--root", "--workdir") and i < len(words):
            if v in ("-c", "--conf"):
                config = values[i]
            i += 1
    directory = cmd.cwd
    if directory is None:
        cannot_read(cmd, "a tox configuration", out, reader)
        return
    path = os.path.join(directory, config) if config else find_up(
        directory, ("tox.ini", "setup.cfg", "pyproject.toml"), reader, up=False)
    if path is None:
        return  # tox: no configuration; nothing runs
    text = reader.read(path)
    sections = _sections(path, text) if text is not None else None
    if sections is None:
        if reader.exists(path) is False:
            return
        cannot_read(cmd, f"the tox configuration {path}", out, reader)
        return
    base = sections.get("testenv", {})
    if not envs:
        head = sections.get("tox", sections.get("tox:tox", {}))
        envs = head.get("envlist", head.get("env_list", "py")).replace(",", " ").split() or ["py"]
    root = os.path.dirname(path)
    for env in envs:
        section = {**base, **sections.get(f"testenv:{env}", {})}
        where = section.get("changedir", root).replace("{toxinidir}", root)
        where = os.path.normpath(os.path.join(root, where))
        for key in KEYS:
            for line in section.get(key, "").split("\n"):
                line = line.strip().lstrip("-!").strip()
                if not line or line.startswith("#"):
                    continue
                line = _substitute(line, root, env, posargs)
                try:
                    argv = shlex.split(line)
                except ValueError:
                    cannot_read(cmd, f"a command of the tox environment {env}", out, reader)
                    continue
                run_argv(cmd, argv, f"tox {env}", where, out, reader, depth)


def _substitute(line: str, root: str, env: str, posargs: list[str]) -> str:
    known = {"toxinidir": root, "envname": env, "posargs": " ".join(shlex.quote(a) for a in posargs),
             "/": "/", ":": ":"}
    out: list[str] = []
    i = 0
    while i < len(line):
        if line[i] == "{":
            end = line.find("}", i)
            if end > 0:
                name, _, default = line[i + 1 : end].partition(":")
                if name in known and (name != "posargs" or posargs or not default):
                    out.append(known[name])
                elif name == "posargs":
                    out.append(default)
                else:
                    out.append(UNKNOWN_VALUE)
                i = end + 1
                continue
        out.append(line[i])
        i += 1
    return "".join(out)


def _sections(path: str, text: str) -> dict[str, dict[str, str]] | None:
    if path.endswith(".toml"):
        marker = "legacy_tox_ini"
        k = text.find(marker)
        if k < 0:
            return {}
        start = text.find('"""', k)
        end = text.find('"""', start + 3)
        if start < 0 or end < 0:
            return None
        text = text[start + 3 : end]
    import configparser

    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return None
    return {name: dict(parser[name]) for name in parser.sections()}


def handle_poetry(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    """``poetry run CMD ARGS``: CMD runs, in the project's virtualenv."""
    out.commands.append(cmd)
    values = [w.value for w in cmd.words]
    i = 1
    while i < len(values) and values[i].startswith("-"):
        i += 2 if values[i] in ("-C", "--directory", "-P", "--project") else 1
    if i < len(values) and values[i] == "run":
        inner_command(cmd, i + 1, "poetry run", out, reader, depth)
