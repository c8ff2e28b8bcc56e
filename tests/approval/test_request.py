"""The waiting side of approval (``guardsh -c`` on an ``ask``), against a scripted console.

A real guardsh process talks to a real Unix socket served by this test, so every way an answer
can go wrong is tried: no console, an untrusted socket, a malformed or foreign reply, a timeout,
a console that goes away, a signal while waiting.  Each must deny and run nothing.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from guardsh.approval import protocol
from guardsh.engine.config import ConfigError, validate

from approvehome import FakeConsole, homes  # noqa: F401  (homes is a fixture)


@pytest.fixture()
def setup(homes: Callable[[str], Path], guardsh_env: dict[str, str], tmp_path: Path):  # type: ignore[no-untyped-def]
    """setup(config='') -> (env, workdir, socket path): a fresh private runtime dir per test."""

    def make(config: str = "") -> tuple[dict[str, str], Path, str]:
        home = homes(config)
        run = tmp_path / "run"
        run.mkdir(mode=0o700, exist_ok=True)
        work = tmp_path / "work"
        work.mkdir(exist_ok=True)
        env = dict(guardsh_env, HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"),
                   XDG_STATE_HOME=str(home / ".state"), XDG_RUNTIME_DIR=str(run))
        for var in ("CLAUDECODE", "CODEX_THREAD_ID", "CODEX_SANDBOX", "CODEX_MANAGED_BY_NPM", "GEMINI_CLI",
                    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "KUBECONFIG", "TF_WORKSPACE"):
            env.pop(var, None)
        return env, work, protocol.socket_path(env)

    return make


def send(conn: socket.socket, message: dict[str, Any]) -> None:
    conn.sendall(protocol.encode(message))


def approve_msg(rid: int, **extra: Any) -> dict[str, Any]:
    return {"type": "decision", "id": rid, "decision": "approve", "state": "approved", "by": "tester@pts/9", **extra}


def spawn(guardsh_bin: Path, command: str, env: dict[str, str], cwd: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(guardsh_bin), "-c", command, *args], env=env, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_line(proc: subprocess.Popen[bytes], needle: bytes) -> bytes:
    """Read stderr lines until one contains needle (waits on output, no sleeping)."""
    assert proc.stderr is not None
    seen = b""
    while True:
        line = proc.stderr.readline()
        seen += line
        if needle in line or not line:
            assert needle in line, seen
            return seen


@pytest.fixture()
def fake(setup):  # type: ignore[no-untyped-def]
    consoles: list[FakeConsole] = []

    def make(config: str = "") -> tuple[FakeConsole, dict[str, str], Path]:
        env, work, path = setup(config)
        console = FakeConsole(path)
        consoles.append(console)
        return console, env, work

    yield make
    for c in consoles:
        c.close()


# --- no approver, untrusted approvers -------------------------------------------------------

def test_no_approver_denies_at_once_and_says_how_to_start_one(setup, run_guardsh) -> None:  # type: ignore[no-untyped-def]
    env, work, _path = setup()
    started = time.monotonic()
    r = run_guardsh("-c", "touch destructive-1", env=env, cwd=str(work))
    assert r.returncode == 126
    assert b"No approver console is running" in r.stderr and b"guardsh approver" in r.stderr
    assert b"rule test-destructive" in r.stderr
    assert not (work / "destructive-1").exists()
    assert time.monotonic() - started < 5


def test_stale_socket_means_no_approver(setup, run_guardsh) -> None:  # type: ignore[no-untyped-def]
    env, work, path = setup()
    os.makedirs(os.path.dirname(path), mode=0o700)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()  # the socket file stays, nobody listens
    r = run_guardsh("-c", "touch destructive-1", env=env, cwd=str(work))
    assert r.returncode == 126 and b"No approver console is running" in r.stderr
    assert not (work / "destructive-1").exists()


def test_socket_dir_open_to_others_is_not_trusted(fake, run_guardsh) -> None:  # type: ignore[no-untyped-def]
    console, env, work = fake()
    os.chmod(os.path.dirname(protocol.socket_path(env)), 0o755)
    r = run_guardsh("-c", "touch destructive-1", env=env, cwd=str(work))
    assert r.returncode == 126 and b"cannot be trusted" in r.stderr and b"mode 0755" in r.stderr
    assert console.events.empty()  # nothing was sent to it


def test_socket_dir_symlink_is_not_trusted(setup, tmp_path, run_guardsh) -> None:  # type: ignore[no-untyped-def]
    env, work, path = setup()
    elsewhere = tmp_path / "elsewhere"
    FakeConsole(str(elsewhere / protocol.SOCKET_NAME))
    os.symlink(elsewhere, os.path.dirname(path))
    r = run_guardsh("-c", "touch destructive-1", env=env, cwd=str(work))
    assert r.returncode == 126 and b"cannot be trusted" in r.stderr and b"symbolic link" in r.stderr


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to own files as another user")
def test_console_run_by_another_user_is_not_trusted(tmp_path: Path) -> None:
    """SO_PEERCRED: a listener run by another uid than the expected one is refused, even when
    the directory and socket look right."""
    d = tmp_path / "peer"
    d.mkdir(mode=0o700)
    path = str(d / protocol.SOCKET_NAME)
    FakeConsole(path)  # listens as root
    os.chown(d, 65534, 65534)
    os.chown(path, 65534, 65534)
    with pytest.raises(protocol.ProtocolError, match="runs as uid 0, not 65534"):
        protocol.connect(path, 65534)


# --- answers -----------------------------------------------------------------------------------

def test_request_content_and_approval_runs_exactly_the_text(fake, guardsh_bin) -> None:  # type: ignore[no-untyped-def]
    console, env, work = fake()
    env.update(CLAUDECODE="1", AWS_PROFILE="prod-admin")
    command = 'touch "destructive-$1" && echo "ran as $0"'
    proc = spawn(guardsh_bin, command, env, work, "myname", "X")
    conn, req = console.request()
    assert req["command"] == command
    assert req["cwd"] == str(work)
    assert req["risk"] == "destructive" and req["agent"] == "Claude Code"
    assert req["context"] == {"AWS profile": "prod-admin"}
    assert [m["rule"] for m in req["matches"]] == ["test-destructive"]
    assert req["matches"][0]["reason"].startswith("Test rule") and req["matches"][0]["suggest"]
    assert req["parent"]  # the process that ran guardsh (pytest's python)
    assert req["deferred"] is False
    send(conn, {"type": "queued", "id": 7})
    assert b"waiting for approval on the approver console (request 7, test-destructive)" in wait_line(proc, b"waiting")
    send(conn, approve_msg(7))
    kind, _c, ack = console.next()
    assert kind == "msg" and ack == {"type": "ack", "id": 7}
    out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert out == b"ran as myname\n"  # $0 and $1 are bash's, from the original argv
    assert (work / "destructive-X").exists()
    assert b"approved by tester@pts/9 (request 7)" in err


def test_denial_passes_the_human_reason_to_the_agent(fake, guardsh_bin) -> None:  # type: ignore[no-untyped-def]
    console, env, work = fake()
    proc = spawn(guardsh_bin, "touch destructive-1", env, work)
    conn, _req = console.request()
    send(conn, {"type": "queued", "id": 3})
    send(conn, {"type": "decision", "id": 3, "decision": "deny", "state": "denied", "by": "alice@pts/1",
                "reason": "use the staging bucket instead"})
    _out, err = proc.communicate(timeout=15)
    assert proc.returncode == 126
    assert b"Denied by alice@pts/1 on the approver console (request 3)" in err
    assert b"Their reason: use the staging bucket instead" in err
    assert b"instead: touch a-safe-marker" in err
    assert not (work / "destructive-1").exists()


@pytest.mark.parametrize("reply", [
    b"this is not json\n",
    b'{"no": "type"}\n',
    b'["a list"]\n',
    protocol.encode({"type": "decision", "id": 1, "decision": "APPROVE", "state": "approved"}),
    protocol.encode({"type": "decision", "id": 1, "decision": "approve", "state": "denied"}),
    protocol.encode({"type": "decision", "id": 2, "decision": "approve", "state": "approved"}),
    protocol.encode({"type": "decision", "id": True, "decision": "approve", "state": "approved"}),
    protocol.encode({"type": "surprise", "id": 1}),
    protocol.encode({"type": "queued", "id": 1}),  # a second 'queued'
], ids=["not-json", "no-type", "list", "upper-case", "mixed", "other-id", "bool-id", "unknown", "queued-twice"])
def test_malformed_or_foreign_reply_denies(fake, guardsh_bin, reply: bytes) -> None:  # type: ignore[no-untyped-def]
    console, env, work = fake()
    proc = spawn(guardsh_bin, "touch destructive-1", env, work)
    conn, _req = console.request()
    send(conn, {"type": "queued", "id": 1})
    conn.sendall(reply)
    _out, err = proc.communicate(timeout=15)
    assert proc.returncode == 126, err
    assert b"nothing was run" in err
    assert not (work / "destructive-1").exists()


def test_console_closing_before_deciding_denies(fake, guardsh_bin) -> None:  # type: ignore[no-untyped-def]
    console, env, work = fake()
    proc = spawn(guardsh_bin, "touch destructive-1", env, work)
    conn, _req = console.request()
    send(conn, {"type": "queued", "id": 1})
    wait_line(proc, b"waiting for approval")
    conn.shutdown(socket.SHUT_RDWR)  # the reader thread holds the socket: shut it down, not just close
    _out, err = proc.communicate(timeout=15)
    assert proc.returncode == 126 and b"closed before deciding" in err
    assert not (work / "destructive-1").exists()


def test_timeout_denies_and_withdraws(fake, guardsh_bin) -> None:  # type: ignore[no-untyped-def]
    console, env, work = fake("approval_timeout: 0.5\n")
    proc = spawn(guardsh_bin, "touch destructive-1", env, work)
    conn, _req = console.request()
    send(conn, {"type": "queued", "id": 4})
    _out, err = proc.communicate(timeout=15)
    assert proc.returncode == 126 and b"Nobody decided within 0.5 s (request 4)" in err
    kind, _c, msg = console.next()
    assert kind == "msg" and msg == {"type": "cancel", "id": 4, "why": "timeout"}
    assert not (work / "destructive-1").exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_signal_while_waiting_withdraws_promptly_and_runs_nothing(fake, guardsh_bin, sig: signal.Signals) -> None:  # type: ignore[no-untyped-def]
    console, env, work = fake()
    proc = spawn(guardsh_bin, "touch destructive-1", env, work)
    conn, _req = console.request()
    send(conn, {"type": "queued", "id": 5})
    wait_line(proc, b"waiting for approval")
    sent = time.monotonic()
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=15)
    elapsed = time.monotonic() - sent
    assert proc.returncode == -sig, err  # dies by the signal, as bash would
    assert f"{sig.name} while waiting for approval: request withdrawn, nothing was run".encode() in err
    kind, _c, msg = console.next()
    assert kind == "msg" and msg == {"type": "cancel", "id": 5, "why": "signal"}
    print(f"{sig.name} handled in {elapsed * 1000:.1f} ms")
    assert elapsed < 1.0  # Gemini CLI sends SIGKILL 200 ms after SIGTERM; typically a few ms here
    # an approval that arrives now is for nobody
    try:
        send(conn, approve_msg(5))
    except OSError:
        pass
    assert not (work / "destructive-1").exists()


def test_sigkill_drops_the_connection(fake, guardsh_bin) -> None:  # type: ignore[no-untyped-def]
    console, env, work = fake()
    proc = spawn(guardsh_bin, "touch destructive-1", env, work)
    conn, _req = console.request()
    send(conn, {"type": "queued", "id": 6})
    wait_line(proc, b"waiting for approval")
    proc.kill()
    proc.wait(timeout=15)
    kind, _c, _msg = console.next()
    assert kind == "eof"  # what the console reads as "cancelled"


def test_ignored_sighup_stays_ignored(fake, guardsh_bin) -> None:  # type: ignore[no-untyped-def]
    """Under nohup (SIGHUP ignored) a hang-up does not withdraw: the process would not die of it."""
    console, env, work = fake()
    proc = subprocess.Popen(["nohup", str(guardsh_bin), "-c", "touch destructive-1"], env=env, cwd=work,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    conn, _req = console.request()
    send(conn, {"type": "queued", "id": 8})
    wait_line(proc, b"waiting for approval")
    proc.send_signal(signal.SIGHUP)
    send(conn, approve_msg(8))
    proc.communicate(timeout=15)
    assert proc.returncode == 0 and (work / "destructive-1").exists()


# --- modes and policy ------------------------------------------------------------------------

def test_deferred_mode_returns_at_once_with_rerun_instructions(fake, guardsh_bin) -> None:  # type: ignore[no-untyped-def]
    console, env, work = fake("approval_mode: deferred\n")
    proc = spawn(guardsh_bin, "touch destructive-1", env, work)
    conn, req = console.request()
    assert req["deferred"] is True
    send(conn, {"type": "queued", "id": 9, "deferred": True})
    _out, err = proc.communicate(timeout=15)
    assert proc.returncode == 126
    assert b"approve request 9 on the approver console" in err
    assert b"run exactly the same command again from the same directory" in err
    assert not (work / "destructive-1").exists()


def test_auto_mode_defers_for_codex(fake, guardsh_bin) -> None:  # type: ignore[no-untyped-def]
    console, env, work = fake()
    env["CODEX_THREAD_ID"] = "thread-1"
    proc = spawn(guardsh_bin, "touch destructive-1", env, work)
    conn, req = console.request()
    assert req["deferred"] is True and req["agent"] == "Codex"
    send(conn, {"type": "queued", "id": 1, "deferred": True})
    proc.communicate(timeout=15)
    assert proc.returncode == 126


def test_catastrophic_is_denied_without_asking_by_default(fake, guardsh_bin) -> None:  # type: ignore[no-untyped-def]
    console, env, work = fake()
    proc = spawn(guardsh_bin, "touch catastrophic-1", env, work)
    _out, err = proc.communicate(timeout=15)
    assert proc.returncode == 126 and b"denied by policy" in err
    assert console.events.empty()


def test_catastrophic_asks_when_two_approvers_are_configured(fake, guardsh_bin) -> None:  # type: ignore[no-untyped-def]
    console, env, work = fake("catastrophic_two_approvers: true\n")
    proc = spawn(guardsh_bin, "touch catastrophic-1", env, work)
    conn, req = console.request()
    assert req["risk"] == "catastrophic"
    send(conn, {"type": "queued", "id": 2})
    send(conn, {"type": "decision", "id": 2, "decision": "deny", "state": "denied", "by": "a and b"})
    _out, err = proc.communicate(timeout=15)
    assert proc.returncode == 126 and b"needs a human's approval" in err


def test_allowed_commands_never_load_the_approval_code(guardsh_bin, setup) -> None:  # type: ignore[no-untyped-def]
    import sys

    env, work, _path = setup()
    r = subprocess.run([sys.executable, "-X", "importtime", "-I", "-S", str(guardsh_bin), "-c", "true"],
                       env=env, cwd=work, capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in r.stderr.decode().splitlines() if "|" in line}
    assert not imported & {"guardsh.approval.request", "guardsh.approval.protocol", "socket", "json", "prompt_toolkit"}


# --- configuration --------------------------------------------------------------------------

@pytest.mark.parametrize("doc", [
    {"approval_timeout": 0}, {"approval_timeout": "5m"}, {"approval_mode": "later"},
    {"grant_validity": -1}, {"session_grant_validity": True}, {"denial_memory": -5},
    {"catastrophic_two_approvers": "yes"}, {"circuit_breaker": 5}, {"circuit_breaker": {"max": 2, "per": 60}},
    {"circuit_breaker": {"max": 1.5}}, {"circuit_breaker": {"window": 0}},
    {"approver_socket": "relative.sock"}, {"approver_uid": -1},
])
def test_bad_approver_config_is_an_error(doc: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        validate("config.yaml", doc)


def test_approver_config_defaults_and_values() -> None:
    from guardsh.engine.config import Config

    c = Config()
    assert (c.approval_timeout, c.approval_mode, c.catastrophic_two_approvers) == (300, "auto", False)
    assert (c.breaker_max, c.breaker_window, c.denial_memory) == (10, 300, 600)
    doc = {"approval_timeout": 30, "approval_mode": "deferred", "circuit_breaker": {"max": 0},
           "denial_memory": 0, "catastrophic_two_approvers": True, "grant_validity": 60}
    c = Config(validate("config.yaml", doc))
    assert (c.approval_timeout, c.approval_mode, c.breaker_max, c.breaker_window) == (30, "deferred", 0, 300)
    assert (c.denial_memory, c.catastrophic_two_approvers, c.grant_validity) == (0, True, 60)


def test_socket_location(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    uid = os.getuid()
    assert protocol.socket_path({"XDG_RUNTIME_DIR": str(run)}) == str(run / "guardsh" / "approver.sock")
    assert protocol.socket_dir({}) == f"/tmp/guardsh-{uid}"
    assert protocol.socket_dir({"XDG_RUNTIME_DIR": "relative"}) == f"/tmp/guardsh-{uid}"
    assert protocol.socket_dir({"XDG_RUNTIME_DIR": str(tmp_path / "missing")}) == f"/tmp/guardsh-{uid}"
    d = str(run / "guardsh")
    protocol.ensure_dir(d)
    assert os.stat(d).st_mode & 0o777 == 0o700
    os.chmod(d, 0o777)
    protocol.ensure_dir(d)  # our own directory is tightened again
    assert os.stat(d).st_mode & 0o777 == 0o700
