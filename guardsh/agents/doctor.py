"""``guardsh doctor [--json]``: on this machine, which agents are installed, which of them are
guarded and how, and whether the approver, the rules and the audit log work.  Each gap comes with
its fix.  Exit status 0 when nothing needs fixing, 1 otherwise.

How each agent is guarded is what the conformance suite proves (tests/agents/conformance):
Claude Code by ``CLAUDE_CODE_SHELL``/``SHELL`` or its hook; Codex by its login shell (from
/etc/passwd) or its hook *and* Codex's trust for it; Gemini CLI by ``bash`` on PATH or its hook;
aider by ``SHELL`` (in a terminal only); Cursor by its hook.
"""
from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import sys
from typing import Any

from guardsh.agents import codextrust, hookinstall
from guardsh.agents.hookspec import EVENTS
from guardsh.shell.execute import is_guardsh

AGENTS = (  # (key, display name, programs to look for, hook agent or None)
    ("claude-code", "Claude Code", ("claude",), "claude-code"),
    ("codex", "Codex", ("codex",), "codex"),
    ("gemini", "Gemini CLI", ("gemini",), "gemini"),
    ("aider", "aider", ("aider",), None),
    ("cursor", "Cursor", ("cursor", "cursor-agent"), "cursor"),
)


def _guardsh(path: str | None) -> bool:
    if not path:
        return False
    found = path if "/" in path else shutil.which(path)
    return bool(found) and is_guardsh(found, (sys.argv[0], os.environ.get("GUARDSH_LAUNCHER", "")))


def hook_state(agent: str, env: dict[str, str]) -> dict[str, Any]:
    """Is guardsh's hook in the agent's user settings (and, for Codex, trusted)?"""
    path = hookinstall.settings_path(agent, "user", env=env)
    state: dict[str, Any] = {"settings": path, "installed": False}
    try:
        doc = hookinstall.load(path)
    except hookinstall.SettingsError as e:
        state["error"] = str(e)
        return state
    try:
        entries = hookinstall._event_list(doc or {}, agent, path, create=False) or []
    except hookinstall.SettingsError as e:
        state["error"] = str(e)
        return state
    found = hookinstall._own_commands(agent, entries)
    state["installed"] = bool(found)
    if found and agent == "codex":
        i, j = found[0]
        handler = entries[i]["hooks"][j or 0]
        digest = codextrust.identity_hash(EVENTS["codex"], entries[i].get("matcher"), handler)
        key = codextrust.state_key(path, EVENTS["codex"], i, j or 0)
        try:
            with open(codextrust.config_path(path, env), encoding="utf-8") as f:
                text = f.read()
        except OSError:
            text = ""
        state["trusted"] = f"[hooks.state.{json.dumps(key)}]" in text and f'"{digest}"' in text
    return state


def check_agent(key: str, name: str, programs: tuple[str, ...], hook: str | None,
                env: dict[str, str]) -> dict[str, Any]:
    found = next((shutil.which(p) for p in programs if shutil.which(p)), None)
    out: dict[str, Any] = {"agent": key, "name": name, "installed": bool(found), "path": found, "guarded_by": [],
                           "fixes": []}
    hooks = hook_state(hook, env) if hook else None
    if hooks is not None:
        out["hook"] = hooks
        if hooks.get("installed") and (key != "codex" or hooks.get("trusted")):
            out["guarded_by"].append("hook")
    if key == "claude-code":
        for var in ("CLAUDE_CODE_SHELL", "SHELL"):
            if _guardsh(env.get(var)):
                out["guarded_by"].append(var)
                break
        fix = "guardsh hook install claude-code, or run it as: guardsh wrap -- claude"
    elif key == "codex":
        try:
            login = pwd.getpwuid(os.getuid()).pw_shell
        except KeyError:
            login = ""
        if _guardsh(login):
            out["guarded_by"].append("login shell")
        if hooks and hooks.get("installed") and not hooks.get("trusted"):
            out["fixes"].append("the hook is installed but Codex does not trust it (codex exec skips it): "
                                "guardsh hook install codex (records the trust), or trust it with /hooks in codex")
        fix = ("guardsh hook install codex, or make guardsh the login shell (install.sh with GUARDSH_SYSTEM_LINKS=1, "
               "then chsh -s /usr/local/lib/guardsh/bin/bash); guardsh wrap cannot guard Codex")
    elif key == "gemini":
        if _guardsh("bash"):
            out["guarded_by"].append("bash on PATH")
        fix = "guardsh hook install gemini, or run it as: guardsh wrap -- gemini"
    elif key == "aider":
        if _guardsh(env.get("SHELL")):
            out["guarded_by"].append("SHELL (in a terminal; without one aider runs /bin/sh)")
        fix = "run it as: guardsh wrap -- aider (guards /run in a terminal)"
    else:
        fix = "guardsh hook install cursor"
    if found and not out["guarded_by"]:
        out["fixes"].append(fix)
    return out


def check_approver(env: dict[str, str]) -> dict[str, Any]:
    from guardsh.approval import protocol

    path = protocol.socket_path(env)
    out: dict[str, Any] = {"socket": path, "reachable": False}
    if os.path.exists(path):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.connect(path)
            out["reachable"] = True
        except OSError as e:
            out["error"] = e.strerror or str(e)
        finally:
            s.close()
    if not out["reachable"]:
        out["fix"] = "start the approver in a terminal of your own (not an agent's): guardsh approver"
    return out


def check_rules() -> dict[str, Any]:
    from guardsh.engine.rules import RuleError, load_rules, rule_dirs

    try:
        rules = load_rules()
    except RuleError as e:
        return {"ok": False, "problems": e.problems[:10], "fix": "fix the rule files named above (guardsh rules test)"}
    return {"ok": True, "dirs": [d for d in rule_dirs() if os.path.isdir(d)], "files": len(rules.files)}


def check_audit() -> dict[str, Any]:
    from guardsh.audit import trail
    from guardsh.engine.config import ConfigError, load_config

    try:
        config = load_config()
    except ConfigError as e:
        return {"ok": False, "error": str(e), "fix": "fix the config file named above"}
    path = trail.log_path(config)
    directory = os.path.dirname(path) or "."
    probe = directory
    while not os.path.exists(probe) and os.path.dirname(probe) != probe:
        probe = os.path.dirname(probe)  # the directory is made on first write
    if os.path.exists(path):
        writable = os.path.isfile(path) and os.access(path, os.W_OK)
    else:
        writable = os.path.isdir(probe) and os.access(probe, os.W_OK | os.X_OK)
    out: dict[str, Any] = {"ok": writable, "log": path}
    if not writable:
        out["fix"] = (f"make {path} writable, or point 'audit_log:' in ~/.config/guardsh/config.yaml somewhere "
                      "writable (destructive commands are refused while the log cannot be written)")
    return out


def report(env: dict[str, str] | None = None) -> dict[str, Any]:
    env = dict(os.environ) if env is None else env
    agents = [check_agent(k, n, p, h, env) for k, n, p, h in AGENTS]
    out = {"agents": agents, "approver": check_approver(env), "rules": check_rules(), "audit": check_audit()}
    gaps = [f for a in agents if a["installed"] for f in a["fixes"]]
    gaps += [s["fix"] for s in (out["approver"], out["rules"], out["audit"]) if s.get("fix")]
    out["gaps"] = gaps
    return out


def main(args: list[str]) -> int:
    if any(a in ("-h", "--help") for a in args):
        sys.stdout.write("usage: guardsh doctor [--json]\n\n" + __doc__.split("\n\n", 1)[0] + "\n")
        return 0
    unknown = [a for a in args if a != "--json"]
    if unknown:
        sys.stderr.write(f"guardsh doctor: unknown argument {unknown[0]!r} (usage: guardsh doctor [--json])\n")
        return 2
    data = report()
    if "--json" in args:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return 1 if data["gaps"] else 0
    lines = []
    for a in data["agents"]:
        if not a["installed"]:
            lines.append(f"  {a['name']:<12} not installed")
            continue
        how = "guarded by " + ", ".join(a["guarded_by"]) if a["guarded_by"] else "NOT GUARDED"
        lines.append(f"  {a['name']:<12} {a['path']}: {how}")
        lines += [f"      fix: {f}" for f in a["fixes"]]
    ap = data["approver"]
    lines.append(f"  approver     {'reachable' if ap['reachable'] else 'not running'} ({ap['socket']})")
    if ap.get("fix"):
        lines.append(f"      fix: {ap['fix']}")
    ru = data["rules"]
    lines.append(f"  rules        {'load' if ru['ok'] else 'DO NOT LOAD: every command is refused'}")
    lines += [f"      {p}" for p in ru.get("problems", [])]
    if ru.get("fix"):
        lines.append(f"      fix: {ru['fix']}")
    au = data["audit"]
    lines.append(f"  audit log    {'writable' if au['ok'] else 'NOT WRITABLE'} ({au.get('log', au.get('error'))})")
    if au.get("fix"):
        lines.append(f"      fix: {au['fix']}")
    sys.stdout.write("guardsh doctor\n" + "\n".join(lines) + "\n")
    sys.stdout.write(f"{len(data['gaps'])} thing(s) to fix\n" if data["gaps"] else "nothing to fix\n")
    return 1 if data["gaps"] else 0
