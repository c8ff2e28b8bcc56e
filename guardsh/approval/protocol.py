"""The approver socket: where it lives, who may use it, and the messages on it.

One Unix stream socket per user, ``$XDG_RUNTIME_DIR/guardsh/approver.sock`` (else
``/tmp/guardsh-UID/approver.sock``), in a directory that must be a real directory owned by the
user with no access for group or others, the socket itself 0600.  Both ends check the other's
uid with ``SO_PEERCRED``: the console accepts only its own user (and, on the separate request
socket, the agent users it was told about); ``guardsh -c`` talks only to a console run by the
expected user.

Messages are JSON objects, one per line (UTF-8, at most ``MAX_LINE`` bytes).  A guarded command
(the *waiter*) sends ``request`` and reads ``queued`` and then ``decision``; closing its
connection withdraws the request; a request that says ``previewing`` is followed, on the same
connection, by the waiter's ``preview`` of its own blast radius (issue 15), which consoles receive
as a ``preview`` event.  A console attaches with ``console`` and then receives the
queue as events (``snapshot``, ``added``, ``updated``, ``resolved``, ``breaker``, ``notice``) and
sends ``decide`` / ``reset_breaker``.  An automated approver speaks exactly the console part.

This module is imported only when a command needs approval, or by the console.
"""
from __future__ import annotations

import json
import os
import socket
import stat
import struct

from guardsh import paths

VERSION = 1
MAX_LINE = 1 << 20
SOCKET_NAME = "approver.sock"
LOCK_NAME = "approver.lock"
AGENT_SOCKET_NAME = "request.sock"

# decisions a console may send, and the answers a waiter accepts
APPROVE, DENY, ALWAYS = "approve", "deny", "always"


class ProtocolError(Exception):
    """The socket, its directory or a message is not what it must be: treat as no approval."""


# --- where ------------------------------------------------------------------------------

def socket_dir(env: dict[str, str] | os._Environ[str] | None = None, uid: int | None = None) -> str:
    """The private directory of this user's approver socket."""
    return paths.runtime_dir(env, uid)


def socket_path(env: dict[str, str] | os._Environ[str] | None = None, uid: int | None = None) -> str:
    return os.path.join(socket_dir(env, uid), SOCKET_NAME)


def agent_socket_dir(uid: int | None = None) -> str:
    """Directory of the request-only socket for agents running as another user."""
    return paths.agent_socket_dir(uid)


def check_dir(path: str, uid: int, private: bool = True) -> None:
    """Raise ProtocolError unless ``path`` is a real directory owned by ``uid`` that nobody
    else can write (and, if ``private``, nobody else can enter)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise ProtocolError(f"{path} does not exist") from None
    except OSError as e:
        raise ProtocolError(f"{path}: {e.strerror}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise ProtocolError(f"{path} is not a directory (a symbolic link or a file is refused)")
    if st.st_uid != uid:
        raise ProtocolError(f"{path} belongs to uid {st.st_uid}, not {uid}")
    mask = 0o077 if private else 0o022
    if st.st_mode & mask:
        raise ProtocolError(f"{path} has mode {stat.S_IMODE(st.st_mode):04o}; it must not be open to other users")


def ensure_dir(path: str, private: bool = True) -> None:
    """Create the socket directory (0700, or 0711 for the agents' request directory) or
    check the one that exists."""
    mode = 0o700 if private else 0o711
    try:
        os.mkdir(path, mode)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid():
        os.chmod(path, mode)  # our own directory: tighten it (mkdir applies the umask)
    check_dir(path, os.getuid(), private)


# --- who ----------------------------------------------------------------------------------

def peer_cred(sock: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end of a connected Unix socket."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", raw)
    return pid, uid, gid


# --- messages -----------------------------------------------------------------------------

def encode(message: dict[str, object]) -> bytes:
    data = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogateescape") + b"\n"
    if len(data) > MAX_LINE:
        raise ProtocolError("message too long")
    return data


def decode(line: bytes) -> dict[str, object]:
    """One message; anything that is not a JSON object with a string ``type`` is refused."""
    try:
        value = json.loads(line.decode("utf-8", "surrogateescape"))
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError("malformed message (not JSON)") from None
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        raise ProtocolError("malformed message (no type)")
    return value


class LineReader:
    """Split a byte stream into messages, refusing lines longer than MAX_LINE."""

    def __init__(self) -> None:
        self.buffer = b""

    def feed(self, data: bytes) -> list[dict[str, object]]:
        self.buffer += data
        out: list[dict[str, object]] = []
        while True:
            nl = self.buffer.find(b"\n")
            if nl < 0:
                if len(self.buffer) > MAX_LINE:
                    raise ProtocolError("message too long")
                return out
            line, self.buffer = self.buffer[:nl], self.buffer[nl + 1:]
            if line.strip():
                out.append(decode(line))


def connect(path: str, expect_uid: int, timeout: float = 5.0) -> socket.socket:
    """Connect to an approver socket and check that a console run by ``expect_uid`` is there.

    Raises FileNotFoundError / ConnectionRefusedError when nobody listens, ProtocolError when
    the directory or the peer is wrong.
    """
    directory = os.path.dirname(path)
    if not os.path.lexists(directory):
        raise FileNotFoundError(f"{directory} does not exist")
    check_dir(directory, expect_uid, private=os.path.basename(path) == SOCKET_NAME)
    st = os.lstat(path)  # FileNotFoundError: no console
    if not stat.S_ISSOCK(st.st_mode):
        raise ProtocolError(f"{path} is not a socket")
    if st.st_uid != expect_uid:
        raise ProtocolError(f"{path} belongs to uid {st.st_uid}, not {expect_uid}")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(path)
        _pid, uid, _gid = peer_cred(sock)
        if uid != expect_uid:
            raise ProtocolError(f"the process listening on {path} runs as uid {uid}, not {expect_uid}")
        sock.settimeout(None)
    except BaseException:
        sock.close()
        raise
    return sock
