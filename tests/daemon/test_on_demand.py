"""The daemon started on demand: when the native client finds no daemon it starts one (detached,
in a clean environment) and takes the Python path itself; the next command is answered by the
daemon; the daemon stops when idle, when its socket is gone, and only one serves a directory."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest
from conftest import build_client

FELL_BACK = b"guardsh-client: python path:"


def run(client: Path, *args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(client), *args], env=dict(env, GUARDSH_CLIENT_DEBUG="1"), cwd=cwd,
                          capture_output=True, timeout=60)


def wait_for(what: str, done: Callable[[], bool], timeout: float = 30) -> None:
    """Wait until ``done()`` holds (the daemon coming up or going away is an event of its own)."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def answers(directory: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(str(directory / "daemon.sock"))
        return True
    except OSError:
        return False


def daemon_pid(directory: Path) -> int | None:
    try:
        return int((directory / "daemon.pid").read_text())
    except (OSError, ValueError):
        return None


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except OSError:
        return False


@pytest.fixture()
def run_dir(tmp_path: Path) -> Iterator[Path]:
    """A socket directory that does not exist yet; whatever daemon ends up serving it is stopped."""
    d = tmp_path / "run"
    yield d
    pid = daemon_pid(d)
    if pid is not None and alive(pid):
        os.kill(pid, signal.SIGTERM)
        wait_for("the daemon to stop", lambda: not alive(pid))


def test_first_command_starts_the_daemon_and_the_next_is_answered(tmp_path: Path, guardsh_bin: Path, run_dir: Path,
                                                                  guardsh_env: dict[str, str]) -> None:
    client = build_client(tmp_path / "c", guardsh_bin, run_dir, on_demand=True)
    first = run(client, "-c", "echo first; exit 3", env=guardsh_env, cwd=tmp_path)
    assert (first.stdout, first.returncode) == (b"first\n", 3)
    assert FELL_BACK + b" no socket directory (no daemon)" in first.stderr
    assert run_dir.is_dir() and (run_dir.stat().st_mode & 0o777) == 0o700
    wait_for("the daemon to listen", lambda: answers(run_dir))
    second = run(client, "-c", "echo second; exit 4", env=guardsh_env, cwd=tmp_path)
    assert (second.stdout, second.returncode, second.stderr) == (b"second\n", 4, b"")  # the daemon's allow
    pid = daemon_pid(run_dir)
    assert pid is not None
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert cmdline[-5:] == [b"--socket-dir", str(run_dir).encode(), b"--idle-exit", b"1800", b""]
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    names = {e.split(b"=", 1)[0] for e in environ if e}
    assert names <= {b"HOME", b"USER", b"LOGNAME", b"PATH", b"LANG", b"LC_ALL", b"LC_CTYPE", b"TZ",
                     b"XDG_RUNTIME_DIR", b"XDG_CONFIG_HOME", b"XDG_STATE_HOME", b"XDG_CACHE_HOME", b"XDG_DATA_HOME"}
    assert os.getsid(pid) != os.getsid(0) and not alive(os.getsid(pid))  # detached: a session of its own, no leader (no terminal)
    refused = run(client, "-c", "git push --force origin main", env=guardsh_env, cwd=tmp_path)
    assert refused.returncode == 126 and FELL_BACK + b" not allowed by the daemon" in refused.stderr


def test_a_stale_socket_starts_a_daemon_that_replaces_it(tmp_path: Path, guardsh_bin: Path, run_dir: Path,
                                                         guardsh_env: dict[str, str]) -> None:
    run_dir.mkdir(mode=0o700)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(run_dir / "daemon.sock"))
    stale.close()  # a daemon that died: the socket file stays, nobody listens
    client = build_client(tmp_path / "c", guardsh_bin, run_dir, on_demand=True)
    got = run(client, "-c", "echo x", env=guardsh_env, cwd=tmp_path)
    assert got.stdout == b"x\n" and FELL_BACK + b" connect failed" in got.stderr
    wait_for("the daemon to listen", lambda: answers(run_dir))
    assert run(client, "-c", "true", env=guardsh_env, cwd=tmp_path).stderr == b""


def test_concurrent_first_commands_start_one_daemon(tmp_path: Path, guardsh_bin: Path, run_dir: Path,
                                                    guardsh_env: dict[str, str]) -> None:
    client = build_client(tmp_path / "c", guardsh_bin, run_dir, on_demand=True)
    env = dict(guardsh_env, GUARDSH_CLIENT_DEBUG="1")
    procs = [subprocess.Popen([str(client), "-c", f"echo {i}"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for i in range(10)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [o for o, _ in outs] == [f"{i}\n".encode() for i in range(10)]
    wait_for("the daemon to listen", lambda: answers(run_dir))
    # at most one attempt per 10 s, and one daemon per directory (an flock): one listens
    log = (run_dir / "daemon.log").read_text()
    assert log.count("listening on") == 1, log


def test_no_start_in_a_directory_that_is_not_private(tmp_path: Path, guardsh_bin: Path,
                                                     guardsh_env: dict[str, str]) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    client = build_client(tmp_path / "c", guardsh_bin, shared, on_demand=True)
    got = run(client, "-c", "echo y", env=guardsh_env, cwd=tmp_path)
    assert got.stdout == b"y\n" and FELL_BACK + b" socket directory not ours or not private" in got.stderr
    assert sorted(os.listdir(shared)) == []  # nothing started, nothing written (the stamp comes before the fork)


def test_a_failing_start_is_not_retried_for_every_command(tmp_path: Path, guardsh_env: dict[str, str],
                                                          run_dir: Path, guardsh_bin: Path) -> None:
    broken = tmp_path / "broken"
    broken.write_text(f"#!/bin/sh\n[ \"$1\" = daemon ] && {{ echo start >> {tmp_path}/starts; exit 1; }}\n"
                      f"exec {guardsh_bin} \"$@\"\n")
    broken.chmod(0o755)
    client = build_client(tmp_path / "c", broken, run_dir, on_demand=True)
    for _ in range(3):
        assert run(client, "-c", "echo z", env=guardsh_env, cwd=tmp_path).stdout == b"z\n"
    wait_for("the start attempt", lambda: (tmp_path / "starts").exists())
    assert (tmp_path / "starts").read_text() == "start\n"


def test_daemon_stops_when_idle(tmp_path: Path, guardsh_bin: Path, start_daemon, socket_dir: Path) -> None:  # type: ignore[no-untyped-def]
    d = start_daemon(socket_dir, extra=("--idle-exit", "1"))
    assert d.proc.wait(timeout=60) == 0
    assert not (socket_dir / "daemon.sock").exists()
    assert d.proc.stderr is not None and b"idle for 1 s; stopping" in d.proc.stderr.read()


def test_daemon_stops_when_its_socket_is_gone(start_daemon, socket_dir: Path) -> None:  # type: ignore[no-untyped-def]
    d = start_daemon(socket_dir, extra=("--idle-exit", "2"))  # its 0.5 s tick notices the socket first
    (socket_dir / "daemon.sock").unlink()
    assert d.proc.wait(timeout=60) == 1  # a unit's Restart=on-failure binds it again
    assert d.proc.stderr is not None and b"is gone or another daemon's" in d.proc.stderr.read()


def test_one_daemon_per_directory(start_daemon, socket_dir: Path, guardsh_bin: Path,  # type: ignore[no-untyped-def]
                                  guardsh_env: dict[str, str]) -> None:
    first = start_daemon(socket_dir)
    second = subprocess.run([str(guardsh_bin), "daemon", "run", "--socket-dir", str(socket_dir)], env=guardsh_env,
                            capture_output=True, timeout=60)
    assert second.returncode == 0 and b"another daemon holds" in second.stderr
    assert first.proc.poll() is None and answers(socket_dir)


def test_sigterm_at_any_moment_of_start_up_stops_it_all(tmp_path: Path, guardsh_bin: Path,
                                                        guardsh_env: dict[str, str]) -> None:
    """A stop that lands while the daemon warms up or forks its workers: the daemon and every worker
    go (signals are taken synchronously, never between a fork and its bookkeeping)."""
    for i in range(8):
        d = tmp_path / f"run{i}"
        proc = subprocess.Popen([str(guardsh_bin), "daemon", "run", "--socket-dir", str(d)], env=guardsh_env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if i % 2:
            wait_for("the pid file", lambda: daemon_pid(d) is not None)  # while it warms up
        else:
            assert proc.stderr is not None and b"listening" in proc.stderr.readline()  # as it forks its workers
        proc.terminate()
        assert proc.wait(timeout=60) == 0  # a clean stop, even from the warm-up
        assert not (d / "daemon.sock").exists() and not (d / "daemon.pid").exists()
        left = subprocess.run(["pgrep", "-f", f"--socket-dir {d}$"], capture_output=True, text=True).stdout.split()
        assert left == [], f"workers left behind: {left}"
