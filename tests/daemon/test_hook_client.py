"""``guardsh hook AGENT`` through the native client: the daemon's answer for allowed commands,
byte for byte what the Python hook prints; everything else goes to the Python hook with the same
stdin."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import build_client

FELL_BACK = b"guardsh-client: python path:"


def claude(command: str, cwd: Path) -> bytes:
    return json.dumps({"session_id": "s-1", "cwd": str(cwd), "hook_event_name": "PreToolUse", "tool_name": "Bash",
                       "tool_input": {"command": command}}).encode()


def gemini(command: str, cwd: Path) -> bytes:
    return json.dumps({"session_id": "s-2", "cwd": str(cwd), "hook_event_name": "BeforeTool",
                       "tool_name": "run_shell_command", "tool_input": {"command": command}}).encode()


@pytest.fixture()
def client(tmp_path: Path, guardsh_bin: Path, socket_dir: Path) -> Path:
    return build_client(tmp_path / "client", guardsh_bin, socket_dir)


def hook(program: Path, agent: str, data: bytes, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(program), "hook", agent], input=data, env=dict(env, GUARDSH_CLIENT_DEBUG="1"),
                          cwd=cwd, capture_output=True, timeout=60)


@pytest.mark.parametrize("agent, make, command, fast", [
    ("claude-code", claude, "ls -la", True),
    ("gemini", gemini, "git status", True),
    ("claude-code", claude, "git push --force origin main", False),
    ("gemini", gemini, "rm -rf ~", False),
    ("claude-code", None, "", False),  # not JSON
])
def test_hook_answers_like_python(agent: str, make, command: str, fast: bool, client: Path, guardsh_bin: Path,  # type: ignore[no-untyped-def]
                                  start_daemon, socket_dir: Path, guardsh_env, tmp_path: Path) -> None:
    start_daemon(socket_dir)
    data = make(command, tmp_path) if make else b"{not json"
    got = hook(client, agent, data, guardsh_env, tmp_path)
    want = hook(guardsh_bin, agent, data, guardsh_env, tmp_path)
    assert (FELL_BACK not in got.stderr) == fast, got.stderr
    assert (got.returncode, got.stdout) == (want.returncode, want.stdout)


def test_hook_without_daemon(client: Path, guardsh_bin: Path, guardsh_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for command in ("ls", "git push --force origin main"):
        data = claude(command, tmp_path)
        got = hook(client, "claude-code", data, guardsh_env, tmp_path)
        want = hook(guardsh_bin, "claude-code", data, guardsh_env, tmp_path)
        assert FELL_BACK in got.stderr and (got.returncode, got.stdout) == (want.returncode, want.stdout)


def test_hook_allow_is_audited(client: Path, start_daemon, socket_dir: Path, guardsh_env, sandbox_home: Path,  # type: ignore[no-untyped-def]
                               tmp_path: Path) -> None:
    start_daemon(socket_dir)
    got = hook(client, "claude-code", claude("echo hook-audited", tmp_path), guardsh_env, tmp_path)
    assert FELL_BACK not in got.stderr and got.stdout == b""
    log = (sandbox_home / ".local" / "state" / "guardsh" / "audit.jsonl").read_text().splitlines()
    record = json.loads([line for line in log if "hook-audited" in line][-1])
    assert record["hook"] == "claude-code" and record["session"] == "s-1" and record["outcome"] == "exec"
