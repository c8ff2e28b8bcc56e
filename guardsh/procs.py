"""What guardsh reads about processes, and the recursion guard built on it.

The recursion guard lets a shell started *inside* an allowed command (``make``, git hooks,
Codex's inner ``exec bash -c``) skip classifying a text that its ancestor already classified.
The token names the exec'd process by pid and start time and lists hashes of the texts that
were classified; a nested guardsh trusts it only if that process really is one of its
ancestors, and was exec'd with exactly that token in its environment, so setting the variable
by hand does nothing.
"""
from __future__ import annotations

import os

from guardsh.hashing import sha256_hex

NEST_VAR = "GUARDSH_NESTED"


def text_hash(text: str) -> str:
    """The hash that names a classified text in the token (128 bits are plenty)."""
    return sha256_hex(text.encode("utf-8", errors="surrogateescape"))[:32]


def stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode(errors="replace")
    except OSError:
        return None
    # comm (field 2) may contain spaces and parentheses: split after the last ')'.
    tail = data[data.rfind(")") + 2:].split()
    return tail  # tail[0] is field 3 (state), tail[1] ppid, tail[19] starttime


def start_time(pid: int) -> str | None:
    fields = stat_fields(pid)
    return fields[19] if fields and len(fields) > 19 else None


def initial_environ(pid: int) -> list[bytes]:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def nest_token(texts: list[str], pid: int | None = None) -> str | None:
    """``pid``: the process that will exec bash (default: this one; the resident classifier
    names its client)."""
    pid = os.getpid() if pid is None else pid  # exec keeps the pid: this is the bash about to run
    started = start_time(pid)
    if started is None:
        return None
    hashes = ",".join(dict.fromkeys(text_hash(t) for t in texts))
    return f"{pid}:{started}:{hashes}"


SESSION_MARK = "session"  # in place of text hashes: a session's bash, every line of which is classified


def session_token() -> str | None:
    """The token for a guarded interactive session's bash (this process, about to exec it)."""
    pid = os.getpid()
    started = start_time(pid)
    return f"{pid}:{started}:{SESSION_MARK}" if started else None


def trusted_hashes(env: dict[str, str] | os._Environ[str], ppid: int | None = None) -> frozenset[str]:
    """Hashes of texts an ancestor guardsh already classified, if the token is genuine.
    ``ppid``: the parent of the process asking (default: this process's parent)."""
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
    current = os.getppid() if ppid is None else ppid
    for _ in range(128):
        if current == pid:
            # the token must be in the environment that process was exec'd with (set by guardsh
            # before exec), not merely exported later by something running under it
            if f"{NEST_VAR}={token}".encode() not in initial_environ(pid):
                return frozenset()
            return frozenset(h for h in hashes.split(",") if h)
        if current <= 1:
            break
        fields = stat_fields(current)
        if not fields:
            break
        current = int(fields[1])
    return frozenset()


def guarded_ancestor(pid: int) -> int | None:
    """The pid of a shell that guardsh exec'd for a command (an agent's command) among ``pid``
    and its ancestors, or None.

    guardsh puts a token naming the exec'd process (pid and start time) in that process's
    environment (see shell/execute.py), so the shell's *initial* environment, which its children
    cannot change, says what it is.  A console, or a process that wants to act as one, that
    descends from such a shell is an agent's command and may not approve anything.
    """
    prefix = NEST_VAR.encode() + b"="
    current = pid
    for _ in range(128):
        if current <= 1:
            return None
        # another user's process (sshd, login) has an unreadable environment: not guardsh's
        for entry in initial_environ(current):
            if entry.startswith(prefix):
                parts = entry[len(prefix):].decode(errors="replace").split(":", 2)
                if len(parts) == 3 and parts[0] == str(current) and parts[1] == start_time(current):
                    return current
        fields = stat_fields(current)
        if not fields:
            return None
        current = int(fields[1])
    return None


def birth_time(path: str) -> float | None:
    """When ``path`` (not followed if a link) was created, from statx; None where unknown."""
    import ctypes

    global _statx
    if _statx is None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            _statx = libc.statx
        except (OSError, AttributeError):
            _statx = False
    if not _statx:
        return None
    buf = ctypes.create_string_buffer(256)
    AT_FDCWD, AT_SYMLINK_NOFOLLOW, STATX_BTIME = -100, 0x100, 0x800
    if _statx(AT_FDCWD, os.fsencode(path), AT_SYMLINK_NOFOLLOW, STATX_BTIME, buf) != 0:
        return None
    mask = int.from_bytes(buf.raw[0:4], "little")
    if not mask & STATX_BTIME:
        return None
    sec = int.from_bytes(buf.raw[80:88], "little", signed=True)
    nsec = int.from_bytes(buf.raw[88:92], "little")
    return sec + nsec / 1e9


_statx = None
