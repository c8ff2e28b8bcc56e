"""The native client, built per test session with its paths compiled in, and daemons to talk to:
the genuine one (``guardsh daemon run`` through the tests' launcher) and impostors."""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "native" / "guardsh-client.c"
PYTHON = os.path.realpath(sys.executable)


@functools.lru_cache(maxsize=None)
def _find_compiler() -> str | None:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None and os.environ.get("CI") and os.geteuid() == 0 and shutil.which("apt-get"):
        # CI's bare image has no compiler: install one (the package lists first, on a fresh image)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "gcc", "libc6-dev"]):
            subprocess.run(cmd, capture_output=True, timeout=900, env=env)
        cc = shutil.which("cc") or shutil.which("gcc")
    return cc


def compiler() -> str:
    cc = _find_compiler()
    if cc is None:
        pytest.skip("no C compiler (cc) to build native/guardsh-client.c, and none can be installed here")
    return cc


def build_client(out_dir: Path, launcher: Path, socket_dir: Path, timeout_ms: int = 2000,
                 python: str = PYTHON, on_demand: bool = False, idle_exit_s: int = 1800) -> Path:
    """guardsh-client compiled as ``out_dir/guardsh``, with ``bash`` and ``sh`` links to it.
    ``on_demand`` is off unless a test is about it: a fault test wants no daemon to appear."""
    out_dir.mkdir(parents=True, exist_ok=True)
    binary = out_dir / "guardsh"
    subprocess.run([compiler(), "-O2", "-Wall", "-o", str(binary), str(SOURCE),
                    f'-DGUARDSH_LAUNCHER="{launcher}"', f'-DGUARDSH_PYTHON="{python}"',
                    f'-DGUARDSH_SOCKET_DIR="{socket_dir}"', f"-DGUARDSH_TIMEOUT_MS={timeout_ms}",
                    f"-DGUARDSH_ON_DEMAND={int(on_demand)}", f"-DGUARDSH_IDLE_EXIT_S={idle_exit_s}"],
                   check=True, capture_output=True)
    for name in ("bash", "sh"):
        (out_dir / name).symlink_to("guardsh")
    return binary


class Daemon:
    """A process serving on a socket directory, started and waited for by its first output line."""

    def __init__(self, argv: list[str], env: dict[str, str], ready: bytes) -> None:
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, cwd="/")
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline()  # the daemon says when it listens
        assert ready in line, line

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(timeout=30)
        if self.proc.stderr:
            self.proc.stderr.close()


@pytest.fixture()
def socket_dir(tmp_path: Path) -> Path:
    d = tmp_path / "run"
    d.mkdir(mode=0o700)
    d.chmod(0o700)
    return d


@pytest.fixture()
def start_daemon(guardsh_bin: Path, guardsh_env: dict[str, str]) -> Iterator[Callable[..., Daemon]]:
    started: list[Daemon] = []

    def start(directory: Path, launcher: Path | None = None, env: dict[str, str] | None = None,
              extra: tuple[str, ...] = ()) -> Daemon:
        argv = [str(launcher or guardsh_bin), "daemon", "run", "--socket-dir", str(directory), "--workers", "2",
                *extra]
        d = Daemon(argv, env or guardsh_env, b"listening")
        started.append(d)
        return d

    yield start
    for d in started:
        d.stop()


IMPOSTOR = '''\
import os, socket, sys
mode = os.environ.get("IMPOSTOR_MODE", "allow")
directory = sys.argv[sys.argv.index("--socket-dir") + 1]
path = os.path.join(directory, "daemon.sock")
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(64)
sys.stderr.write("listening\\n")
sys.stderr.flush()
held = []
while True:
    c, _ = s.accept()
    if mode == "hang":
        held.append(c)  # reads nothing, answers nothing
        continue
    c.recv(1 << 20)
    if mode == "garbage":
        c.sendall(b"HTTP/1.1 200 OK\\r\\n\\r\\nallow\\0/bin/bash\\0\\0\\0")
    elif mode == "short":
        c.sendall(b"GSH1" + (16).to_bytes(4, "little") + b"allow\\0/bin/bash\\0")
    elif mode == "allow":  # a daemon that allows everything
        payload = b"allow\\0/bin/bash\\0\\0impostor\\0"
        c.sendall(b"GSH1" + len(payload).to_bytes(4, "little") + payload)
    c.close()
'''


def impostor_launcher(path: Path, real_launcher: Path) -> Path:
    """A launcher whose ``daemon run MODE DIR`` is an impostor daemon (hangs, answers garbage,
    or allows everything: ``$IMPOSTOR_MODE``); anything else runs the real guardsh (the client's fallback)."""
    path.write_text(
        f"#!{sys.executable} -IS\n"
        "# guardsh-launcher (tests: impostor)\n"
        "import os, sys\n"
        "if sys.argv[1:3] != ['daemon', 'run']:\n"
        f"    os.execv({str(real_launcher)!r}, [{str(real_launcher)!r}] + sys.argv[1:])\n"
        + IMPOSTOR
    )
    path.chmod(0o755)
    return path
