"""Running one preview command: only if guardsh classifies it read-only, in the requester's
directory and environment, with a deadline, and reading a bounded amount of its output."""
from __future__ import annotations

import glob
import os
import selectors
import signal
import subprocess
import threading
import time
from typing import Callable, Mapping

MAX_BYTES = 256 * 1024  # output read per command; the rest is cut
QUIET_ENV = {  # added to the requester's environment: no pagers, prompts, colours or optional locks
    "PAGER": "cat", "GIT_PAGER": "cat", "GH_PAGER": "cat", "AWS_PAGER": "", "NO_COLOR": "1",
    "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "TF_INPUT": "0", "TF_IN_AUTOMATION": "1",
    "GH_PROMPT_DISABLED": "1", "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
}

Check = Callable[[list[str], str], "str | None"]
RUNNING: set[subprocess.Popen[bytes]] = set()  # preview processes now running (stop_all ends them)


_STOPPED = [False]
_LOCK = threading.Lock()  # starting a process and stop_all exclude each other
TIMEOUT_PROGRAM = next((p for p in ("/usr/bin/timeout", "/bin/timeout") if os.access(p, os.X_OK)), None)


def stop_all() -> None:
    """End every preview process still running, and start no more (the request was decided, or
    the waiter leaves)."""
    with _LOCK:
        _STOPPED[0] = True
        for proc in list(RUNNING):
            _kill(proc)


class Output:
    __slots__ = ("status", "exit", "stdout", "stderr", "why", "cut", "argv")

    def __init__(self, status: str, argv: list[str], exit: int | None = None, stdout: str = "", stderr: str = "",
                 why: str = "", cut: bool = False) -> None:
        self.status, self.argv, self.exit, self.stdout, self.stderr, self.why, self.cut = (
            status, argv, exit, stdout, stderr, why, cut)


def expand_globs(argv: list[str], globs: list[int], cwd: str) -> list[str]:
    """Globs expanded in the requester's directory as bash would (no match: the word stays)."""
    out: list[str] = []
    for i, word in enumerate(argv):
        if i in globs:
            hits = sorted(glob.glob(word, root_dir=cwd)) if os.path.isdir(cwd) else []
            out += hits or [word]
        else:
            out.append(word)
    return out


def run(argv: list[str], cwd: str, env: Mapping[str, str], check: Check, deadline: float) -> Output:
    """Run ``argv`` if ``check`` finds it read-only; stop it at ``deadline`` (time.monotonic)."""
    why = check(argv, cwd)
    if why:
        return Output("refused", argv, why=why)
    if not os.path.isdir(cwd):
        return Output("failed", argv, why=f"its directory {cwd} does not exist (yet)")
    remaining = deadline - time.monotonic()
    # coreutils timeout as well: the deadline holds even if this process is SIGKILLed meanwhile
    wrapped = [TIMEOUT_PROGRAM, "-s", "KILL", f"{remaining + 1:.1f}", *argv] if TIMEOUT_PROGRAM else argv
    with _LOCK:
        if remaining <= 0 or _STOPPED[0]:
            return Output("timeout", argv, why="no time left" if remaining <= 0 else "the request was decided")
        try:
            proc = subprocess.Popen(wrapped, cwd=cwd, env={**env, **QUIET_ENV}, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        except OSError as e:
            return Output("failed", argv, why=f"cannot run {argv[0]}: {e.strerror or e}")
        RUNNING.add(proc)
    try:
        out, err, cut, timed_out = _collect(proc, deadline)
        if timed_out or cut:
            _kill(proc)
        code = proc.wait()
    finally:
        RUNNING.discard(proc)
    if timed_out:
        return Output("timeout", argv, None, out, err, why=f"stopped after {remaining:.1f} s", cut=cut)
    if cut:  # stopped by guardsh for talking too much: what it said so far is the preview
        return Output("ok", argv, code, out, err, cut=True)
    return Output("ok" if code == 0 else "failed", argv, code, out, err, cut=cut)


def _collect(proc: subprocess.Popen[bytes], deadline: float) -> tuple[str, str, bool, bool]:
    assert proc.stdout is not None and proc.stderr is not None
    bufs = {proc.stdout: bytearray(), proc.stderr: bytearray()}
    sel = selectors.DefaultSelector()
    for pipe in bufs:
        sel.register(pipe, selectors.EVENT_READ)
    cut = timed_out = False
    try:
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            for key, _ev in sel.select(left):
                data = os.read(key.fd, 65536)
                if not data:
                    sel.unregister(key.fileobj)
                    continue
                buf = bufs[key.fileobj]  # type: ignore[index]
                buf += data
                if sum(len(b) for b in bufs.values()) > MAX_BYTES:
                    cut = True
            if cut:
                break
    finally:
        sel.close()
        for pipe in bufs:
            pipe.close()
    text = [bytes(b[:MAX_BYTES]).decode("utf-8", "replace") for b in bufs.values()]
    return text[0], text[1], cut, timed_out


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
