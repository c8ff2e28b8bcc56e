"""``guardsh daemon start|stop|status|install|uninstall|run``: the resident classifier.

``run`` serves in the foreground (what the systemd user unit runs); ``start`` runs it in the
background, detached; ``install`` writes the systemd user unit and enables it.
"""
from __future__ import annotations

import os
import socket
import sys
import time

from guardsh import paths
from guardsh.daemon import protocol
from guardsh.daemon.server import PID_NAME, serve, socket_path
from guardsh.daemon.units import enable_unit, write_unit

UNIT_NAME = "guardsh-daemon.service"
LAUNCHER_MARKER = b"guardsh-launcher"
USAGE = """\
usage: guardsh daemon start | stop | status | run [--socket-dir DIR] [--workers N] [--idle-exit SECONDS]
       guardsh daemon install [--no-enable] | uninstall     the systemd user unit
       guardsh daemon install --system [--no-enable] [--unit-dir DIR]   separate-user mode (root): the system unit
       guardsh daemon uninstall --system [--unit-dir DIR]               stops, disables and removes it
"""


def main(args: list[str]) -> int:
    if not args or args[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0 if args else 2
    verb, rest = args[0], args[1:]
    directory, workers, enable, idle_exit = paths.daemon_dir(), max(2, os.cpu_count() or 2), True, 0
    system_unit, unit_dir = False, ""
    while rest:
        opt = rest.pop(0)
        if opt == "--socket-dir" and rest:
            directory = os.path.abspath(rest.pop(0))
        elif opt == "--workers" and rest and rest[0].isdigit():
            workers = max(1, int(rest.pop(0)))
        elif opt == "--idle-exit" and rest and rest[0].isdigit() and verb == "run":
            idle_exit = int(rest.pop(0))
        elif opt == "--no-enable" and verb == "install":
            enable = False
        elif opt == "--system" and verb in ("install", "uninstall"):
            system_unit = True
        elif opt == "--unit-dir" and verb in ("install", "uninstall") and rest:
            unit_dir = os.path.abspath(rest.pop(0))
        else:
            sys.stderr.write(f"guardsh daemon: unknown option {opt!r}\n{USAGE}")
            return 2
    if verb == "run":
        from guardsh.daemon import system

        if system.active() and os.geteuid() == 0:  # separate-user mode: never serve as root
            system.prepare_dirs()
            system.drop_privileges()
        return serve(directory, workers, (sys.argv[0],), idle_exit)
    if verb == "status":
        line = status(directory)
        if line is None:
            sys.stdout.write(f"guardsh daemon: not running (no answer on {socket_path(directory)})\n")
            return 3
        sys.stdout.write(f"guardsh daemon: {line} on {socket_path(directory)}\n")
        return 0
    if verb == "start":
        return start(directory, workers)
    if verb == "stop":
        return stop(directory)
    if verb == "install" and system_unit:
        from guardsh.daemon import system

        argv = launcher_argv()
        return system.install(argv[2] if argv[1:2] == ["-IS"] else " ".join(argv), enable,
                              unit_dir or system.SYSTEM_UNIT_DIR)
    if verb == "install":
        return install(enable)
    if verb == "uninstall" and system_unit:
        from guardsh.daemon import system

        return system.uninstall(unit_dir or system.SYSTEM_UNIT_DIR)
    if verb == "uninstall":
        return uninstall()
    sys.stderr.write(f"guardsh daemon: unknown command {verb!r}\n{USAGE}")
    return 2


def status(directory: str, timeout: float = 1.0) -> str | None:
    """The daemon's status line, or None when nothing answers."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(socket_path(directory))
            s.sendall(protocol.encode_request("s", "guardsh", [], "/", False, {}))
            head = _recv(s, 8)
            verdict, _bash, _token, why = protocol.parse_answer(_recv(s, protocol.header_length(head)))
    except (OSError, protocol.ProtocolError):
        return None
    return why if verdict == "status" else None


def _recv(s: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise protocol.ProtocolError("short answer")
        data += chunk
    return data


def launcher_argv() -> list[str]:
    """How to run this guardsh again: its launcher (what the native client checks the daemon
    by), else the module."""
    me = os.path.abspath(sys.argv[0])
    try:
        with open(me, "rb") as f:
            if LAUNCHER_MARKER in f.read(512):
                return [sys.executable, "-IS", me]
    except OSError:
        pass
    return [sys.executable, "-m", "guardsh"]


def start(directory: str, workers: int) -> int:
    if status(directory) is not None:
        sys.stdout.write(f"guardsh daemon: already running on {socket_path(directory)}\n")
        return 0
    from guardsh.daemon import system

    if system.active() and (why := system.start_check()) is not None:  # separate-user mode: as root
        sys.stderr.write(f"guardsh daemon: {why}\n")
        return 1
    log = system.log_path() if system.active() else os.path.join(paths.state_dir(), "daemon.log")
    os.makedirs(os.path.dirname(log), mode=0o700, exist_ok=True)
    argv = launcher_argv() + ["daemon", "run", "--socket-dir", directory, "--workers", str(workers)]
    pid = os.fork()
    if pid == 0:  # detach: a new session, no terminal, cwd /
        try:
            os.setsid()
            if os.fork() != 0:
                os._exit(0)
            os.chdir("/")
            null = os.open(os.devnull, os.O_RDONLY)
            out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.dup2(null, 0)
            os.dup2(out, 1)
            os.dup2(out, 2)
            if system.active():
                system.drop_privileges()  # the log was opened as root: it stays root's
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    os.waitpid(pid, 0)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        line = status(directory, timeout=0.5)
        if line is not None:
            sys.stdout.write(f"guardsh daemon: started, {line} on {socket_path(directory)}\n")
            return 0
        time.sleep(0.02)
    sys.stderr.write(f"guardsh daemon: did not come up within 10 s; see {log}\n")
    return 1


def stop(directory: str) -> int:
    import signal

    try:
        with open(os.path.join(directory, PID_NAME)) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        sys.stdout.write("guardsh daemon: not running (no pid file)\n")
        return 0
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().split(b"\0")
    except OSError:
        cmdline = []
    if b"daemon" not in cmdline or b"run" not in cmdline:
        sys.stdout.write(f"guardsh daemon: not running (pid {pid} is not the daemon)\n")
        return 0
    try:
        os.kill(pid, signal.SIGTERM)
    except PermissionError:  # the separate-user mode's daemon, asked by another user
        sys.stderr.write(f"guardsh daemon: pid {pid} belongs to another user; stop it as root\n")
        return 1
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                if f.read().rsplit(b")", 1)[-1].split()[0] == b"Z":
                    break
        except OSError:
            break
        time.sleep(0.02)
    sys.stdout.write(f"guardsh daemon: stopped (pid {pid})\n")
    return 0


def unit_path() -> str:
    return os.path.join(paths.xdg_config_home(), "systemd", "user", UNIT_NAME)


def unit_text(argv: list[str]) -> str:
    return (
        "[Unit]\n"
        "Description=guardsh resident classifier (answers the native client; falls back to Python on doubt)\n\n"
        "[Service]\n"
        f"ExecStart={' '.join(_quote(a) for a in argv)} daemon run\n"
        "Restart=on-failure\n"
        "RestartSec=1\n\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def _quote(arg: str) -> str:
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"' if any(c in arg for c in ' "\\') else arg


def install(enable: bool) -> int:
    import shutil

    argv = launcher_argv()
    exec_argv = [argv[2]] if argv[1:2] == ["-IS"] else argv  # the launcher itself: its shebang is the interpreter
    write_unit(unit_path(), unit_text(exec_argv))
    if not enable:
        return 0
    if shutil.which("systemctl") is None:
        sys.stdout.write("guardsh daemon: no systemctl here; start it with: guardsh daemon start\n")
        return 0
    enable_unit(["systemctl", "--user"], UNIT_NAME, "guardsh daemon start")
    return 0


def uninstall() -> int:
    import shutil
    import subprocess

    if shutil.which("systemctl"):
        subprocess.run(["systemctl", "--user", "disable", "--now", UNIT_NAME], capture_output=True)
    try:
        os.unlink(unit_path())
        sys.stdout.write(f"guardsh daemon: removed {unit_path()}\n")
    except FileNotFoundError:
        sys.stdout.write("guardsh daemon: no unit installed\n")
    return 0
