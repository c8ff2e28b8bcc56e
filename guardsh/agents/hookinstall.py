"""``guardsh hook install|uninstall AGENT [--project|--user]``: put guardsh in an agent's hook settings.

The agent's settings file is read, guardsh's own entry is added (or updated, or removed) and
everything else in it is kept as it was: other hooks, other events, other settings.  A file that
is not valid JSON, or whose hooks are not shaped as the agent documents them, is left untouched
and reported.  Both commands are idempotent and print what they changed (``--dry-run``: what
they would change).  guardsh's entry is recognised by its command, ``... guardsh hook AGENT ...``.

- claude-code: ``~/.claude/settings.json`` (``--project``: ``.claude/settings.json``),
  ``hooks.PreToolUse`` group with matcher ``Bash``, timeout 600 s.
- codex: ``$CODEX_HOME/hooks.json``, default ``~/.codex/hooks.json`` (``.codex/hooks.json``),
  ``hooks.PreToolUse`` group with matcher ``Bash``, timeout 600 s.
- gemini: ``~/.gemini/settings.json`` (``.gemini/settings.json``), ``hooks.BeforeTool`` group
  with matcher ``run_shell_command``, timeout 600000 ms.
- cursor: ``~/.cursor/hooks.json`` (``.cursor/hooks.json``), ``hooks.beforeShellExecution``
  entry (``version: 1`` added to a new file).

``--project`` means the enclosing git work tree, else the current directory.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import sys
from typing import Any

from guardsh.agents.files import replace_text
from guardsh.agents.hookspec import AGENTS, ASK_MODES, EVENTS, MATCHER

# how long an agent waits for the hook: longer than the approver's default wait (300 s)
TIMEOUT_S = 600
NOTES = {
    "codex": "Codex runs a hook from hooks.json only once it is trusted; guardsh recorded that trust in "
             "Codex's config.toml ([hooks.state.\"...\"] trusted_hash), for exactly this hook. "
             "Check with /hooks; a changed hook must be installed (or trusted) again.",
    "gemini": "Older Gemini CLI versions run hooks only with \"tools\": {\"enableHooks\": true} and "
              "\"hooks\": {\"enabled\": true} in settings.json; check with /hooks.",
    "cursor": "Restart Cursor (or reload the window) so that it reads hooks.json again.",
}


class SettingsError(Exception):
    """The settings file cannot be merged safely; it was not changed."""


def settings_path(agent: str, scope: str, home: str | None = None, cwd: str | None = None,
                  env: dict[str, str] | None = None) -> str:
    env = dict(os.environ) if env is None else env
    home = home or env.get("HOME") or os.path.expanduser("~")
    cwd = project_root(cwd or os.getcwd())
    if agent == "claude-code":
        return os.path.join(cwd if scope == "project" else home, ".claude", "settings.json")
    if agent == "codex":
        if scope == "project":
            return os.path.join(cwd, ".codex", "hooks.json")
        return os.path.join(env.get("CODEX_HOME") or os.path.join(home, ".codex"), "hooks.json")
    if agent == "gemini":
        return os.path.join(cwd if scope == "project" else home, ".gemini", "settings.json")
    return os.path.join(cwd if scope == "project" else home, ".cursor", "hooks.json")


def project_root(cwd: str) -> str:
    """The project a ``--project`` install is for: the enclosing git work tree, else ``cwd``."""
    d = os.path.abspath(cwd)
    while True:
        if os.path.exists(os.path.join(d, ".git")):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            return os.path.abspath(cwd)
        d = parent


def launcher_path() -> str:
    """The guardsh the agent should run: the native client when install.sh built one (it answers
    allowed commands through the resident classifier), else this process's launcher, else
    ``guardsh`` on PATH."""
    from guardsh.paths import native_client

    client = native_client()
    if client:
        return client
    argv0 = sys.argv[0] if sys.argv else ""
    if os.path.basename(argv0).startswith("guardsh") and os.path.isfile(argv0):
        return os.path.abspath(argv0)
    found = shutil.which("guardsh")
    return os.path.abspath(found) if found else "guardsh"


def hook_command(agent: str, guardsh: str, ask: str | None = None) -> str:
    cmd = f"{shlex.quote(guardsh)} hook {agent}"
    return cmd + f" --ask {ask}" if ask else cmd


def is_own(command: object, agent: str) -> bool:
    """Whether a hook command is guardsh's hook for this agent (any launcher path)."""
    if not isinstance(command, str):
        return False
    return re.search(r"(?:^|[\s/'\"])guardsh['\"]?\s+hook\s+" + re.escape(agent) + r"(?:\s|$)", command) is not None


def own_entry(agent: str, command: str) -> dict[str, Any]:
    if agent == "cursor":
        return {"command": command}
    hook: dict[str, Any] = {"type": "command", "command": command}
    if agent == "gemini":
        hook = {"name": "guardsh", **hook, "timeout": TIMEOUT_S * 1000, "description": "guardsh: classify shell commands"}
    else:
        hook["timeout"] = TIMEOUT_S
    return {"matcher": MATCHER[agent], "hooks": [hook]}


# --- reading and writing ------------------------------------------------------------------

def load(path: str) -> dict[str, Any] | None:
    """The settings object, or None when the file does not exist."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise SettingsError(f"{path}: cannot read it ({e.strerror or e})") from None
    if not text.strip():
        return {}
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise SettingsError(f"{path}: not valid JSON ({e}); it was left unchanged, add the hook by hand") from None
    if not isinstance(doc, dict):
        raise SettingsError(f"{path}: the settings are a JSON {type(doc).__name__}, not an object; left unchanged")
    return doc


def save(path: str, doc: dict[str, Any]) -> None:
    """Write atomically, keeping the file's mode (new files: 0644, directories made as needed)."""
    replace_text(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n", 0o644)


def _event_list(doc: dict[str, Any], agent: str, path: str, create: bool) -> list[Any] | None:
    hooks = doc.get("hooks")
    if hooks is None:
        if not create:
            return None
        hooks = doc["hooks"] = {}
    if not isinstance(hooks, dict):
        raise SettingsError(f"{path}: \"hooks\" is not an object; left unchanged")
    event = EVENTS[agent]
    entries = hooks.get(event)
    if entries is None:
        if not create:
            return None
        entries = hooks[event] = []
    if not isinstance(entries, list):
        raise SettingsError(f"{path}: \"hooks.{event}\" is not a list; left unchanged")
    return entries


def _own_commands(agent: str, entries: list[Any]) -> list[tuple[int, int | None]]:
    """(entry index, hook index or None for Cursor's flat entries) of guardsh's own hooks."""
    found: list[tuple[int, int | None]] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        if agent == "cursor" or "command" in entry:
            if is_own(entry.get("command"), agent):
                found.append((i, None))
            continue
        inner = entry.get("hooks")
        if isinstance(inner, list):
            for j, hook in enumerate(inner):
                if isinstance(hook, dict) and is_own(hook.get("command"), agent):
                    found.append((i, j))
    return found


def install(agent: str, path: str, command: str, write: bool = True) -> list[str]:
    """Add or update guardsh's hook in ``path``; returns what changed (empty: nothing to do)."""
    doc = load(path)
    created = doc is None
    doc = {} if doc is None else doc
    if agent == "cursor" and "version" not in doc:
        doc["version"] = 1
    entries = _event_list(doc, agent, path, create=True)
    assert entries is not None
    event = EVENTS[agent]
    want = own_entry(agent, command)
    found = _own_commands(agent, entries)
    changes: list[str] = []
    if found:
        i, j = found[0]
        current = entries[i] if j is None else entries[i]["hooks"][j]
        wanted = want if agent == "cursor" else want["hooks"][0]
        if j is not None and entries[i].get("matcher") != want["matcher"]:
            entries[i]["matcher"] = want["matcher"]
            changes.append(f"set the matcher of guardsh's {event} hook to {want['matcher']!r}")
        if any(current.get(k) != v for k, v in wanted.items()):
            old = current.get("command")
            current.update(wanted)
            changes.append(f"updated guardsh's {event} hook: {old!r} -> {command!r}")
        for i2, j2 in reversed(found[1:]):  # duplicates of our own entry
            _remove(entries, i2, j2)
            changes.append(f"removed a duplicate guardsh {event} hook")
    else:
        entries.append(want)
        where = f" (matcher {want['matcher']!r})" if "matcher" in want else ""
        changes.append(f"added {event} hook{where}: {command}")
    if changes:
        if created:
            changes.insert(0, f"created {path}")
        if write:
            save(path, doc)
    return changes


def uninstall(agent: str, path: str, write: bool = True) -> list[str]:
    """Remove guardsh's own hook from ``path``, and only it; returns what changed."""
    doc = load(path)
    if doc is None:
        return []
    entries = _event_list(doc, agent, path, create=False)
    if entries is None:
        return []
    found = _own_commands(agent, entries)
    if not found:
        return []
    event = EVENTS[agent]
    changes = []
    for i, j in reversed(found):
        cmd = entries[i]["command"] if j is None else entries[i]["hooks"][j]["command"]
        _remove(entries, i, j)
        changes.append(f"removed {event} hook: {cmd}")
    hooks = doc["hooks"]
    if not entries:
        del hooks[event]
        if not hooks:
            del doc["hooks"]
    if write:
        save(path, doc)
    return list(reversed(changes))


def _remove(entries: list[Any], i: int, j: int | None) -> None:
    if j is None:
        del entries[i]
        return
    inner = entries[i]["hooks"]
    del inner[j]
    if not inner:  # the group held only guardsh's hook
        del entries[i]


def codex_trust_keys(path: str) -> list[str]:
    """Codex's trust keys of guardsh's hooks in ``path`` (their positions)."""
    from guardsh.agents import codextrust

    try:
        doc = load(path)
    except SettingsError:
        return []
    entries = _event_list(doc, "codex", path, create=False) if doc else None
    return [codextrust.state_key(path, EVENTS["codex"], i, j or 0) for i, j in _own_commands("codex", entries or [])]


def codex_trust(path: str, command: str, write: bool) -> list[str]:
    """Record Codex's trust for guardsh's hook, as the user would with /hooks: installing it is
    the user's decision to trust it."""
    from guardsh.agents import codextrust

    config = codextrust.config_path(path)
    event = EVENTS["codex"]
    doc = load(path) if write else None
    if doc is None:
        doc = {"hooks": {event: [own_entry("codex", command)]}}
    entries = _event_list(doc, "codex", path, create=False) or []
    found = _own_commands("codex", entries)
    if not found:
        return []
    i, j = found[0]
    j = j or 0
    handler = entries[i]["hooks"][j]
    digest = codextrust.identity_hash(event, entries[i].get("matcher"), handler)
    return codextrust.record(config, codextrust.state_key(path, event, i, j), digest, write)


# --- command line ---------------------------------------------------------------------------

def build_parser(verb: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"guardsh hook {verb}",
                                description=f"{verb.capitalize()} guardsh's pre-execution hook in an agent's settings.")
    p.add_argument("agent", choices=AGENTS)
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--user", dest="scope", action="store_const", const="user",
                       help="the user's settings (default)")
    scope.add_argument("--project", dest="scope", action="store_const", const="project",
                       help="the settings of the project here (the enclosing git work tree, else this directory)")
    p.add_argument("--settings", metavar="FILE", help="this settings file instead")
    p.add_argument("--dry-run", action="store_true", help="show what would change, change nothing")
    if verb == "install":
        p.add_argument("--guardsh", metavar="PATH", help="the guardsh launcher the agent runs (default: this one)")
        p.add_argument("--ask", choices=ASK_MODES, help="what an 'ask' becomes (default: auto; see guardsh hook --help)")
    p.set_defaults(scope="user")
    return p


def main(args: list[str]) -> int:
    verb = args[0]
    opts = build_parser(verb).parse_args(args[1:])
    path = os.path.abspath(opts.settings) if opts.settings else settings_path(opts.agent, opts.scope)
    try:
        if verb == "install":
            guardsh = opts.guardsh or launcher_path()
            command = hook_command(opts.agent, guardsh, opts.ask)
            changes = install(opts.agent, path, command, write=not opts.dry_run)
            if opts.agent == "codex":
                changes += codex_trust(path, command, write=not opts.dry_run)
        else:
            trusted = codex_trust_keys(path) if opts.agent == "codex" else []
            changes = uninstall(opts.agent, path, write=not opts.dry_run)
            if trusted:
                from guardsh.agents import codextrust

                for key in trusted:
                    changes += codextrust.forget(codextrust.config_path(path), key, write=not opts.dry_run)
    except SettingsError as e:
        sys.stderr.write(f"guardsh hook {verb}: {e}\n")
        return 1
    except OSError as e:
        sys.stderr.write(f"guardsh hook {verb}: {path}: {e.strerror or e}\n")
        return 1
    prefix = "(dry run, not written) " if opts.dry_run else ""
    if not changes:
        what = "already installed" if verb == "install" else "not installed"
        sys.stdout.write(f"{path}: guardsh's {opts.agent} hook is {what}; nothing changed\n")
    else:
        for change in changes:
            sys.stdout.write(f"{path}: {prefix}{change}\n")
    if verb == "install" and opts.agent in NOTES:
        sys.stdout.write(f"note: {NOTES[opts.agent]}\n")
    if verb == "install" and not os.path.isabs(guardsh):
        sys.stdout.write("note: no guardsh launcher was found by path; the agent must find 'guardsh' on its PATH "
                         "(or pass --guardsh PATH)\n")
    return 0

