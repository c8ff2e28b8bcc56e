"""``guardsh hook AGENT``: each agent's pre-execution hook protocol, end to end through a launcher.

The inputs below are written from the agents' documented hook protocols (field names and shapes
as the docs give them); each test runs a real guardsh process, checks the exact answer on stdout
and the exit status, and reads the audit trail it wrote.
"""
from __future__ import annotations

import json
import queue
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from guardsh.approval import protocol

from approvehome import FakeConsole

ALLOW_CMD = "git status --short"
ASK_CMD = "git push --force origin main"  # destructive -> ask
DENY_CMD = "rm -rf /"  # catastrophic -> deny

# --- recorded-shape inputs, one builder per agent -----------------------------------------


def claude_input(command: Any, cwd: str = "/tmp", **extra: Any) -> dict[str, Any]:
    """Claude Code PreToolUse for the Bash tool."""
    doc = {
        "session_id": "abc123-claude-session", "transcript_path": "/home/u/.claude/projects/p/abc123.jsonl",
        "cwd": cwd, "permission_mode": "default", "hook_event_name": "PreToolUse", "tool_name": "Bash",
        "tool_input": {"command": command, "description": "what the command does", "timeout": 120000},
        "tool_use_id": "toolu_01ABC",
    }
    doc.update(extra)
    return doc


def codex_input(command: Any, cwd: str = "/tmp", **extra: Any) -> dict[str, Any]:
    """Codex PreToolUse for its shell tool (reported as Bash)."""
    doc = {
        "session_id": "0199-codex-session", "turn_id": "turn-7", "transcript_path": None, "cwd": cwd,
        "hook_event_name": "PreToolUse", "model": "gpt-5-codex", "permission_mode": "default",
        "tool_name": "Bash", "tool_use_id": "call_42", "tool_input": {"command": command},
    }
    doc.update(extra)
    return doc


def gemini_input(command: Any, cwd: str = "/tmp", **extra: Any) -> dict[str, Any]:
    """Gemini CLI BeforeTool for run_shell_command."""
    doc = {
        "session_id": "gemini-session-9", "transcript_path": "/home/u/.gemini/tmp/chats/s.json", "cwd": cwd,
        "hook_event_name": "BeforeTool", "timestamp": "2026-11-22T04:00:00.000Z",
        "tool_name": "run_shell_command", "tool_input": {"command": command, "description": "why"},
    }
    doc.update(extra)
    return doc


def cursor_input(command: Any, cwd: str = "/tmp", **extra: Any) -> dict[str, Any]:
    """Cursor beforeShellExecution."""
    doc = {
        "conversation_id": "cursor-conv-5", "generation_id": "gen-1", "hook_event_name": "beforeShellExecution",
        "workspace_roots": [cwd], "command": command, "cwd": cwd, "model": "auto", "cursor_version": "2.0.77",
    }
    doc.update(extra)
    return doc


INPUTS: dict[str, Callable[..., dict[str, Any]]] = {
    "claude-code": claude_input, "codex": codex_input, "gemini": gemini_input, "cursor": cursor_input,
}
SESSIONS = {"claude-code": "abc123-claude-session", "codex": "0199-codex-session", "gemini": "gemini-session-9",
            "cursor": "cursor-conv-5"}
AUDIT_AGENT = {"claude-code": "claude-code", "codex": "codex", "gemini": "gemini-cli", "cursor": "cursor"}


# --- fixtures -------------------------------------------------------------------------------

@pytest.fixture()
def hook_env(guardsh_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """No approver console (a private, empty runtime dir), an audit log of this test's own."""
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    env = dict(guardsh_env, XDG_STATE_HOME=str(tmp_path / "state"), XDG_RUNTIME_DIR=str(run))
    for var in ("CLAUDECODE", "CODEX_THREAD_ID", "CODEX_SANDBOX", "CODEX_MANAGED_BY_NPM", "GEMINI_CLI",
                "CURSOR_AGENT", "CURSOR_TRACE_ID", "GUARDSH_HOOK_ASK", "GUARDSH_SESSION", "GUARDSH_AGENT"):
        env.pop(var, None)
    return env


@pytest.fixture()
def hook(run_guardsh, hook_env):  # type: ignore[no-untyped-def]
    """hook(agent, payload or raw bytes, *options) -> (exit status, parsed stdout or None, stderr)."""

    def run(agent: str, payload: Any, *options: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        proc = run_guardsh("hook", agent, *options, input=data, env=env or hook_env)
        out = proc.stdout.decode()
        return proc.returncode, (json.loads(out) if out.strip() else None), proc.stderr.decode()

    return run


def audit_records(env: dict[str, str]) -> list[dict[str, Any]]:
    path = Path(env["XDG_STATE_HOME"]) / "guardsh" / "audit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


# --- allow ------------------------------------------------------------------------------------

@pytest.mark.parametrize("agent,expected", [
    ("claude-code", None),  # no output: Claude Code's own permission rules still apply
    ("codex", None),
    ("gemini", {"decision": "allow"}),
    ("cursor", {"permission": "allow"}),
])
def test_allow(hook, hook_env, agent: str, expected: Any) -> None:  # type: ignore[no-untyped-def]
    rc, out, err = hook(agent, INPUTS[agent](ALLOW_CMD))
    assert (rc, out) == (0, expected), err
    [rec] = audit_records(hook_env)
    assert rec["command"] == ALLOW_CMD and rec["decision"] == "allow" and rec["outcome"] == "exec"
    assert rec["session"] == SESSIONS[agent] and rec["agent"] == AUDIT_AGENT[agent] and rec["hook"] == agent
    assert rec["cwd"] == "/tmp"


# --- deny (policy) ---------------------------------------------------------------------------

def test_deny_claude_code(hook, hook_env) -> None:  # type: ignore[no-untyped-def]
    rc, out, _ = hook("claude-code", claude_input(DENY_CMD))
    assert rc == 0
    spec = out["hookSpecificOutput"]
    assert set(spec) == {"hookEventName", "permissionDecision", "permissionDecisionReason"}
    assert spec["hookEventName"] == "PreToolUse" and spec["permissionDecision"] == "deny"
    reason = spec["permissionDecisionReason"]
    assert "rm-protected-path" in reason and "catastrophic" in reason and "Do not retry" in reason
    [rec] = audit_records(hook_env)
    assert (rec["decision"], rec["risk"], rec["outcome"]) == ("deny", "catastrophic", "refused")
    assert rec["session"] == SESSIONS["claude-code"]


def test_deny_codex(hook) -> None:  # type: ignore[no-untyped-def]
    rc, out, _ = hook("codex", codex_input(DENY_CMD))
    assert rc == 0
    assert out["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert "rm-protected-path" in out["hookSpecificOutput"]["permissionDecisionReason"]


def test_deny_gemini(hook) -> None:  # type: ignore[no-untyped-def]
    rc, out, _ = hook("gemini", gemini_input(DENY_CMD))
    assert rc == 0 and set(out) == {"decision", "reason"}
    assert out["decision"] == "deny" and "rm-protected-path" in out["reason"]


def test_deny_cursor(hook) -> None:  # type: ignore[no-untyped-def]
    rc, out, _ = hook("cursor", cursor_input(DENY_CMD))
    assert rc == 0 and set(out) == {"permission", "user_message", "agent_message"}
    assert out["permission"] == "deny"
    assert "rm-protected-path" in out["user_message"] and "Do not retry" in out["agent_message"]


# --- ask, no approver console ----------------------------------------------------------------

def test_ask_without_console_goes_to_claude_codes_prompt(hook, hook_env) -> None:  # type: ignore[no-untyped-def]
    rc, out, _ = hook("claude-code", claude_input(ASK_CMD))
    assert rc == 0
    spec = out["hookSpecificOutput"]
    assert spec["permissionDecision"] == "ask"
    assert "git-push-force" in spec["permissionDecisionReason"]
    assert "no approver console" in spec["permissionDecisionReason"]
    [rec] = audit_records(hook_env)
    assert (rec["decision"], rec["outcome"], rec["approval"]) == ("ask", "agent-ask", "agent prompt")


def test_ask_without_console_goes_to_cursors_prompt(hook) -> None:  # type: ignore[no-untyped-def]
    rc, out, _ = hook("cursor", cursor_input(ASK_CMD))
    assert rc == 0 and out["permission"] == "ask"
    assert "git-push-force" in out["user_message"] and "git-push-force" in out["agent_message"]


@pytest.mark.parametrize("agent", ["codex", "gemini"])
def test_ask_without_console_denies_with_instructions(hook, hook_env, agent: str) -> None:  # type: ignore[no-untyped-def]
    """Codex and Gemini have no prompt a hook can hand the decision to: deny, say how to get approval."""
    rc, out, _ = hook(agent, INPUTS[agent](ASK_CMD))
    assert rc == 0
    reason = out["hookSpecificOutput"]["permissionDecisionReason"] if agent == "codex" else out["reason"]
    decision = out["hookSpecificOutput"]["permissionDecision"] if agent == "codex" else out["decision"]
    assert decision == "deny"
    assert "git-push-force" in reason and "guardsh approver" in reason
    [rec] = audit_records(hook_env)
    assert (rec["decision"], rec["outcome"], rec["approval"]) == ("ask", "refused", "unavailable")
    assert rec["session"] == SESSIONS[agent]


def test_ask_mode_deny_and_approver(hook, hook_env) -> None:  # type: ignore[no-untyped-def]
    for options, env in ((("--ask", "deny"), None), ((), dict(hook_env, GUARDSH_HOOK_ASK="approver")),
                         (("--ask=approver",), None)):
        rc, out, _ = hook("claude-code", claude_input(ASK_CMD), *options, env=env)
        assert rc == 0 and out["hookSpecificOutput"]["permissionDecision"] == "deny", options


def test_ask_mode_agent_on_codex_denies(hook) -> None:  # type: ignore[no-untyped-def]
    rc, out, _ = hook("codex", codex_input(ASK_CMD), "--ask", "agent")
    assert rc == 0 and out["hookSpecificOutput"]["permissionDecision"] == "deny"


def test_bad_ask_mode_denies(hook) -> None:  # type: ignore[no-untyped-def]
    rc, out, _ = hook("claude-code", claude_input(ALLOW_CMD), "--ask", "maybe")
    assert rc == 0 and out["hookSpecificOutput"]["permissionDecision"] == "deny"


# --- malformed and unexpected input ----------------------------------------------------------

MALFORMED = [
    (b"", "no input"),
    (b"not json", "not JSON"),
    (b"[1, 2]", "not an object"),
    (b"\xff\xfe{}", "not UTF-8"),
    (json.dumps(claude_input(None)).encode(), "tool_input.command"),
    (json.dumps(claude_input(["ls"], tool_name="Bash", tool_input="ls")).encode(), "tool_input"),
    (json.dumps({k: v for k, v in claude_input(ALLOW_CMD).items() if k != "tool_name"}).encode(), "tool_name"),
    (json.dumps(claude_input(ALLOW_CMD, hook_event_name="PostToolUse")).encode(), "PostToolUse"),
    (json.dumps(claude_input(ALLOW_CMD, cwd=7)).encode(), "cwd"),
]


@pytest.mark.parametrize("data,why", MALFORMED)
def test_malformed_claude_code_input_is_denied_and_logged(hook, hook_env, data: bytes, why: str) -> None:  # type: ignore[no-untyped-def]
    rc, out, _ = hook("claude-code", data)
    assert rc == 0
    spec = out["hookSpecificOutput"]
    assert spec["permissionDecision"] == "deny"
    assert "could not read this claude-code hook input" in spec["permissionDecisionReason"]
    assert why in spec["permissionDecisionReason"]
    [rec] = audit_records(hook_env)
    assert rec["outcome"] == "refused" and rec["decision"] == "deny" and why in rec["error"]
    assert rec["hook"] == "claude-code"


@pytest.mark.parametrize("agent,payload,check", [
    ("codex", b"{", lambda o: o["hookSpecificOutput"]["permissionDecision"] == "deny"),
    ("gemini", {"session_id": "g", "tool_name": "run_shell_command", "tool_input": {}},
     lambda o: o["decision"] == "deny" and "tool_input.command" in o["reason"]),
    ("cursor", {"conversation_id": "c", "hook_event_name": "beforeShellExecution", "cwd": "/tmp"},
     lambda o: o["permission"] == "deny" and "command is missing" in o["agent_message"]),
    ("cursor", b"null", lambda o: o["permission"] == "deny"),
])
def test_malformed_input_other_agents(hook, hook_env, agent: str, payload: Any, check) -> None:  # type: ignore[no-untyped-def]
    rc, out, _ = hook(agent, payload)
    assert rc == 0 and check(out), out
    [rec] = audit_records(hook_env)
    assert rec["outcome"] == "refused" and rec["error"]


def test_session_id_kept_on_malformed_input(hook, hook_env) -> None:  # type: ignore[no-untyped-def]
    hook("gemini", {"session_id": "g-1", "tool_name": "run_shell_command", "tool_input": {"command": 3}})
    [rec] = audit_records(hook_env)
    assert rec["session"] == "g-1" and rec["command"] is None


@pytest.mark.parametrize("agent,payload", [
    ("claude-code", claude_input("x", tool_name="Read", tool_input={"file_path": "/etc/passwd"})),
    ("codex", codex_input("*** Begin Patch", tool_name="apply_patch")),
    ("gemini", gemini_input("x", tool_name="read_file", tool_input={"absolute_path": "/tmp/x"})),
])
def test_other_tools_get_no_answer(hook, hook_env, agent: str, payload: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    """A hook matched to every tool must not judge (or block) Read, Edit, apply_patch..."""
    assert hook(agent, payload)[:2] == (0, None)
    assert audit_records(hook_env) == []


# --- what is classified ----------------------------------------------------------------------

def test_the_agents_cwd_is_where_the_command_is_classified(hook, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cmd = "rm -rf node_modules"
    assert hook("claude-code", claude_input(cmd, cwd=str(tmp_path)))[1] is None  # temporary files
    out = hook("claude-code", claude_input(cmd, cwd="/"))[1]
    assert out["hookSpecificOutput"]["permissionDecision"] == "ask"


def test_wrappers_are_unwrapped_as_in_guardsh_c(hook) -> None:  # type: ignore[no-untyped-def]
    out = hook("claude-code", claude_input("cd /tmp && bash -c 'sudo rm -rf /'"))[1]
    assert out["hookSpecificOutput"]["permissionDecision"] == "deny"


def test_codex_argv_command(hook) -> None:  # type: ignore[no-untyped-def]
    rc, out, _ = hook("codex", codex_input(["bash", "-lc", DENY_CMD], tool_name="shell"))
    assert rc == 0 and out["hookSpecificOutput"]["permissionDecision"] == "deny"


def test_broken_config_denies_everything(hook, hook_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    (home / ".config" / "guardsh").mkdir(parents=True)
    (home / ".config" / "guardsh" / "config.yaml").write_text("no_such_key: 1\n")
    env = dict(hook_env, HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"))
    rc, out, _ = hook("cursor", cursor_input("ls"), env=env)
    assert rc == 0 and out["permission"] == "deny" and "config" in out["agent_message"]


# --- ask with an approver console ------------------------------------------------------------

class Console(FakeConsole):
    """The scripted approver console; the test decides each request."""

    def pending_requests(self) -> list[dict[str, Any]]:
        """The requests received so far and not yet answered (drains the event queue)."""
        found = []
        while not self.events.empty():
            kind, _conn, msg = self.events.get_nowait()
            if kind == "msg" and msg is not None and msg.get("type") == "request":
                found.append(msg)
        return found

    def answer(self, decision: dict[str, Any], hook_result: queue.Queue[Any]) -> dict[str, Any]:
        """Wait for the hook's request (failing at once if the hook answered without asking), decide."""
        deadline = time.monotonic() + 15
        while True:
            try:
                kind, conn, req = self.events.get(timeout=0.05)
            except queue.Empty:
                assert hook_result.empty(), f"the hook answered without asking: {hook_result.get()}"
                assert time.monotonic() < deadline, "no request reached the console"
                continue
            if kind == "msg" and req is not None and req.get("type") == "request":
                break
        conn.sendall(protocol.encode({"type": "queued", "id": 3}))
        conn.sendall(protocol.encode({"type": "decision", "id": 3, **decision}))
        return req


@pytest.fixture()
def console(hook_env):  # type: ignore[no-untyped-def]
    c = Console(protocol.socket_path(hook_env))
    yield c
    c.close()


def _in_thread(fn: Callable[[], Any]) -> queue.Queue[Any]:
    result: queue.Queue[Any] = queue.Queue()
    threading.Thread(target=lambda: result.put(fn()), daemon=True).start()
    return result


APPROVE = {"decision": "approve", "state": "approved", "by": "alice@pts/3"}
DENY = {"decision": "deny", "state": "denied", "by": "alice@pts/3", "reason": "not on main, use a branch"}


def test_console_approval_allows_claude_code(hook, hook_env, console, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    answer = _in_thread(lambda: hook("claude-code", claude_input(ASK_CMD, cwd=str(tmp_path))))
    req = console.answer(APPROVE, answer)
    assert req["command"] == ASK_CMD and req["cwd"] == str(tmp_path) and req["risk"] == "destructive"
    rc, out, _ = answer.get(timeout=20)
    spec = out["hookSpecificOutput"]
    assert rc == 0 and spec["permissionDecision"] == "allow"
    assert "approved by alice@pts/3" in spec["permissionDecisionReason"]
    [rec] = audit_records(hook_env)
    assert (rec["outcome"], rec["approval"], rec["approver"]) == ("exec", "approved", "alice@pts/3")
    assert rec["session"] == SESSIONS["claude-code"]


def test_console_denial_denies_with_the_humans_reason(hook, hook_env, console) -> None:  # type: ignore[no-untyped-def]
    answer = _in_thread(lambda: hook("claude-code", claude_input(ASK_CMD)))
    console.answer(DENY, answer)
    rc, out, _ = answer.get(timeout=20)
    spec = out["hookSpecificOutput"]
    assert rc == 0 and spec["permissionDecision"] == "deny"
    assert "not on main, use a branch" in spec["permissionDecisionReason"]
    [rec] = audit_records(hook_env)
    assert (rec["outcome"], rec["approval"]) == ("refused", "denied")


@pytest.mark.parametrize("agent,approved", [
    ("codex", None), ("gemini", {"decision": "allow"}), ("cursor", {"permission": "allow"}),
])
def test_console_approval_other_agents(hook, console, agent: str, approved: Any) -> None:  # type: ignore[no-untyped-def]
    answer = _in_thread(lambda: hook(agent, INPUTS[agent](ASK_CMD), "--ask", "approver"))
    console.answer(APPROVE, answer)
    rc, out, _ = answer.get(timeout=20)
    if agent == "gemini":
        assert out["decision"] == "allow" and "approved by alice" in out["reason"]
    else:
        assert (rc, out) == (0, approved)


def test_catastrophic_is_denied_without_asking_the_console(hook, console) -> None:  # type: ignore[no-untyped-def]
    rc, out, _ = hook("claude-code", claude_input(DENY_CMD))
    assert out["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert console.pending_requests() == []


def test_allow_path_never_loads_the_approval_code(guardsh_bin: Path, hook_env) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    code = ("import sys, io, runpy; sys.argv = ['guardsh', 'hook', 'claude-code'];"
            "sys.stdin = io.TextIOWrapper(io.BytesIO(b''));"
            "from guardsh.agents import hooks;"
            f"hooks.run_hook('claude-code', 'auto', {json.dumps(json.dumps(claude_input(ALLOW_CMD))).strip()}.encode());"
            "print(sorted(m for m in sys.modules if m.startswith(('guardsh', 'json'))))")
    proc = subprocess.run([guardsh_bin.read_text().split()[0][2:], "-c",
                           "import sys; sys.path[0:0] = " + repr(_launcher_path(guardsh_bin)) + "\n" + code],
                          env=hook_env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    loaded = proc.stdout.strip().splitlines()[-1]
    assert "guardsh.agents.hooks" in loaded
    for heavy in ("guardsh.approval.request", "guardsh.approval.protocol", "guardsh.agents.hookinstall", "guardsh.engine.report", "'json'"):
        assert heavy not in loaded


def _launcher_path(launcher: Path) -> list[str]:
    for line in launcher.read_text().splitlines():
        if line.startswith("sys.path[0:0] = "):
            return eval(line.split("=", 1)[1])  # noqa: S307  (our own fixture's launcher)
    raise AssertionError("no sys.path line in the launcher")


def test_approval_wait_ends_before_the_hook_timeout(monkeypatch, classify) -> None:  # type: ignore[no-untyped-def]
    """An agent may treat a hook it killed as 'no objection': the wait always ends first, in a denial."""
    from guardsh.agents import hooks
    from guardsh.approval import request as approve
    from guardsh.engine.config import Config

    seen: dict[str, float] = {}

    class Denied:
        approved, state, by, request = False, "timed out", "", 4

    def fake_request(verdict, config, before_run=None, env=None):  # type: ignore[no-untyped-def]
        seen["timeout"] = float(config.approval_timeout)
        return Denied()

    monkeypatch.setattr(approve, "request_approval", fake_request)
    monkeypatch.setattr(hooks, "_record_quietly", lambda *a, **k: None)
    req = hooks.Request("claude-code", ASK_CMD, "/tmp", "s", "Bash")
    answer = hooks.ask(req, classify(ASK_CMD), Config({"approval_timeout": 3600}), "auto")
    assert seen["timeout"] == hooks.MAX_APPROVAL_WAIT < 600
    assert answer.decision == "deny"
