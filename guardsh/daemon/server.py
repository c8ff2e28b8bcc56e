"""The resident classifier: a Unix socket in the user's private runtime directory, a few
pre-forked workers that each accept, answer and close, the compiled rules held in memory.

The listening socket lives in ``paths.daemon_dir()`` (mode 0700, owned by the user); it is bound
under a temporary name and renamed into place, so a client sees the old daemon's socket or the
new one.  Each worker checks its peer with ``SO_PEERCRED`` (only the daemon's own user is
answered) and reads one request within ``READ_TIMEOUT`` seconds.  Workers are separate
processes (2 cores, a GIL): one changes into the client's cwd and takes its environment for the
request without touching another's.  A worker that dies is replaced.
"""
from __future__ import annotations

import os
import socket
import struct
import sys
import time

from guardsh import paths
from guardsh.cachefiles import flush
from guardsh.daemon import protocol
from guardsh.daemon.answer import Classifier
from guardsh.daemon.model import ALLOW, PRINT, Request, fallback

SOCKET_NAME = "daemon.sock"
PID_NAME = "daemon.pid"
LOCK_NAME = "daemon.lock"
READ_TIMEOUT = 1.0
BACKLOG = 256


def socket_path(directory: str) -> str:
    return os.path.join(directory, SOCKET_NAME)


def recv_exact(conn: socket.socket, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = conn.recv(min(n - got, 1 << 20))
        if not chunk:
            raise protocol.ProtocolError("the client hung up")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def handle(conn: socket.socket, classifier: Classifier, status: str, stale: bool = False) -> str:
    """Answer one connection; returns the verdict sent (for the worker's count).  ``stale``:
    guardsh's code changed since this daemon started: every question gets a fallback."""
    from guardsh.approval.protocol import peer_cred

    pid, uid, _gid = peer_cred(conn)
    if pid <= 0 or (uid != os.getuid() and paths.SYSTEM is None):
        return "refused"  # another user: answered only in the separate-user mode (daemon/system.py)
    conn.settimeout(READ_TIMEOUT)
    try:
        n = protocol.header_length(recv_exact(conn, 8))
        kind, name, args, cwd, tty, env, data = protocol.parse_request(recv_exact(conn, n))
    except (protocol.ProtocolError, OSError):
        answer = fallback("protocol")
        kind = "q"
    else:
        if kind == "s":
            conn.sendall(protocol.encode_answer("status", "", "", status))
            return "status"
        ppid = _ppid(pid)
        if stale:
            answer = fallback("guardsh changed: the daemon restarts")
        elif ppid is None:
            answer = fallback("the client is gone")
        else:
            req = Request(name, args, cwd, env, tty, pid, ppid, uid)
            answer = classifier.answer_hook(req, data) if kind == "h" else classifier.answer(req)
            if answer.verdict in (ALLOW, PRINT) and _ppid(pid) != ppid:
                answer = fallback("the client changed")  # pid reused meanwhile: not the process we judged
    conn.sendall(protocol.encode_answer(answer.verdict, answer.bash, answer.token, answer.why))
    return answer.verdict


def _ppid(pid: int) -> int | None:
    from guardsh.procs import stat_fields

    fields = stat_fields(pid)
    try:
        return int(fields[1]) if fields else None
    except ValueError:
        return None


class CodeWatch:
    """guardsh's own code as this process runs it: (size, mtime) of every guardsh module file.
    ``changed()``: a file this process loaded differs on disk now, or a module imported later
    (lazily) comes from a file newer than the daemon: an upgrade or an edit, so the daemon must
    not answer with the code it has in memory."""

    def __init__(self) -> None:
        self.started = time.time_ns()
        self.names: set[str] = set()
        self.files: dict[str, tuple[int, int]] = {}
        self.changed()

    @staticmethod
    def _stat(path: str) -> tuple[int, int]:
        try:
            st = os.stat(path)
            return st.st_size, st.st_mtime_ns
        except OSError:
            return -1, -1

    def changed(self) -> bool:
        stale = False
        for name, module in list(sys.modules.items()):
            if name in self.names or not (name == "guardsh" or name.startswith("guardsh.")):
                continue
            self.names.add(name)
            path = getattr(module, "__file__", None)
            if path and path not in self.files:
                self.files[path] = self._stat(path)
                stale = stale or self.files[path][1] > self.started
        return stale or any(self._stat(path) != st for path, st in self.files.items())


def worker(listener: socket.socket, classifier: Classifier, code: CodeWatch, activity: Activity) -> None:
    import signal

    served = 0
    while True:
        try:
            conn, _ = listener.accept()
        except InterruptedError:
            continue
        with conn:
            stale = code.changed()  # guardsh itself changed: restart on the new code
            try:
                status = f"running pid {os.getppid()} worker {os.getpid()} served {served}"
                handle(conn, classifier, status, stale)
                served += 1
            except OSError:
                pass  # the client left (it timed out and fell back): nothing to do
            if stale:
                os.kill(os.getppid(), signal.SIGHUP)
                return
        activity.touch()
        flush()  # caches the engine rebuilt (rules after a change, config)


def prepare_dir(directory: str) -> None:
    """The socket directory, created or checked: private (0700) and ours, or in the separate-user
    mode reachable by every user (0755, made by systemd or root) and writable by us alone."""
    from guardsh.approval.protocol import check_dir, ensure_dir

    if paths.SYSTEM is None:
        ensure_dir(directory, private=True)
        return
    try:
        os.mkdir(directory, 0o755)
    except FileExistsError:
        pass
    check_dir(directory, os.getuid(), private=False)


def bind(directory: str) -> socket.socket:
    """The listening socket at ``directory/daemon.sock``, bound under a temporary name and
    renamed into place."""
    prepare_dir(directory)
    final = socket_path(directory)
    tmp = f"{final}.{os.getpid()}"
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177 if paths.SYSTEM is None else 0o111)  # system mode: 0666, any user connects
    try:
        sock.bind(tmp)
    finally:
        os.umask(old_umask)
    sock.listen(BACKLOG)
    os.replace(tmp, final)
    return sock


class Activity:
    """When a worker last answered, shared by the workers and the master (one page mapped before
    the workers fork): the master stops a daemon started on demand that has been idle too long."""

    def __init__(self) -> None:
        import mmap

        self._page = mmap.mmap(-1, 8)
        self.touch()

    def touch(self) -> None:  # after every answer: the imports are at the top, not per call
        self._page[0:8] = struct.pack("d", time.monotonic())

    def idle(self) -> float:
        return time.monotonic() - struct.unpack("d", self._page[0:8])[0]


def take_lock(directory: str) -> int | None:
    """One daemon per directory: an exclusive ``flock`` on ``daemon.lock``, held for the daemon's
    life (a restart's exec closes it, the new image takes it again).  None: another holds it."""
    import fcntl

    fd = os.open(os.path.join(directory, LOCK_NAME), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _socket_is(path: str, ino: int) -> bool:
    try:
        return os.stat(path).st_ino == ino
    except OSError:
        return False


def _stop_workers(children: set[int], grace: float = 5.0) -> None:
    """SIGTERM to every worker, then wait for them (SIGKILL for one still there after ``grace``)."""
    import signal

    for pid in children:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    left = set(children)
    while left:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid:
            left.discard(pid)
            continue
        if time.monotonic() > deadline:
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            deadline = float("inf")
        signal.sigtimedwait({signal.SIGCHLD}, 0.05)


def serve(directory: str, workers: int, self_paths: tuple[str, ...], idle_exit: float = 0) -> int:
    """Run the daemon in the foreground until SIGTERM/SIGINT; with ``idle_exit`` (seconds; how
    the native client starts it on demand) also once no client has been answered for that long.
    It also stops when its socket is gone or another daemon's replaced it (it serves no one)."""
    import signal

    if paths.SYSTEM is not None:
        from guardsh.daemon import system

        system.watch_denials()  # before anything is imported or loaded: see daemon/system.py

    # Signals are taken synchronously (sigtimedwait), never by a handler: a handler's exception
    # could land between a fork and the bookkeeping of its child, or in a child before it resets.
    # Blocked from the start, so a stop during the warm-up is a clean stop once it is up.
    stops = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}  # HUP: a worker saw guardsh's code change
    waited = stops | {signal.SIGCHLD}
    signal.pthread_sigmask(signal.SIG_BLOCK, waited)
    prepare_dir(directory)
    lock = take_lock(directory)
    if lock is None:
        sys.stderr.write(f"guardsh daemon: another daemon holds {os.path.join(directory, LOCK_NAME)}; not starting\n")
        signal.pthread_sigmask(signal.SIG_UNBLOCK, waited)
        return 0
    listener = bind(directory)
    path = socket_path(directory)
    ino = os.stat(path).st_ino
    pid_path = os.path.join(directory, PID_NAME)
    with open(pid_path + ".tmp", "w") as f:
        f.write(f"{os.getpid()}\n")
    os.replace(pid_path + ".tmp", pid_path)
    classifier = Classifier(self_paths)
    classifier.warm()
    code = CodeWatch()
    activity = Activity()
    flush()
    children: set[int] = set()
    restart = False
    tick = min(idle_exit / 4, 30.0) if idle_exit > 0 else 30.0
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    idle_note = f", stops after {idle_exit:g} s idle" if idle_exit > 0 else ""
    sys.stderr.write(f"guardsh daemon: listening on {path} (pid {os.getpid()}, {workers} workers{idle_note})\n")
    sys.stderr.flush()
    status = 0
    try:
        while True:
            while len(children) < workers:
                pid = os.fork()
                if pid == 0:
                    try:
                        for sig in stops:
                            signal.signal(sig, signal.SIG_DFL)
                        signal.pthread_sigmask(signal.SIG_UNBLOCK, waited)
                        worker(listener, classifier, code, activity)
                    finally:
                        os._exit(1)
                children.add(pid)
            info = signal.sigtimedwait(waited, tick)
            if info is not None and info.si_signo in stops:
                restart = info.si_signo == signal.SIGHUP
                break
            while children:
                try:
                    pid, _ = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    children.clear()
                    break
                if pid == 0:
                    break
                children.discard(pid)
            if not _socket_is(path, ino):
                sys.stderr.write(f"guardsh daemon: {path} is gone or another daemon's; stopping\n")
                status = 1  # a unit restarts it (Restart=on-failure), and it binds again
                break
            if idle_exit > 0 and activity.idle() >= idle_exit:
                sys.stderr.write(f"guardsh daemon: idle for {idle_exit:g} s; stopping\n")
                break
    finally:
        _stop_workers(children)
        if not restart:
            try:  # only our own socket: a newer daemon may have replaced it
                if os.stat(path).st_ino == ino:
                    os.unlink(path)
                    os.unlink(pid_path)
            except OSError:
                pass
        signal.pthread_sigmask(signal.SIG_UNBLOCK, waited)
    if restart:  # the same process (pid, cmdline) on the new code: clients keep trusting it
        sys.stderr.write("guardsh daemon: guardsh changed on disk; restarting\n")
        sys.stderr.flush()
        listener.close()
        os.close(lock)  # the new image takes the lock again
        os.execv(sys.executable, sys.orig_argv)
    os.close(lock)
    return status
