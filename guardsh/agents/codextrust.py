"""Codex's hook trust: ``codex exec`` runs a hook from hooks.json only once the user has trusted
it, and Codex keeps that trust in its ``config.toml``::

    [hooks.state."/home/me/.codex/hooks.json:pre_tool_use:0:0"]
    trusted_hash = "sha256:<hex>"

The key is the hooks file, the event, and the group and handler positions in it; the hash is the
SHA-256 of the hook's identity as canonical JSON (sorted keys, no spaces): the event, the group's
matcher and the handler as Codex normalises it (type, command, timeout, async).  A hook whose
identity changes (another command, timeout or matcher) is untrusted again, so trust is recorded
for exactly the hook ``guardsh hook install codex`` wrote.  The conformance suite checks this
against the real Codex (tests/agents/conformance).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from typing import Any

from guardsh.agents.files import replace_text

EVENT_KEYS = {"PreToolUse": "pre_tool_use"}
DEFAULT_TIMEOUT = 600


def identity_hash(event: str, matcher: str | None, handler: dict[str, Any]) -> str:
    normalised: dict[str, Any] = {"type": "command", "command": handler.get("command"),
                                  "timeout": max(1, int(handler.get("timeout") or DEFAULT_TIMEOUT)),
                                  "async": bool(handler.get("async", False))}
    if handler.get("statusMessage") is not None:
        normalised["statusMessage"] = handler["statusMessage"]
    ident: dict[str, Any] = {"event_name": EVENT_KEYS[event], "hooks": [normalised]}
    if matcher is not None:
        ident["matcher"] = matcher
    text = json.dumps(ident, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def state_key(hooks_json: str, event: str, group: int, handler: int) -> str:
    return f"{os.path.abspath(hooks_json)}:{EVENT_KEYS[event]}:{group}:{handler}"


def config_path(hooks_json: str, env: dict[str, str] | None = None) -> str:
    """Codex's user config, where trust lives: $CODEX_HOME/config.toml (default ~/.codex)."""
    env = dict(os.environ) if env is None else env
    home = env.get("CODEX_HOME") or os.path.join(env.get("HOME") or os.path.expanduser("~"), ".codex")
    return os.path.join(home, "config.toml")


def _header(key: str) -> str:
    return f"[hooks.state.{json.dumps(key)}]"


HEADER = re.compile(r'^\s*\[hooks\.state\.("(?:\\.|[^"\\])*")\]\s*$')


def record(config_toml: str, key: str, digest: str, write: bool = True) -> list[str]:
    """Set ``trusted_hash`` for ``key`` in config.toml (the rest of the file is kept as it is)."""
    try:
        with open(config_toml, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except FileNotFoundError:
        lines = []
    want = f'trusted_hash = "{digest}"'
    out: list[str] = []
    found = done = False
    section = False
    for line in lines:
        m = HEADER.match(line)
        if m or line.lstrip().startswith("["):
            if section and not done:
                out.append(want)
                done = True
            section = bool(m) and _key(m.group(1)) == key
            found = found or section
            out.append(line)
            continue
        if section and re.match(r"^\s*trusted_hash\s*=", line):
            if line.strip() == want:
                return []
            out.append(want)
            done = True
            continue
        out.append(line)
    if section and not done:
        while out and out[-1] == "":
            out.pop()
        out.append(want)
        out.append("")
    elif not found:
        while out and out[-1] == "":
            out.pop()
        out += ([""] if out else []) + [_header(key), want, ""]
    if write:
        _save(config_toml, "\n".join(out))
    return [f"recorded Codex's trust for guardsh's hook ({key})"]


def forget(config_toml: str, key: str, write: bool = True) -> list[str]:
    """Remove the trust section for ``key`` (guardsh's hook is gone)."""
    try:
        with open(config_toml, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except FileNotFoundError:
        return []
    out: list[str] = []
    skipping = removed = False
    for line in lines:
        m = HEADER.match(line)
        if m or line.lstrip().startswith("["):
            skipping = bool(m) and _key(m.group(1)) == key
            removed = removed or skipping
        if not skipping:
            out.append(line)
    if not removed:
        return []
    if write:
        _save(config_toml, "\n".join(out))
    return [f"removed Codex's trust for guardsh's hook ({key})"]


def _key(quoted: str) -> str:
    try:
        value = json.loads(quoted)
    except ValueError:
        return quoted.strip('"')
    return value if isinstance(value, str) else quoted


def _save(path: str, text: str) -> None:
    replace_text(path, text, 0o600)
