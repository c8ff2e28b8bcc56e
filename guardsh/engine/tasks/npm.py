"""``npm run X``, ``npm test``/``start``/``stop``/``restart``, ``npm install``/``ci`` in a project,
``pnpm X``, ``yarn X``: the package.json scripts they run, with their pre and post scripts.

npm finds the project as the nearest directory holding a package.json (``--prefix`` names it);
pnpm and yarn take ``-C``/``--dir`` and ``--cwd``.  A script runs with ``sh -c`` in the project's
directory, the arguments after ``--`` appended.  pnpm and yarn run a script by its bare name when
the name is not one of their own commands.  Lifecycle scripts of dependencies cannot be known
here; the project's own are.
"""
from __future__ import annotations

import os
import shlex

from guardsh.engine.expansion import Expansion, Reader
from guardsh.engine.model import Command
from guardsh.engine.tasks.common import cannot_read, find_up, run_shell

RUN = frozenset({"run", "run-script", "rum", "urn"})
SHORTCUTS = {"test": "test", "t": "test", "tst": "test", "start": "start", "stop": "stop", "restart": "restart"}
INSTALL = frozenset({"install", "i", "in", "ins", "inst", "insta", "instal", "isnt", "isnta", "isntal", "add", "ci",
                     "clean-install", "install-clean", "isntall-clean"})
LIFECYCLE = ("preinstall", "install", "postinstall", "prepublish", "preprepare", "prepare", "postprepare")
PNPM_COMMANDS = frozenset("""add audit bin c ci config create deploy dlx doctor env exec fetch help i import init
install install-test it licenses link list ln ls outdated pack patch patch-commit patch-remove prune publish
rb rebuild recursive remove rm root run server setup store t test un uninstall unlink up update why
start restart stop dedupe cat-file cat-index find-hash self-update""".split())
YARN_COMMANDS = frozenset("""add audit autoclean bin cache check config constraints create dedupe dlx exec explain
generate-lock-entry global help import info init install licenses link list login logout node npm outdated owner
pack patch patch-commit plugin policies publish rebuild remove run search set stage tag team unlink unplug up
upgrade upgrade-interactive version versions why workspace workspaces test start restart stop""".split())
VALUE_OPTIONS = frozenset({"--prefix", "-C", "--dir", "--cwd", "-w", "--workspace", "--filter", "-F",
                           "--script-shell", "--loglevel", "--registry", "--userconfig"})


def handle_npm(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    out.commands.append(cmd)
    prog = cmd.program
    words = cmd.words
    directory = cmd.cwd
    args: list[str] = []
    extra: list[str] = []
    ignore_scripts = False
    workspaces = False
    dynamic = False
    i = 1
    while i < len(words):
        w = words[i]
        v = w.value
        i += 1
        if v == "--":
            extra = [x.value for x in words[i:]]
            dynamic = dynamic or any(x.dynamic for x in words[i:])
            break
        if w.dynamic:
            dynamic = True
        name, eq, value = v.partition("=")
        if name in VALUE_OPTIONS:
            if not eq:
                value = words[i].value if i < len(words) else ""
                i += 1
            if name in ("--prefix", "-C", "--dir", "--cwd") and directory is not None:
                directory = os.path.normpath(os.path.join(directory, value))
            elif name in ("-w", "--workspace", "--filter", "-F"):
                workspaces = True
            continue
        if v in ("--ignore-scripts",):
            ignore_scripts = True
            continue
        if v in ("-ws", "--workspaces", "-r", "--recursive"):
            workspaces = True
            continue
        if v.startswith("-"):
            continue
        args.append(v)
    scripts_to_run = _what_runs(prog, args, extra)
    if scripts_to_run is None or ignore_scripts:
        return
    names, passed = scripts_to_run
    if workspaces or dynamic or directory is None:
        cannot_read(cmd, "package scripts of workspaces or of a package named at run time", out, reader)
        return
    package = find_up(directory, ("package.json",), reader, up=prog == "npm")
    if package is None:
        return  # no package.json: npm reports it, and runs nothing
    scripts = _scripts(reader.read(package))
    if scripts is None:
        if reader.exists(package) is False:
            return
        cannot_read(cmd, f"the scripts of {package}", out, reader)
        return
    root = os.path.dirname(package)
    main = names[len(names) // 2] if len(names) == 3 else None
    for name in names:
        body = scripts.get(name)
        if body is None:
            if name == "restart" and names == ["prerestart", "restart", "postrestart"]:
                for fallback in ("stop", "start"):
                    if fallback in scripts:
                        run_shell(cmd, scripts[fallback], f"{prog} script {fallback}", root, out, reader, depth)
            continue
        text = body
        if name == main and passed:
            text = body + " " + " ".join(shlex.quote(a) for a in passed)
        run_shell(cmd, text, f"{prog} script {name}", root, out, reader, depth)


def _what_runs(prog: str, args: list[str], extra: list[str]) -> tuple[list[str], list[str]] | None:
    """The script names a command runs (pre, main, post), and the arguments passed to the main one."""
    if not args:
        return (list(LIFECYCLE), []) if prog == "yarn" else None  # bare yarn installs
    sub = args[0]
    if sub in RUN:
        if len(args) < 2:
            return None  # lists the scripts
        name = args[1]
        return [f"pre{name}", name, f"post{name}"], args[2:] + extra
    if sub in SHORTCUTS:
        name = SHORTCUTS[sub]
        return [f"pre{name}", name, f"post{name}"], args[1:] + extra
    if sub in INSTALL and len(args) == 1:
        return list(LIFECYCLE), []  # installing the project itself runs its own lifecycle scripts
    if prog == "pnpm" and sub not in PNPM_COMMANDS or prog == "yarn" and sub not in YARN_COMMANDS:
        return [f"pre{sub}", sub, f"post{sub}"], args[1:] + extra  # `pnpm build`: a script by its name
    return None


def _scripts(text: str | None) -> dict[str, str] | None:
    if text is None:
        return None
    import json

    try:
        doc = json.loads(text)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    scripts = doc.get("scripts", {})
    if not isinstance(scripts, dict):
        return None
    return {str(k): str(v) for k, v in scripts.items() if isinstance(v, str)}
