"""The waiter's side of previews on a real socket (a scripted console): the request is sent and
announced before the preview, which follows on the same connection; in deferred mode the agent
is answered at once and a detached child still delivers the preview; a decided request ends
the preview processes it started.  Fake helm (tests/helpers/fakebin, standing for helm 3) is the
previewed tool; it blocks on a FIFO until the test lets it answer, so nothing here sleeps."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from guardsh.approval import protocol

from approvehome import FakeConsole, homes  # noqa: F401  (homes is a fixture)

FAKEBIN = Path(__file__).resolve().parents[1] / "helpers" / "fakebin"


@pytest.fixture()
def setup(homes, guardsh_env, tmp_path):  # type: ignore[no-untyped-def]
    def make(config: str = "") -> tuple[FakeConsole, dict[str, str], Path, Path]:
        home = homes(config + "circuit_breaker: {max: 0}\n")
        run = tmp_path / "run"
        run.mkdir(mode=0o700)
        fifo = tmp_path / "go"
        os.mkfifo(fifo)
        env = dict(guardsh_env, HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"),
                   XDG_STATE_HOME=str(tmp_path / "state"), XDG_RUNTIME_DIR=str(run), FAKE_BLOCK=str(fifo),
                   FAKE_LOG=str(tmp_path / "fake.log"), PATH=f"{FAKEBIN}:{guardsh_env.get('PATH', '/usr/bin:/bin')}")
        for var in ("CLAUDECODE", "CODEX_THREAD_ID", "CODEX_SANDBOX", "CODEX_MANAGED_BY_NPM", "GEMINI_CLI"):
            env.pop(var, None)
        console = FakeConsole(protocol.socket_path(env))
        consoles.append(console)
        return console, env, tmp_path, fifo

    consoles: list[FakeConsole] = []
    yield make
    for c in consoles:
        c.close()


def next_msg(console: FakeConsole) -> dict[str, Any]:
    while True:
        kind, _conn, msg = console.next()
        if kind == "msg" and msg is not None:
            return msg


def let_go(fifo: Path) -> None:
    with open(fifo, "w") as f:
        f.write("go\n")


def test_wait_mode_the_request_comes_first_then_its_preview(setup, guardsh_bin) -> None:  # type: ignore[no-untyped-def]
    console, env, work, fifo = setup()
    proc = subprocess.Popen([str(guardsh_bin), "-c", "helm uninstall web"], env=env, cwd=work,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    conn, req = console.request()
    assert req["previewing"] is True
    conn.sendall(protocol.encode({"type": "queued", "id": 3}))
    assert proc.stderr is not None
    assert b"waiting for approval" in proc.stderr.readline()  # announced while helm still hangs
    let_go(fifo)
    msg = next_msg(console)
    assert msg["type"] == "preview" and msg["id"] == 3
    assert msg["preview"]["items"][0]["sections"][0]["lines"] == ['release "web" uninstalled']
    conn.sendall(protocol.encode({"type": "decision", "id": 3, "decision": "deny", "state": "denied", "by": "t"}))
    proc.communicate(timeout=30)
    assert proc.returncode == 126


def test_deferred_mode_answers_at_once_and_the_preview_still_arrives(setup, guardsh_bin) -> None:  # type: ignore[no-untyped-def]
    console, env, work, fifo = setup("approval_mode: deferred\n")
    proc = subprocess.Popen([str(guardsh_bin), "-c", "helm uninstall web"], env=env, cwd=work,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    conn, req = console.request()
    conn.sendall(protocol.encode({"type": "queued", "id": 5, "deferred": True}))
    _out, err = proc.communicate(timeout=30)  # the agent's pipes close although helm still hangs
    assert proc.returncode == 126 and b"not run yet" in err
    let_go(fifo)
    msg = next_msg(console)
    assert msg["type"] == "preview" and msg["id"] == 5 and "uninstalled" in str(msg["preview"])


def fakes_running(fifo: Path) -> list[int]:
    """Processes whose environment names this test's FIFO: the fake helm and its timeout wrapper."""
    marker = f"FAKE_BLOCK={fifo}".encode()
    pids = []
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and marker in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                pids.append(int(pid))
        except OSError:
            continue
    return [p for p in pids if b"helm" in Path(f"/proc/{p}/cmdline").read_bytes()] if pids else []


def test_a_decided_request_ends_its_preview(setup, guardsh_bin) -> None:  # type: ignore[no-untyped-def]
    console, env, work, fifo = setup()
    proc = subprocess.Popen([str(guardsh_bin), "-c", "helm uninstall web"], env=env, cwd=work,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    conn, _req = console.request()
    conn.sendall(protocol.encode({"type": "queued", "id": 1}))
    assert proc.stderr is not None
    assert b"waiting for approval" in proc.stderr.readline()
    while not (work / "fake.log").exists():  # the fake helm logs its call, then blocks on the FIFO
        os.sched_yield()
    assert fakes_running(fifo)
    conn.sendall(protocol.encode({"type": "decision", "id": 1, "decision": "deny", "state": "denied", "by": "t"}))
    proc.communicate(timeout=30)
    assert fakes_running(fifo) == []
