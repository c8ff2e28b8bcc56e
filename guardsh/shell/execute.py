"""Hand the command to the real bash, exactly as it was given.

After the decision guardsh ``exec``s the real bash with the original argv: same process, same
process group, same stdio, so exit status, death by signal, ``$0`` and ``$@`` are bash's own.
The token of the recursion guard (``guardsh.procs``) goes into bash's environment.
"""
from __future__ import annotations

import os
import sys

from guardsh.procs import NEST_VAR, nest_token

LAUNCHER_MARKER = b"guardsh-launcher"
DEFAULT_BASHES = ("/bin/bash", "/usr/bin/bash", "/usr/local/bin/bash", "/opt/homebrew/bin/bash")


class ExecError(Exception):
    """guardsh cannot find a real bash to run (exit 125)."""


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


# --- exec ---------------------------------------------------------------------------------

def exec_bash(bash: str, argv0: str, args: list[str], texts: list[str], stdin_data: bytes | None = None) -> None:
    """Replace this process with the real bash; never returns."""
    token = nest_token(texts)
    if token:
        os.environ[NEST_VAR] = token
    if stdin_data is not None:
        _feed_stdin(stdin_data)
    exec_program(bash, [argv0] + args)


def exec_program(path: str, argv: list[str]) -> None:
    """Become ``path`` with ``argv``; never returns."""
    prepare_exec()
    os.execv(path, argv)


def prepare_exec() -> None:
    """Before this process becomes another program: the caches the engine compiled are written,
    our output is flushed, and signals get the dispositions a shell would have given them."""
    from guardsh.cachefiles import flush

    flush()
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
