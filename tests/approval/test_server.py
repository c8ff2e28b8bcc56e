"""The approver console: its state (the hub) in-process, then end to end with real PTYs.

End-to-end tests run ``guardsh approver`` in a pseudo-terminal (pexpect), guarded commands as
real ``guardsh -c`` processes, and wait on what they print, never on sleep.  The hub's rules
(exactly once, grants, denial memory, circuit breaker, two approvers) are also tested directly
with a fake clock.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import pexpect
import pytest

from guardsh.approval import protocol
from guardsh.approval.hub import Hub, validate_request
from guardsh.engine.config import Config

from approvehome import homes  # noqa: F401  (homes is a fixture)

PEER = (4242, os.getuid(), os.getgid())


# --- the hub, in-process ----------------------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def request(command: str = "touch destructive-1", risk: str = "destructive", **extra: Any) -> dict[str, Any]:
    msg = {"type": "request", "command": command, "cwd": "/home/user/project", "risk": risk,
           "matches": [{"rule": "test-destructive", "risk": risk, "reason": "r", "suggest": None, "at": command}],
           **extra}
    return validate_request(msg)


@pytest.fixture()
def hub() -> tuple[Hub, Clock, list[dict[str, Any]]]:
    clock = Clock()
    h = Hub(Config({"circuit_breaker": {"max": 3, "window": 60}, "denial_memory": 600,
                    "grant_validity": 900, "session_grant_validity": 3600}), clock=clock)
    events: list[dict[str, Any]] = []
    return h, clock, events


def test_each_request_is_decided_exactly_once(hub) -> None:  # type: ignore[no-untyped-def]
    h, _clock, events = hub
    a = h.attach("alice", events.append)
    b = h.attach("bob", events.append)
    req = h.submit(request(), PEER)
    assert req.state == "pending" and events[-1]["type"] == "added"
    assert h.decide(a, req.id, "approve") is None
    assert req.state == "approved" and req.by == "alice"
    assert h.decide(b, req.id, "deny", "too late") == f"request {req.id} is already approved by alice"
    assert h.decide(a, req.id, "approve") is not None
    assert [e["type"] for e in events].count("resolved") == 2  # one per attached console, once
    assert h.decide(a, 999, "approve") == "there is no request 999"
    assert h.decide(a, True, "approve") == "there is no request True"
    req2 = h.submit(request("touch destructive-2"), PEER)
    assert h.decide(a, req2.id, "yes please") == "unknown decision 'yes please'"
    assert req2.state == "pending"


def test_denial_memory(hub) -> None:  # type: ignore[no-untyped-def]
    h, clock, events = hub
    link = h.attach("alice", events.append)
    first = h.submit(request(), PEER)
    h.decide(link, first.id, "deny", "  not on a Friday  ")
    assert first.reason == "not on a Friday"
    clock.now += 30
    again = h.submit(request(), PEER)
    assert again.state == "denied" and again.by == "denial memory"
    assert "alice denied this exact command 30 s ago (request 1) (not on a Friday)" in again.note
    other_cwd = h.submit(request() | {"cwd": "/elsewhere"}, PEER)
    assert other_cwd.state == "pending"  # bound to the cwd too
    clock.now += 600
    later = h.submit(request(), PEER)
    assert later.state == "pending"  # the window has passed


def test_deferred_approval_is_a_single_use_grant_with_expiry(hub) -> None:  # type: ignore[no-untyped-def]
    h, clock, events = hub
    link = h.attach("alice", events.append)
    first = h.submit(request(deferred=True), PEER)
    dup = h.submit(request(deferred=True), PEER)
    assert dup.state == "denied" and dup.by == "queue" and "request 1" in dup.note  # not queued twice
    h.decide(link, first.id, "approve")
    assert "single-use grant" in first.note
    other_user = h.submit(request(deferred=True), (1, os.getuid() + 1, 0))
    assert other_user.state == "pending"  # bound to the user
    used = h.submit(request(deferred=True), PEER)
    assert used.state == "approved" and used.by == "grant from request 1"
    again = h.submit(request(deferred=True), PEER)
    assert again.state == "pending"  # used once, not twice
    h.decide(link, again.id, "approve")
    clock.now += 901
    expired = h.submit(request(deferred=True), PEER)
    assert expired.state == "pending"
    # a deferred request nobody decides expires too
    clock.now += 901
    h.expire_deferred()
    assert expired.state == "expired"


def test_allow_for_the_session(hub) -> None:  # type: ignore[no-untyped-def]
    h, clock, events = hub
    link = h.attach("alice", events.append)
    first = h.submit(request(), PEER)
    h.decide(link, first.id, "always")
    for _ in range(3):
        assert h.submit(request(), PEER).state == "approved"  # many times, same text and cwd
    assert h.submit(request("touch destructive-2"), PEER).state == "pending"
    clock.now += 3601
    assert h.submit(request(), PEER).state == "pending"


def test_catastrophic_needs_two_different_consoles(hub) -> None:  # type: ignore[no-untyped-def]
    h, _clock, events = hub
    a = h.attach("alice", events.append)
    b = h.attach("bob", events.append)
    req = h.submit(request("touch catastrophic-1", "catastrophic"), PEER)
    assert req.needed == 2
    assert "only be approved once" in (h.decide(a, req.id, "always") or "")
    assert h.decide(a, req.id, "approve") is None
    assert req.state == "pending" and events[-1]["type"] == "updated"
    assert "you already approved" in (h.decide(a, req.id, "approve") or "")
    assert req.state == "pending"
    assert h.decide(b, req.id, "approve") is None
    assert req.state == "approved" and req.by == "alice and bob"
    req2 = h.submit(request("touch catastrophic-2", "catastrophic"), PEER)
    h.decide(a, req2.id, "approve")
    h.decide(b, req2.id, "deny", "no")
    assert req2.state == "denied"  # either person can stop it


def test_circuit_breaker(hub) -> None:  # type: ignore[no-untyped-def]
    h, clock, events = hub
    link = h.attach("alice", events.append)
    reqs = [h.submit(request(f"touch destructive-{i}"), PEER) for i in range(3)]
    assert all(r.state == "pending" for r in reqs)
    assert h.submit(request("ls", "read-only"), PEER).state == "pending"  # only destructive ones count
    tripping = h.submit(request("touch destructive-3"), PEER)
    assert tripping.state == "denied" and tripping.by == "circuit breaker"
    assert any(e["type"] == "breaker" and e["tripped"] for e in events)
    clock.now += 3600
    still = h.submit(request("touch destructive-4"), PEER)
    assert still.state == "denied" and "tripped" in still.note  # until a human resets it
    assert reqs[0].state == "pending"  # what was already queued can still be decided
    h.reset_breaker(link)
    assert h.submit(request("touch destructive-5"), PEER).state == "pending"


def test_circuit_breaker_window_slides(hub) -> None:  # type: ignore[no-untyped-def]
    h, clock, _events = hub
    for i in range(3):
        h.submit(request(f"touch destructive-{i}"), PEER)
        clock.now += 25
    clock.now += 20  # the first one is now 70 s old
    assert h.submit(request("touch destructive-9"), PEER).state == "pending"


def test_production_confirmation(hub) -> None:  # type: ignore[no-untyped-def]
    h, _clock, events = hub
    link = h.attach("alice", events.append)
    req = h.submit(request(confirm="prod-eu-1"), PEER)
    assert "typed exactly" in (h.decide(link, req.id, "approve") or "")
    assert "typed exactly" in (h.decide(link, req.id, "approve", confirm="prod") or "")
    assert req.state == "pending"
    assert h.decide(link, req.id, "approve", confirm="prod-eu-1") is None
    assert req.state == "approved"


def test_withdrawn_requests(hub) -> None:  # type: ignore[no-untyped-def]
    h, _clock, events = hub
    link = h.attach("alice", events.append)
    a = h.submit(request("touch destructive-a"), PEER)
    b = h.submit(request("touch destructive-b"), PEER)
    h.withdraw(a, "signal")
    h.withdraw(b, "timeout")
    assert (a.state, b.state) == ("cancelled", "timed out")
    assert "already cancelled" in (h.decide(link, a.id, "approve") or "")


@pytest.mark.parametrize("bad", [
    {"command": 5}, {"command": ""}, {"risk": "dangerous"}, {"cwd": None}, {"matches": "rm"},
    {"matches": ["x"]}, {"context": []}, {"command": "x" * 300000},
])
def test_malformed_requests_are_refused(bad: dict[str, Any]) -> None:
    msg = {"type": "request", "command": "touch destructive-1", "cwd": "/", "risk": "destructive", **bad}
    with pytest.raises(protocol.ProtocolError):
        validate_request(msg)


def test_decisions_are_logged_with_who(tmp_path: Path) -> None:
    import json

    log = tmp_path / "state" / "approvals.jsonl"
    h = Hub(Config(), log_path=str(log))
    link = h.attach("alice@pts/1", lambda e: None)
    req = h.submit(request(), PEER)
    h.decide(link, req.id, "deny", "no")
    record = json.loads(log.read_text().splitlines()[-1])
    assert record["by"] == "alice@pts/1" and record["state"] == "denied" and record["reason"] == "no"
    assert record["command"] == "touch destructive-1" and record["rules"] == ["test-destructive"]
    assert oct(log.stat().st_mode & 0o777) == "0o600"


def test_agent_text_is_shown_safely() -> None:
    from guardsh.approval.console import highlight, visible

    assert visible("touch destructive-1 #\r   ls") == "touch destructive-1 #\\x0d   ls"  # no overprinting
    assert visible("a\x08b\x1b[2Jc") == "a\\x08b\\x1b[2Jc"
    assert visible("a\u202eb\u200bc") == "a\\u202eb\\u200bc"  # bidi override, zero-width space
    assert visible("tab\tline\né") == "tab\tline\né"
    assert ("class:danger", "rm -rf src") in highlight("cd x && rm -rf src", ["rm -rf src"])
    assert ("class:danger", "rm") in highlight("\\rm -rf 'src'", ["rm -rf src"])  # normalised: first word


def test_console_lists_many_requests_compactly() -> None:
    from prompt_toolkit.application import create_app_session
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from guardsh.approval.console import ConsoleUI

    with create_pipe_input() as inp, create_app_session(input=inp, output=DummyOutput()):
        ui = ConsoleUI("alice", "/sock", primary=True)
        h = Hub(Config({"circuit_breaker": {"max": 0}}))
        link = h.attach("alice", ui.on_event)
        ui.send = lambda m: h.decide(link, m["id"], m["decision"], m.get("reason"), m.get("confirm"))
        for i in range(20):
            h.submit(request(f"touch destructive-{i}"), PEER)
        text = "".join(t for _s, t in ui.render_queue())
        assert "12 more below" in text and "request 1 " in text and "why: r" in text
        ui.move(10)
        text = "".join(t for _s, t in ui.render_queue())
        assert "more above" in text and "more below" in text and "request 11 " in text
        ui.start_approval("approve")
        assert h.requests[11].state == "approved" and 11 not in ui.pending
        assert "".join(t for _s, t in ui.render_header()).count("19 waiting") == 1
        # a reflex second "y" does not approve the request that just slid under the cursor
        assert ui.selected == 12
        ui.start_approval("approve")
        assert h.requests[12].state == "pending"
        ui.moved_at -= 1.0  # once the human has had a moment to look at it, "y" works
        ui.start_approval("approve")
        assert h.requests[12].state == "approved"


# --- end to end: real consoles in PTYs, real guardsh processes ------------------------------

ANSI = re.compile(r"\x1b\[(\d*)C|\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r")


def plain(raw: str) -> str:
    """Terminal output with escapes removed (cursor-forward becomes spaces)."""
    return ANSI.sub(lambda m: " " * int(m.group(1) or 1) if m.group(0).endswith("C") and m.group(1) is not None
                    else "", raw)


class Console:
    """``guardsh approver`` in a PTY."""

    def __init__(self, guardsh_bin: Path, env: dict[str, str], *args: str, ready: str = "listening on") -> None:
        self.child = pexpect.spawn(str(guardsh_bin), ["approver", *args], env=env, dimensions=(60, 200),
                                   encoding="utf-8", codec_errors="replace", timeout=20)
        self.expect(ready)

    def expect(self, text: str) -> str:
        """Wait until ``text`` appears (in one piece) in what the console prints."""
        self.child.expect_exact(text)
        return self.child.before

    def send(self, keys: str) -> None:
        self.child.send(keys)

    def close(self) -> None:
        if self.child.isalive():
            self.child.kill(signal.SIGTERM)  # a clean exit removes the sockets
            try:
                self.child.expect(pexpect.EOF, timeout=5)
            except pexpect.TIMEOUT:
                pass
        self.child.close(force=True)


class Agent:
    """``guardsh -c COMMAND`` in a PTY, as an agent that runs it under a pseudo-terminal."""

    def __init__(self, guardsh_bin: Path, env: dict[str, str], cwd: Path, command: str) -> None:
        self.child = pexpect.spawn(str(guardsh_bin), ["-c", command], env=env, cwd=str(cwd),
                                   dimensions=(40, 300), encoding="utf-8", codec_errors="replace", timeout=20)

    def expect(self, text: str) -> None:
        self.child.expect_exact(text)

    def finish(self) -> tuple[int, str]:
        self.child.expect(pexpect.EOF)
        out = self.child.before
        self.child.wait()  # not close(): that would hang up a process that has not been reaped yet
        status = self.child.exitstatus if self.child.exitstatus is not None else -self.child.signalstatus
        return status, out


@pytest.fixture()
def e2e(homes, guardsh_env, guardsh_bin, tmp_path):  # type: ignore[no-untyped-def]
    """e2e(config) -> (env, workdir, console factory, agent factory), cleaned up after the test."""
    spawned: list[Any] = []

    def make(config: str = "circuit_breaker: {max: 0}\n"):  # type: ignore[no-untyped-def]
        home = homes(config)
        run = tmp_path / "run"
        run.mkdir(mode=0o700, exist_ok=True)
        work = tmp_path / "work"
        work.mkdir(exist_ok=True)
        env = dict(guardsh_env, HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"),
                   XDG_STATE_HOME=str(tmp_path / "state"), XDG_RUNTIME_DIR=str(run), TERM="xterm",
                   LANG="C.UTF-8", CLAUDECODE="1",
                   PROMPT_TOOLKIT_NO_CPR="1")  # a PTY nobody answers: do not wait for cursor reports
        for var in ("DISPLAY", "WAYLAND_DISPLAY", "CODEX_THREAD_ID", "GEMINI_CLI"):
            env.pop(var, None)

        def console(*args: str, ready: str = "listening on") -> Console:
            c = Console(guardsh_bin, env, *args, ready=ready)
            spawned.append(c)
            return c

        def agent(command: str) -> Agent:
            a = Agent(guardsh_bin, env, work, command)
            spawned.append(a)
            return a

        return env, work, console, agent

    yield make
    for s in spawned:
        if isinstance(s, Console):
            s.close()
        elif s.child.isalive():
            s.child.close(force=True)


def test_approve_runs_the_command(e2e) -> None:  # type: ignore[no-untyped-def]
    env, work, console, agent = e2e()
    c = console()
    a = agent("touch destructive-1")
    a.expect("waiting for approval on the approver console (request 1, test-destructive)")
    c.expect("request 1 waiting")
    shown = plain(c.expect("a-safe-marker"))  # the rule's safer alternative is on screen
    for item in ("touch destructive-1", str(work), "test-destructive", "Claude", "destructive"):
        assert item in shown, item
    c.send("y")
    c.expect("request 1 approved by")
    status, out = a.finish()
    assert status == 0, out
    assert "approved by" in out and (work / "destructive-1").exists()


def test_an_approved_command_is_saved_first_and_the_console_shows_the_snapshot(e2e) -> None:  # type: ignore[no-untyped-def]
    """Issue 14: what an approved command overwrites is saved before it runs; agent and console see the id."""
    env, work, console, agent = e2e()
    (work / "log.txt").write_text("before\n")
    c = console()
    a = agent("touch destructive-1 > log.txt")
    c.expect("request 1 waiting")
    c.send("y")
    c.expect("request 1 ran; what it destroys was saved first as snapshot ")
    status, out = a.finish()
    assert status == 0, out
    assert "guardsh: saved what this command destroys as snapshot" in out
    assert (work / "log.txt").read_text() == ""
    record = json.loads((Path(env["XDG_STATE_HOME"]) / "guardsh" / "audit.jsonl").read_text().splitlines()[-1])
    assert record["approval"] == "approved" and record["snapshot"] in out


def test_deny_with_reason_then_denial_memory(e2e) -> None:  # type: ignore[no-untyped-def]
    env, work, console, agent = e2e()
    c = console()
    a = agent("touch destructive-1")
    c.expect("request 1 waiting")
    c.send("n")
    c.send("use the staging bucket\r")
    c.expect("request 1 denied by")
    c.expect("reason: use the staging bucket")
    status, out = a.finish()
    assert status == 126
    assert "Their reason: use the staging bucket" in out
    assert not (work / "destructive-1").exists()
    # the agent retries verbatim: not asked again
    again = agent("touch destructive-1")
    again.expect("Already denied on the approver console")
    status, out = again.finish()
    assert status == 126 and "use the staging bucket" in plain(out) and "Do not retry it" in plain(out)
    c.expect("request 2 denied automatically")


def test_escape_cancels_the_reason_prompt_and_nothing_is_decided(e2e) -> None:  # type: ignore[no-untyped-def]
    _env, work, console, agent = e2e()
    c = console()
    a = agent("touch destructive-1")
    c.expect("request 1 waiting")
    c.send("n")
    c.send("\x1b")
    c.expect("cancelled: nothing was decided")
    c.send("y")
    c.expect("request 1 approved by")
    assert a.finish()[0] == 0 and (work / "destructive-1").exists()


def test_timeout(e2e) -> None:  # type: ignore[no-untyped-def]
    _env, work, console, agent = e2e("approval_timeout: 0.5\ncircuit_breaker: {max: 0}\n")
    c = console()
    a = agent("touch destructive-1")
    c.expect("request 1 waiting")
    c.expect("request 1 timed out")
    status, out = a.finish()
    assert status == 126 and "Nobody decided within 0.5 s" in out
    c.send("y")  # nothing pending any more
    assert not (work / "destructive-1").exists()


def test_no_approver(e2e) -> None:  # type: ignore[no-untyped-def]
    _env, work, _console, agent = e2e()
    a = agent("touch destructive-1")
    a.expect("No approver console is running")
    status, out = a.finish()
    assert status == 126 and "guardsh approver" in out
    assert not (work / "destructive-1").exists()


@pytest.mark.parametrize("sig, shown", [(signal.SIGTERM, "the requester was interrupted"),
                                        (signal.SIGKILL, "the requester went away")], ids=["TERM", "KILL"])
def test_agent_killed_while_waiting(e2e, sig: signal.Signals, shown: str) -> None:  # type: ignore[no-untyped-def]
    _env, work, console, agent = e2e()
    c = console()
    a = agent("touch destructive-1")
    a.expect("waiting for approval")
    c.expect("request 1 waiting")
    a.child.kill(sig)
    c.expect(f"request 1 cancelled ({shown}); nothing ran")
    c.send("y")  # too late: the request is gone
    a.child.expect(pexpect.EOF)
    a.child.close()
    assert a.child.signalstatus == sig
    assert not (work / "destructive-1").exists()


def test_approver_killed_while_a_request_waits(e2e) -> None:  # type: ignore[no-untyped-def]
    _env, work, console, agent = e2e()
    c = console()
    a = agent("touch destructive-1")
    c.expect("request 1 waiting")
    c.child.kill(signal.SIGKILL)
    a.expect("closed before deciding")
    status, _out = a.finish()
    assert status == 126 and not (work / "destructive-1").exists()
    # the stale socket does not stop the next console
    c2 = console()
    b = agent("touch destructive-2")
    c2.expect("request 1 waiting")
    c2.send("y")
    assert b.finish()[0] == 0


def test_console_quit_denies_what_waits(e2e) -> None:  # type: ignore[no-untyped-def]
    _env, work, console, agent = e2e()
    c = console()
    a = agent("touch destructive-1")
    c.expect("request 1 waiting")
    c.send("q")
    c.expect("press q again to quit")
    c.send("q")
    c.child.expect(pexpect.EOF)
    status, out = a.finish()
    assert status == 126 and "closed before deciding" in out


def test_deferred_grant_is_used_once_and_not_twice(e2e) -> None:  # type: ignore[no-untyped-def]
    _env, work, console, agent = e2e("approval_mode: deferred\ncircuit_breaker: {max: 0}\n")
    c = console()
    first = agent("touch destructive-1")
    first.expect("approve request 1 on the approver console")
    status, out = first.finish()
    assert status == 126 and "run exactly the same command again" in plain(out)
    assert not (work / "destructive-1").exists()
    c.expect("request 1 waiting")
    c.send("y")
    c.expect("request 1 approved by")
    c.expect("single-use grant")
    second = agent("touch destructive-1")
    assert second.finish()[0] == 0 and (work / "destructive-1").exists()
    c.expect("request 2 approved automatically (single-use grant")
    (work / "destructive-1").unlink()
    third = agent("touch destructive-1")
    third.expect("approve request 3")
    assert third.finish()[0] == 126 and not (work / "destructive-1").exists()
    c.expect("request 3 waiting")


def test_allow_for_the_session_key(e2e) -> None:  # type: ignore[no-untyped-def]
    _env, work, console, agent = e2e()
    c = console()
    a = agent("touch destructive-1")
    c.expect("request 1 waiting")
    c.send("a")
    c.expect("allowed in this directory for the session")
    assert a.finish()[0] == 0
    for _ in range(2):
        (work / "destructive-1").unlink()
        assert agent("touch destructive-1").finish()[0] == 0
    c.expect("request 3 approved automatically")


def test_two_approvers_on_two_consoles(e2e) -> None:  # type: ignore[no-untyped-def]
    _env, work, console, agent = e2e("catastrophic_two_approvers: true\ncircuit_breaker: {max: 0}\n")
    first = console("--name", "alice")
    second = console("--name", "bob", ready="attached to")
    first.expect("console bob")
    a = agent("touch catastrophic-1")
    first.expect("request 1 waiting")
    second.expect("request 1 waiting")
    first.send("a")
    first.expect("can only be approved once, by two people")
    first.send("y")
    first.expect("(1 of 2)")
    second.expect("(1 of 2)")
    first.send("y")
    first.expect("you already approved request 1")
    second.send("y")
    second.expect("request 1 approved by alice and bob")
    first.expect("request 1 approved by alice and bob")
    status, out = a.finish()
    assert status == 0, out
    assert (work / "catastrophic-1").exists()
    # the first console quits: the second one says so and stops
    first.send("q")
    second.expect("the first console closed")
    second.child.expect(pexpect.EOF)


def test_circuit_breaker_trips_and_resets(e2e) -> None:  # type: ignore[no-untyped-def]
    _env, work, console, agent = e2e("approval_mode: deferred\ncircuit_breaker: {max: 2, window: 600}\n")
    c = console()
    for i in (1, 2):
        a = agent(f"touch destructive-{i}")
        a.expect(f"approve request {i}")
        a.finish()
    tripping = agent("touch destructive-3")
    tripping.expect("tripped the circuit breaker")
    assert tripping.finish()[0] == 126
    c.expect("circuit breaker tripped")
    after = agent("touch destructive-4")
    after.expect("circuit breaker is tripped")
    after.finish()
    c.send("R")
    c.expect("circuit breaker reset")
    ok = agent("touch destructive-5")
    ok.expect("approve request 5")
    ok.finish()
    c.expect("request 5 waiting")
    assert not list(work.iterdir())


def test_production_requires_typing_the_name(e2e) -> None:  # type: ignore[no-untyped-def]
    env, _work, console, _agent = e2e()
    c = console()
    sock = protocol.connect(protocol.socket_path(env), os.getuid())
    sock.sendall(protocol.encode({"type": "request", "command": "kubectl delete ns payments", "cwd": "/srv",
                                  "risk": "destructive", "matches": [], "confirm": "prod-eu-1",
                                  "context": {"kube context": "prod-eu-1"}}))
    reader = protocol.LineReader()
    assert reader.feed(sock.recv(65536))[0]["type"] == "queued"
    c.expect("request 1 waiting")
    c.send("y")
    c.send("y\r")  # a reflex "y" is not the name
    c.expect("needs the confirmation 'prod-eu-1' typed exactly")
    c.send("y")
    c.send("prod-eu-1\r")
    c.expect("request 1 approved by")
    msgs = reader.feed(sock.recv(65536))
    assert msgs[0]["decision"] == "approve"
    sock.close()


def test_approver_refuses_to_start_inside_a_guarded_command(e2e, guardsh_bin) -> None:  # type: ignore[no-untyped-def]
    # the rule guardsh-approver already gates this command; switch it off to reach the console's
    # own check, the second line of defence
    _env, _work, _console, agent = e2e("disabled_rules: [guardsh-approver]\n")
    a = agent(f"{guardsh_bin} approver")  # in a PTY, so the terminal check passes
    a.expect("started by a command that guardsh ran")
    assert a.finish()[0] == 2


@pytest.mark.parametrize("shape", ["{py} {client}", "{py} {client}; true"], ids=["exec", "fork"])
def test_a_guarded_command_cannot_act_as_a_console(e2e, tmp_path, shape: str) -> None:  # type: ignore[no-untyped-def]
    """Approval by another route: a program run by guardsh that connects as a console (a script
    an agent wrote) is refused, even if it drops the variable from its own environment: the
    console reads the initial environment of the peer and its ancestors.  (A process that is
    exec'd with the variable scrubbed, env -u GUARDSH_NESTED, or that detaches from its parents,
    escapes this check: see the threat model.)"""
    import sys

    env, _work, console, agent = e2e()
    c = console()
    client = tmp_path / "approve_myself.py"
    client.write_text(
        "import os, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})\n"
        "from guardsh.approval import protocol\n"
        "os.environ.pop('GUARDSH_NESTED', None)\n"
        "s = protocol.connect(protocol.socket_path(), os.getuid())\n"
        "s.sendall(protocol.encode({'type': 'console', 'name': 'me'}))\n"
        "print('ANSWER', s.recv(4096).decode().strip())\n"
    )
    a = agent(shape.format(py=sys.executable, client=client))
    a.expect("runs inside a command guardsh ran")
    c.expect("refused a console connection from process")
    assert a.finish()[0] == 0


def test_fifty_concurrent_requests_each_decided_once(e2e, guardsh_bin) -> None:  # type: ignore[no-untyped-def]
    env, work, console, _agent = e2e()
    c = console()
    transcript: list[str] = []
    stop = threading.Event()

    def drain() -> None:  # keep the console's PTY flowing while this test talks to the socket
        while not stop.is_set():
            try:
                transcript.append(c.child.read_nonblocking(65536, timeout=0.1))
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                return

    drainer = threading.Thread(target=drain, daemon=True)
    drainer.start()
    # an automated approver: a second console speaking the console protocol
    sock = protocol.connect(protocol.socket_path(env), os.getuid())
    sock.sendall(protocol.encode({"type": "console", "name": "robot"}))
    reader = protocol.LineReader()
    procs = [subprocess.Popen([str(guardsh_bin), "-c", f"touch destructive-{i}"], env=env, cwd=work,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(50)]
    command_of: dict[int, str] = {}
    resolved: dict[int, list[dict[str, Any]]] = {}
    errors: list[str] = []
    sock.settimeout(60)
    while len(resolved) < 50:
        data = sock.recv(65536)
        assert data, "the console closed"
        for ev in reader.feed(data):
            if ev["type"] == "added":
                req = ev["request"]
                assert req["id"] not in command_of
                command_of[req["id"]] = req["command"]
                i = int(req["command"].rsplit("-", 1)[1])
                decision = {"type": "decide", "id": req["id"], "decision": "approve" if i % 2 == 0 else "deny"}
                if i % 2:
                    decision["reason"] = f"odd {i}"
                sock.sendall(protocol.encode(decision))
            elif ev["type"] == "resolved":
                resolved.setdefault(ev["request"]["id"], []).append(ev["request"])
            elif ev["type"] == "notice" and ev.get("level") == "error":
                errors.append(ev["text"])
    assert not errors
    assert sorted(command_of) == list(range(1, 51))
    assert all(len(v) == 1 for v in resolved.values())
    # deciding again is refused, whoever tries
    sock.sendall(protocol.encode({"type": "decide", "id": 1, "decision": "deny"}))
    while True:
        evs = reader.feed(sock.recv(65536))
        if any(e["type"] == "notice" and "already" in e["text"] for e in evs):
            break
    for i, p in enumerate(procs):
        _out, err = p.communicate(timeout=60)
        if i % 2 == 0:
            assert p.returncode == 0, err
            assert (work / f"destructive-{i}").exists()
        else:
            assert p.returncode == 126, err
            assert f"Their reason: odd {i}".encode() in err
            assert not (work / f"destructive-{i}").exists()
    sock.close()
    c.send("q")  # nothing is pending: it quits at once, and the drain thread reads to the end
    drainer.join(timeout=20)
    stop.set()
    shown = plain("".join(transcript))
    for rid in range(1, 51):
        assert f"request {rid} waiting" in shown
        assert re.search(rf"request {rid} (approved|denied) by robot", shown)


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to run a process as another user")
def test_agent_as_another_user_reaches_only_the_request_path(e2e) -> None:  # type: ignore[no-untyped-def]
    """Separate-user mode: an agent user can send requests on the request socket, but can
    neither enter the console's private directory nor act as a console."""
    env, _work, console, _agent = e2e()
    c = console("--agent-user", "nobody")
    agent_sock = os.path.join(protocol.agent_socket_dir(), protocol.AGENT_SOCKET_NAME)
    private = protocol.socket_path(env)
    import shutil
    import tempfile

    shared = Path(tempfile.mkdtemp(prefix="guardsh-test-"))  # pytest's tmp dirs are private to root
    shared.chmod(0o755)
    client = shared / "client.py"
    client.write_text(
        "import sys, socket, json\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})\n"
        "from guardsh.approval import protocol\n"
        "try:\n"
        f"    protocol.connect({private!r}, 0)\n"
        "    print('PRIVATE-OPEN')\n"
        "except (OSError, protocol.ProtocolError) as e:\n"
        "    print('PRIVATE-CLOSED', type(e).__name__)\n"
        f"s = protocol.connect({agent_sock!r}, 0)\n"
        "s.sendall(protocol.encode({'type': 'console', 'name': 'sneaky'}))\n"
        "print('CONSOLE', s.recv(4096).decode().strip())\n"
        f"s = protocol.connect({agent_sock!r}, 0)\n"
        "s.sendall(protocol.encode({'type': 'request', 'command': 'touch destructive-x', 'cwd': '/tmp',"
        " 'risk': 'destructive', 'matches': []}))\n"
        "r = protocol.LineReader()\n"
        "msgs = []\n"
        "while len(msgs) < 2:\n"
        "    msgs += r.feed(s.recv(4096))\n"
        "print('DECISION', msgs[1]['decision'], msgs[1]['by'])\n"
    )
    client.chmod(0o644)
    try:
        proc = pexpect.spawn("/usr/bin/python3", [str(client)], encoding="utf-8", timeout=20,
                             preexec_fn=lambda: (os.setgid(65534), os.setuid(65534)))
        proc.expect_exact("PRIVATE-CLOSED")
        proc.expect_exact("CONSOLE")
        proc.expect_exact("unexpected message")
        c.expect("request 1 waiting")
        c.expect("nobody")
        c.send("y")
        proc.expect_exact("DECISION approve")
        proc.expect(pexpect.EOF)
    finally:
        shutil.rmtree(shared)
