"""The resident classifier's wire format, small enough for a C client with nothing but libc.

One connection, one request, one answer.  Each message is ``GSH1``, a 4-byte little-endian
payload length, then the payload: fields, each ending in a NUL byte (argv and environment
entries cannot contain NUL, so nothing needs escaping).

Request fields: ``q`` (a shell command line; ``h``: a hook, whose stdin follows the environment
as one more field, and may hold no NUL; ``s`` asks for the status line instead), the name the client
was exec'd by (its ``AT_EXECFN``: what ``sys.argv[0]`` of the Python guardsh would be), its cwd,
``1``/``0`` for stdin being a terminal, the argument count and the arguments (argv[1:]), the
environment count and the ``NAME=value`` entries.

Answer fields: ``allow`` or ``fallback`` (for a hook, ``print`` with the hook's output in the
second field), the bash to exec, the recursion-guard token (empty: leave the environment alone),
and a reason (for logs and tests).  Anything the client cannot
read is a fallback; the client never allows on doubt.
"""
from __future__ import annotations

MAGIC = b"GSH1"
MAX_MESSAGE = 4 * 1024 * 1024  # argv and environment of one exec are far smaller (ARG_MAX)


class ProtocolError(Exception):
    pass


def frame(fields: list[bytes]) -> bytes:
    payload = b"".join(f + b"\0" for f in fields)
    return MAGIC + len(payload).to_bytes(4, "little") + payload


def header_length(head: bytes) -> int:
    """The payload length announced by an 8-byte header."""
    if len(head) != 8 or head[:4] != MAGIC:
        raise ProtocolError("not a guardsh daemon message")
    n = int.from_bytes(head[4:], "little")
    if n > MAX_MESSAGE:
        raise ProtocolError(f"message of {n} bytes is too long")
    return n


def split_fields(payload: bytes) -> list[bytes]:
    if not payload.endswith(b"\0"):
        raise ProtocolError("the last field is not terminated")
    return payload[:-1].split(b"\0")


def _text(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def parse_request(payload: bytes) -> tuple[str, str, list[str], str, bool, dict[str, str], bytes]:
    """(kind, name, args, cwd, stdin is a tty, environment, stdin data: ``h`` only)."""
    f = split_fields(payload)
    try:
        kind, name, cwd, tty = _text(f[0]), _text(f[1]), _text(f[2]), f[3]
        argc = int(f[4])
        args = [_text(a) for a in f[5:5 + argc]]
        envc = int(f[5 + argc])
        entries = f[6 + argc:6 + argc + envc]
        rest = f[6 + argc + envc:]
    except (IndexError, ValueError):
        raise ProtocolError("malformed request") from None
    if kind not in ("q", "s", "h") or tty not in (b"0", b"1") or len(args) != argc or len(entries) != envc \
            or not cwd.startswith("/") or len(rest) != (1 if kind == "h" else 0):
        raise ProtocolError("malformed request")
    env: dict[str, str] = {}
    for entry in entries:
        k, eq, v = _text(entry).partition("=")
        if eq and k and k not in env:  # the first entry wins, as getenv(3) reads environ
            env[k] = v
    return kind, name, args, cwd, tty == b"1", env, rest[0] if rest else b""


def encode_request(kind: str, name: str, args: list[str], cwd: str, stdin_tty: bool, env: dict[str, str],
                   data: bytes | None = None) -> bytes:
    def b(s: str) -> bytes:
        return s.encode("utf-8", "surrogateescape")

    return frame([b(kind), b(name), b(cwd), b"1" if stdin_tty else b"0", str(len(args)).encode(), *map(b, args),
                  str(len(env)).encode(), *(b(f"{k}={v}") for k, v in env.items()), *([data] if kind == "h" else [])])


def encode_answer(verdict: str, bash: str = "", token: str = "", why: str = "") -> bytes:
    return frame([s.encode("utf-8", "surrogateescape") for s in (verdict, bash, token, why)])


def parse_answer(payload: bytes) -> tuple[str, str, str, str]:
    f = split_fields(payload)
    if len(f) != 4:
        raise ProtocolError("malformed answer")
    verdict, bash, token, why = (_text(x) for x in f)
    return verdict, bash, token, why
