"""``guardsh hook install|uninstall``: merging agents' settings files that already hold other hooks."""
from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

from guardsh.agents.hookinstall import SettingsError, install, is_own, settings_path, uninstall

G = "/opt/guardsh/bin/guardsh"

CLAUDE_SETTINGS: dict[str, Any] = {
    "permissions": {"allow": ["Bash(npm run test:*)"], "deny": ["Read(./.env)"]},
    "env": {"FOO": "1"},
    "hooks": {
        "PreToolUse": [
            {"matcher": "Bash", "hooks": [{"type": "command", "command": "~/bin/log-bash.sh", "timeout": 5}]},
            {"matcher": "Edit|Write", "hooks": [{"type": "command", "command": "prettier --check"}]},
        ],
        "PostToolUse": [{"matcher": "Write", "hooks": [{"type": "command", "command": "ruff format"}]}],
    },
}
CODEX_HOOKS: dict[str, Any] = {
    "hooks": {
        "SessionStart": [{"matcher": "startup|resume", "hooks": [{"type": "command", "command": "load-ctx"}]}],
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "python3 check.py",
                                                      "statusMessage": "Checking"}]}],
    }
}
GEMINI_SETTINGS: dict[str, Any] = {
    "theme": "GitHub", "tools": {"enableHooks": True},
    "hooks": {"enabled": True, "BeforeTool": [
        {"matcher": "write_file|replace", "hooks": [{"name": "secrets", "type": "command", "command": "scan.sh"}]}]},
}
CURSOR_HOOKS: dict[str, Any] = {
    "version": 1,
    "hooks": {"beforeShellExecution": [{"command": "./hooks/audit.sh"}],
              "afterFileEdit": [{"command": "./hooks/format.sh"}]},
}
ORIGINALS = {"claude-code": CLAUDE_SETTINGS, "codex": CODEX_HOOKS, "gemini": GEMINI_SETTINGS, "cursor": CURSOR_HOOKS}
EVENT = {"claude-code": "PreToolUse", "codex": "PreToolUse", "gemini": "BeforeTool", "cursor": "beforeShellExecution"}


def write(path: Path, doc: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=4) + "\n")
    return path


def read(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.mark.parametrize("agent", list(ORIGINALS))
def test_install_merges_and_uninstall_restores(tmp_path: Path, agent: str) -> None:
    path = write(tmp_path / "settings.json", ORIGINALS[agent])
    changes = install(agent, str(path), f"{G} hook {agent}")
    assert len(changes) == 1 and changes[0].startswith(f"added {EVENT[agent]} hook")
    doc = read(path)
    entries = doc["hooks"][EVENT[agent]]
    before = ORIGINALS[agent]["hooks"][EVENT[agent]]
    assert entries[:len(before)] == before  # the other hooks, untouched and first
    ours = entries[len(before):]
    assert len(ours) == 1
    if agent == "cursor":
        assert ours[0] == {"command": f"{G} hook cursor"}
    else:
        assert ours[0]["matcher"] == ("run_shell_command" if agent == "gemini" else "Bash")
        [hook] = ours[0]["hooks"]
        assert hook["type"] == "command" and hook["command"] == f"{G} hook {agent}"
        assert hook["timeout"] == (600_000 if agent == "gemini" else 600)
    for key in ORIGINALS[agent]:
        if key != "hooks":
            assert doc[key] == ORIGINALS[agent][key]
    # idempotent: the second install changes nothing, not even the file
    text = path.read_text()
    assert install(agent, str(path), f"{G} hook {agent}") == []
    assert path.read_text() == text
    # uninstall removes exactly what install added
    assert uninstall(agent, str(path)) == [f"removed {EVENT[agent]} hook: {G} hook {agent}"]
    assert read(path) == ORIGINALS[agent]
    assert uninstall(agent, str(path)) == []


def test_install_creates_a_missing_file_and_uninstall_leaves_it_empty(tmp_path: Path) -> None:
    path = tmp_path / "deep" / ".claude" / "settings.json"
    changes = install("claude-code", str(path), f"{G} hook claude-code")
    assert changes[0] == f"created {path}"
    assert read(path) == {"hooks": {"PreToolUse": [
        {"matcher": "Bash", "hooks": [{"type": "command", "command": f"{G} hook claude-code", "timeout": 600}]}]}}
    uninstall("claude-code", str(path))
    assert read(path) == {}


def test_cursor_file_gets_a_version(tmp_path: Path) -> None:
    path = tmp_path / "hooks.json"
    install("cursor", str(path), f"{G} hook cursor")
    assert read(path) == {"version": 1, "hooks": {"beforeShellExecution": [{"command": f"{G} hook cursor"}]}}


def test_moved_launcher_is_updated_not_duplicated(tmp_path: Path) -> None:
    path = write(tmp_path / "s.json", CLAUDE_SETTINGS)
    install("claude-code", str(path), "/old/guardsh hook claude-code")
    changes = install("claude-code", str(path), f"{G} hook claude-code")
    assert changes == [f"updated guardsh's PreToolUse hook: '/old/guardsh hook claude-code' -> '{G} hook claude-code'"]
    commands = [h["command"] for e in read(path)["hooks"]["PreToolUse"] for h in e["hooks"]]
    assert commands.count(f"{G} hook claude-code") == 1 and "/old/guardsh hook claude-code" not in commands


def test_duplicates_of_our_own_entry_are_removed(tmp_path: Path) -> None:
    doc = copy.deepcopy(CODEX_HOOKS)
    ours = {"matcher": "Bash", "hooks": [{"type": "command", "command": f"{G} hook codex", "timeout": 600}]}
    doc["hooks"]["PreToolUse"] += [copy.deepcopy(ours), copy.deepcopy(ours)]
    path = write(tmp_path / "hooks.json", doc)
    assert install("codex", str(path), f"{G} hook codex") == ["removed a duplicate guardsh PreToolUse hook"]
    assert len(read(path)["hooks"]["PreToolUse"]) == 2


def test_uninstall_keeps_other_hooks_in_a_shared_group(tmp_path: Path) -> None:
    """A user who moved guardsh's hook into their own Bash group keeps the rest of that group."""
    doc = copy.deepcopy(CLAUDE_SETTINGS)
    doc["hooks"]["PreToolUse"][0]["hooks"].append({"type": "command", "command": f"'{G}' hook claude-code --ask deny"})
    path = write(tmp_path / "s.json", doc)
    assert len(uninstall("claude-code", str(path))) == 1
    assert read(path) == CLAUDE_SETTINGS


def test_other_agents_entries_are_not_ours(tmp_path: Path) -> None:
    doc = copy.deepcopy(CLAUDE_SETTINGS)
    doc["hooks"]["PreToolUse"].append({"matcher": "Bash", "hooks": [{"type": "command", "command": f"{G} hook codex"}]})
    path = write(tmp_path / "s.json", doc)
    assert uninstall("claude-code", str(path)) == []
    assert read(path) == doc


@pytest.mark.parametrize("command,agent,own", [
    ("/usr/local/bin/guardsh hook claude-code", "claude-code", True),
    ("guardsh hook claude-code --ask approver", "claude-code", True),
    ("'/home/me/my tools/guardsh' hook cursor", "cursor", True),
    ("guardsh hook claude-codex", "claude-code", False),
    ("notguardsh hook cursor", "cursor", False),
    ("guardsh hook codex", "claude-code", False),
    ("echo guardsh", "claude-code", False),
    (None, "claude-code", False),
])
def test_is_own(command: Any, agent: str, own: bool) -> None:
    assert is_own(command, agent) is own


@pytest.mark.parametrize("content", ["{not json", "[]", '{"hooks": []}', '{"hooks": {"PreToolUse": {}}}'])
def test_unmergeable_settings_are_left_untouched(tmp_path: Path, content: str) -> None:
    path = tmp_path / "settings.json"
    path.write_text(content)
    with pytest.raises(SettingsError):
        install("claude-code", str(path), f"{G} hook claude-code")
    assert path.read_text() == content


def test_file_mode_is_kept(tmp_path: Path) -> None:
    path = write(tmp_path / "settings.json", GEMINI_SETTINGS)
    os.chmod(path, 0o600)
    install("gemini", str(path), f"{G} hook gemini")
    assert (os.stat(path).st_mode & 0o777) == 0o600


def test_settings_paths(tmp_path: Path) -> None:
    home, cwd = "/home/u", "/work/p"
    env = {"HOME": home}
    assert settings_path("claude-code", "user", env=env, cwd=cwd) == "/home/u/.claude/settings.json"
    assert settings_path("claude-code", "project", env=env, cwd=cwd) == "/work/p/.claude/settings.json"
    assert settings_path("codex", "user", env=env, cwd=cwd) == "/home/u/.codex/hooks.json"
    assert settings_path("codex", "user", env={"HOME": home, "CODEX_HOME": "/srv/codex"}, cwd=cwd) == "/srv/codex/hooks.json"
    assert settings_path("codex", "project", env=env, cwd=cwd) == "/work/p/.codex/hooks.json"
    assert settings_path("gemini", "user", env=env, cwd=cwd) == "/home/u/.gemini/settings.json"
    assert settings_path("cursor", "project", env=env, cwd=cwd) == "/work/p/.cursor/hooks.json"
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / "src" / "pkg").mkdir(parents=True)
    assert settings_path("claude-code", "project", env=env, cwd=str(tmp_path / "repo" / "src" / "pkg")) \
        == str(tmp_path / "repo" / ".claude" / "settings.json")


# --- through the command line ---------------------------------------------------------------

def test_cli_install_uninstall_project(run_guardsh, guardsh_env, guardsh_bin: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path / ".claude" / "settings.json", CLAUDE_SETTINGS)
    proc = run_guardsh("hook", "install", "claude-code", "--project", cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == f"{path}: added PreToolUse hook (matcher 'Bash'): {guardsh_bin} hook claude-code\n"
    proc = run_guardsh("hook", "install", "claude-code", "--project", cwd=str(tmp_path))
    assert b"already installed; nothing changed" in proc.stdout
    proc = run_guardsh("hook", "uninstall", "claude-code", "--project", cwd=str(tmp_path))
    assert proc.stdout.decode() == f"{path}: removed PreToolUse hook: {guardsh_bin} hook claude-code\n"
    assert read(path) == CLAUDE_SETTINGS


def test_cli_user_scope_dry_run_and_errors(run_guardsh, guardsh_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    home.mkdir()
    env = dict(guardsh_env, HOME=str(home))
    env.pop("CODEX_HOME", None)
    proc = run_guardsh("hook", "install", "codex", "--dry-run", "--guardsh", G, "--ask", "approver", env=env)
    assert proc.returncode == 0
    assert f"(dry run, not written) added PreToolUse hook (matcher 'Bash'): {G} hook codex --ask approver" \
        in proc.stdout.decode()
    assert not (home / ".codex").exists()
    proc = run_guardsh("hook", "install", "codex", "--guardsh", G, env=env)
    assert proc.returncode == 0 and (home / ".codex" / "hooks.json").exists()
    bad = home / ".gemini" / "settings.json"
    bad.parent.mkdir()
    bad.write_text("{ // a comment\n}")
    proc = run_guardsh("hook", "install", "gemini", env=env)
    assert proc.returncode == 1 and b"not valid JSON" in proc.stderr and b"left unchanged" in proc.stderr
    assert bad.read_text() == "{ // a comment\n}"
    proc = run_guardsh("hook", "install", "aider", env=env)
    assert proc.returncode == 2
