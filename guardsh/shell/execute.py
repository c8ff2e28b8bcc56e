"""Hand the command to the real bash, exactly as it was given.

After the decision guardsh ``exec``s the real bash with the original argv: same process, same
process group, same stdio, so exit status, death by signal, ``$0`` and ``$@`` are bash's own.

The recursion guard lets a shell started *inside* an allowed command (``make``, git hooks,
Codex's inner ``exec bash -c``) skip classifying a text that its ancestor already classified.
The token names the exec'd process by pid and start time and lists hashes of the texts that
were classified; a nested guardsh trusts it only if that process really is one of its
ancestors, so setting the variable by hand does nothing.
"""
from __future__ import annotations

import os
import sys

NEST_VAR = "GUARDSH_NESTED"
LAUNCHER_MARKER = b"guardsh-launcher"
DEFAULT_BASHES = ("/bin/bash", "/usr/bin/bash", "/usr/local/bin/bash", "/opt/homebrew/bin/bash")


class ExecError(Exception):
    """guardsh cannot find a real bash to run (exit 125)."""


def _sha256_hex(data: bytes) -> str:
    try:
        from _sha256 import sha256  # type: ignore[import-not-found]  # 3.11: skips hashlib's import cost
    except ImportError:
        from hashlib import sha256
    return sha256(data).hexdigest()[:32]


def text_hash(text: str) -> str:
    return _sha256_hex(text.encode("utf-8", errors="surrogateescape"))


def is_guardsh(path: str, self_paths: tuple[str, ...]) -> bool:
    """Is ``path`` guardsh itself (a link to the launcher, or a launcher script)?"""
    try:
        real = os.path.realpath(path)
    except OSError:
        return False
    if any(real == os.path.realpath(p) for p in self_paths if p):
        return True
    try:
        with open(real, "rb") as f:
            head = f.read(512)
    except OSError:
        return False
    return LAUNCHER_MARKER in head


def real_bash(configured: str | None, self_paths: tuple[str, ...]) -> str:
    """The bash to exec: the configured one, else the first standard location that exists."""
    candidates = (configured,) if configured else DEFAULT_BASHES
    for path in candidates:
        if path and os.access(path, os.X_OK) and not os.path.isdir(path):
            if is_guardsh(path, self_paths):
                raise ExecError(
                    f"the real bash resolves to guardsh itself ({path}); set 'bash:' in "
                    "~/.config/guardsh/config.yaml to the real bash (for example /usr/bin/bash)"
                )
            return path
    if configured:
        raise ExecError(f"the configured bash {configured!r} is not an executable file")
    raise ExecError("no bash found in /bin, /usr/bin or /usr/local/bin; set 'bash:' in ~/.config/guardsh/config.yaml")


# --- recursion guard --------------------------------------------------------------------

def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode(errors="replace")
    except OSError:
        return None
    # comm (field 2) may contain spaces and parentheses: split after the last ')'.
    tail = data[data.rfind(")") + 2:].split()
    return tail  # tail[0] is field 3 (state), tail[1] ppid, tail[19] starttime


def start_time(pid: int) -> str | None:
    fields = _stat_fields(pid)
    return fields[19] if fields and len(fields) > 19 else None


def _initial_environ(pid: int) -> list[bytes]:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def nest_token(texts: list[str]) -> str | None:
    pid = os.getpid()  # exec keeps the pid: this is the bash about to run
    started = start_time(pid)
    if started is None:
        return None
    hashes = ",".join(dict.fromkeys(text_hash(t) for t in texts))
    return f"{pid}:{started}:{hashes}"


def trusted_hashes(env: dict[str, str] | os._Environ[str]) -> frozenset[str]:
    """Hashes of texts an ancestor guardsh already classified, if the token is genuine."""
    token = env.get(NEST_VAR)
    if not token:
        return frozenset()
    try:
        pid_s, started, hashes = token.split(":", 2)
        pid = int(pid_s)
    except ValueError:
        return frozenset()
    if pid <= 1 or start_time(pid) != started:
        return frozenset()
    current = os.getppid()
    for _ in range(128):
        if current == pid:
            # the token must be in the environment that process was exec'd with (set by guardsh
            # before exec), not merely exported later by something running under it
            if f"{NEST_VAR}={token}".encode() not in _initial_environ(pid):
                return frozenset()
            return frozenset(h for h in hashes.split(",") if h)
        if current <= 1:
            break
        fields = _stat_fields(current)
        if not fields:
            break
        current = int(fields[1])
    return frozenset()


# --- exec ---------------------------------------------------------------------------------

def exec_bash(bash: str, argv0: str, args: list[str], texts: list[str], stdin_data: bytes | None = None) -> None:
    """Replace this process with the real bash; never returns."""
    token = nest_token(texts)
    if token:
        os.environ[NEST_VAR] = token
    if stdin_data is not None:
        _feed_stdin(stdin_data)
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:  # None when the caller closed the fd (>&-)
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
    import _signal  # the C module: ``signal`` imports enum (~5 ms) for its Signals class

    # Python ignores SIGPIPE and SIGXFSZ, and an ignored signal stays ignored across exec:
    # give bash the dispositions it would have had (yes | head -1 must die of SIGPIPE).
    for sig in (_signal.SIGPIPE, getattr(_signal, "SIGXFSZ", None)):
        if sig is not None:
            _signal.signal(sig, _signal.SIG_DFL)
    os.execv(bash, [argv0] + args)


def _feed_stdin(data: bytes) -> None:
    """Make fd 0 deliver ``data`` (the script guardsh read and classified) to bash.

    A regular file is rewound; anything else is replaced by a pipe that a child process fills,
    so bash reads exactly the bytes that were classified.
    """
    try:
        st = os.fstat(0)
        import stat as stat_module

        if stat_module.S_ISREG(st.st_mode):
            os.lseek(0, -len(data), os.SEEK_CUR)
            return
    except OSError:
        pass
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # double fork: the writer is not a child bash could wait for
        try:
            os.close(r)
            if os.fork() == 0:
                view = memoryview(data)
                while view:
                    n = os.write(w, view)
                    view = view[n:]
        except OSError:
            pass
        finally:
            os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    os.dup2(r, 0)
    os.close(r)
