"""The audit trail: one hash-chained JSON record per guarded invocation.

Every command guardsh decides on appends one line to ``$XDG_STATE_HOME/guardsh/audit.jsonl``
(``audit_log:`` in the config to move it).  A record is a flat JSON object whose last three
fields are ``seq`` (1, 2, 3...), ``prev`` (the hash of the record before it; 64 zeros for the
first) and ``hash``: the SHA-256 of the line's bytes up to, not including, ``,"hash":``.
Editing a record breaks its own hash; removing, inserting or reordering records breaks the
``prev`` links; removing records from the end is caught by the head file next to the log
(``audit.jsonl.head``: ``SEQ SIZE HASH`` of the last record written).

Appends hold an fcntl (POSIX record) lock on the log for the read-head, write, write-head
sequence, so concurrent guardsh processes never interleave lines or fork the chain.  A failed
write is undone (the log is cut back to its previous size) and raised as ``AuditError``.

This module is on the path of every allowed command: it imports nothing beyond ``os`` and
``time`` at load time (no ``json``, ``hashlib``, ``datetime``, ``fcntl``); the JSON of a
record is written by hand and the chain is checked by ``guardsh log verify`` (verify.py).
"""
from __future__ import annotations

import os
import time

from guardsh import paths
from guardsh.hashing import sha256_hex

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterable, Mapping

    from guardsh.engine.config import Config
    from guardsh.engine.model import Verdict

GENESIS = "0" * 64
HEAD_SUFFIX = ".head"
HASH_KEY = ',"hash":"'
LOCK_TIMEOUT = 10.0
KNOWN_AGENTS = ("claude", "codex", "gemini", "aider", "cursor-agent", "goose", "opencode", "amp", "cline")


class AuditError(Exception):
    """The audit log cannot be written (the message says which file and why)."""


# --- where ------------------------------------------------------------------------------

def default_path(env: Mapping[str, str] | None = None) -> str:
    return paths.audit_log(env)


def log_path(config: Config | None = None, env: Mapping[str, str] | None = None) -> str:
    """The configured audit log (``audit_log:``), else the default under XDG_STATE_HOME."""
    configured: str | None = getattr(config, "audit_log", None) if config is not None else None
    if configured:
        return os.path.expanduser(str(configured))
    return default_path(env)


# --- hand-written JSON ----------------------------------------------------------------

_ESCAPES = {i: "\\u%04x" % i for i in range(32)}
_ESCAPES.update({34: '\\"', 92: "\\\\", 8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"})


def json_str(text: str) -> str:
    """``text`` as a JSON string literal; non-ASCII stays UTF-8, lone surrogates are escaped."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return '"' + text + '"'  # the common case: nothing to escape
    text = text.translate(_ESCAPES)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = "".join("\\u%04x" % ord(c) if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    return '"' + text + '"'


def json_value(value: object) -> str:
    if type(value) is str:
        return json_str(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return json_str(value)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return "null"
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(json_value(v) for v in value) + "]"
    raise TypeError(f"audit records hold str, int, float, bool, None and lists, not {type(value).__name__}")


def encode_fields(fields: Iterable[tuple[str, object]]) -> str:
    """The opening of a record: ``{"k":v,...`` without the chain fields or the closing brace."""
    return "{" + ",".join([f'"{k}":' + json_value(v) if k.isidentifier() else json_str(k) + ":" + json_value(v)
                           for k, v in fields])


# --- hashing ------------------------------------------------------------------------------

def record_hash(line: bytes) -> tuple[bytes, str | None]:
    """(the hashed part, the stored hash) of one record line (without its newline)."""
    cut = line.rfind(HASH_KEY.encode())
    if cut < 0 or not line.endswith(b'"}'):
        return line, None
    return line[:cut], line[cut + len(HASH_KEY):-2].decode("ascii", "replace")


# --- appending --------------------------------------------------------------------------

def append(path: str, fields: Iterable[tuple[str, object]] | str) -> tuple[int, str]:
    """Append one record (fields in order, or an already encoded opening); returns (seq, hash)."""
    opening = fields if isinstance(fields, str) else encode_fields(fields)
    try:
        fd = _open_log(path)
    except OSError as e:
        raise AuditError(f"cannot open the audit log {path}: {e.strerror or e}") from None
    try:
        _lock(fd, path)
        return _append_locked(fd, path, opening)
    except OSError as e:
        raise AuditError(f"cannot write the audit log {path}: {e.strerror or e}") from None
    finally:
        os.close(fd)  # releases the lock


def _open_log(path: str) -> int:
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
    try:
        return os.open(path, flags, 0o600)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
        return os.open(path, flags, 0o600)


def _lock(fd: int, path: str) -> None:
    """An exclusive fcntl lock on the whole log (os.lockf: no fcntl import on the hot path)."""
    try:
        os.lockf(fd, os.F_TLOCK, 0)
        return
    except (BlockingIOError, PermissionError):
        pass
    deadline = time.monotonic() + LOCK_TIMEOUT
    delay = 0.0005
    while True:
        try:
            os.lockf(fd, os.F_TLOCK, 0)
            return
        except (BlockingIOError, PermissionError):
            if time.monotonic() > deadline:
                raise AuditError(f"the audit log {path} has been locked by another process for {LOCK_TIMEOUT:.0f} s") from None
            time.sleep(delay)
            delay = min(delay * 2, 0.02)


def _append_locked(fd: int, path: str, opening: str) -> tuple[int, str]:
    size = os.fstat(fd).st_size
    hfd = os.open(path + HEAD_SUFFIX, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        head = parse_head(os.pread(hfd, 200, 0))
        seq, prev, pad = chain_state(path, size, head)
        body = f'{opening},"seq":{seq + 1},"prev":"{prev}"'
        data = body.encode("utf-8")
        digest = sha256_hex(data)
        data = pad + data + b',"hash":"' + digest.encode() + b'"}\n'
        try:
            written = os.write(fd, data)
            if written != len(data):
                raise OSError(28, "No space left on device (short write)")
        except OSError:
            try:
                os.ftruncate(fd, size)  # never leave half a record behind
            except OSError:
                pass
            raise
        new_head = f"{seq + 1} {size + len(data)} {digest}\n".encode()
        os.pwrite(hfd, new_head, 0)
        os.ftruncate(hfd, len(new_head))
        return seq + 1, digest
    finally:
        os.close(hfd)


def parse_head(data: bytes) -> tuple[int, int, str] | None:
    """(seq, size, hash) from a head file, or None when it is empty or unreadable."""
    parts = data.split()
    if len(parts) != 3:
        return None
    try:
        seq, size = int(parts[0]), int(parts[1])
        digest = parts[2].decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return None
    if len(digest) != 64 or seq < 0 or size < 0:
        return None
    return seq, size, digest


def chain_state(path: str, size: int, head: tuple[int, int, str] | None) -> tuple[int, str, bytes]:
    """(last seq, last hash, bytes to write first) for the next record.

    The head file is the fast path: when it describes the log as it is, nothing else is read.
    Otherwise the evidence is kept: a log shorter than its head (truncated) is chained to the
    head, so ``log verify`` reports the missing records; a log one valid record ahead of its
    head (a crash between the two writes) is followed; anything else also chains to the head.
    """
    if head is not None and head[1] == size:
        return head[0], head[2], b""
    if size == 0:
        return (head[0], head[2], b"") if head else (0, GENESIS, b"")
    last, complete = read_last_line(path, size)
    pad = b"" if complete else b"\n"  # a cut-short line stays visible as malformed
    tail = parse_tail(last) if complete else None
    if head is None:
        if tail is not None:
            return tail[0], tail[1], pad
        return 0, GENESIS, pad
    if tail is not None and size > head[1] and tail[0] == head[0] + 1 and tail[2] == head[2]:
        return tail[0], tail[1], pad
    return head[0], head[2], pad


def read_last_line(path: str, size: int) -> tuple[bytes, bool]:
    """The last line of the log (without its newline) and whether it ended with one."""
    with open(path, "rb") as f:
        chunk = 4096
        while True:
            start = max(0, size - chunk)
            f.seek(start)
            data = f.read(size - start)
            complete = data.endswith(b"\n")
            body = data[:-1] if complete else data
            cut = body.rfind(b"\n")
            if cut >= 0 or start == 0:
                return body[cut + 1:], complete
            chunk *= 4


def parse_tail(line: bytes) -> tuple[int, str, str] | None:
    """(seq, hash, prev) of a record line, checking its own hash, without a JSON parser."""
    hashed, stored = record_hash(line)
    if stored is None or sha256_hex(hashed) != stored:
        return None
    p = hashed.rfind(b',"prev":"')
    s = hashed.rfind(b',"seq":', 0, p)
    if p < 0 or s < 0:
        return None
    try:
        seq = int(hashed[s + 7:p])
    except ValueError:
        return None
    return seq, stored, hashed[p + 9:-1].decode("ascii", "replace")


# --- the record of one invocation -------------------------------------------------------

def iso_time(t: float) -> str:
    ms = int(t * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % ms


def _parent(ppid: int | None = None) -> tuple[str, str]:
    """(session id, parent's command name): the agent process that started this shell."""
    ppid = os.getppid() if ppid is None else ppid
    try:
        fd = os.open(f"/proc/{ppid}/stat", os.O_RDONLY | os.O_CLOEXEC)
        try:
            stat = os.read(fd, 4096).decode("utf-8", "replace")
        finally:
            os.close(fd)
        close = stat.rfind(")")
        started = stat[close + 2:].split(None, 20)[19]
        return f"{ppid}-{started}", stat[stat.find("(") + 1:close]
    except (OSError, IndexError):
        return str(ppid), ""


def _getenv(env: Mapping[str, str], name: str) -> str | None:
    data = getattr(env, "_data", None)  # os.environ: skip its per-lookup encoding
    if data is not None and os.name == "posix":
        value = data.get(name.encode())
        return None if value is None else value.decode("utf-8", "surrogateescape")
    return env.get(name)


def detect_agent(env: Mapping[str, str], parent_comm: str) -> str | None:
    """Which agent runs this shell, from markers agents set (informational: env can lie)."""
    named = _getenv(env, "GUARDSH_AGENT")
    if named:
        return named
    if _getenv(env, "CLAUDECODE") or _getenv(env, "CLAUDE_CODE_ENTRYPOINT"):
        return "claude-code"
    if _getenv(env, "CODEX_SANDBOX") or _getenv(env, "CODEX_SANDBOX_NETWORK_DISABLED") or _getenv(env, "CODEX_MANAGED_BY_NPM"):
        return "codex"
    if _getenv(env, "GEMINI_CLI"):
        return "gemini-cli"
    comm = parent_comm.lower()
    for name in KNOWN_AGENTS:
        if comm == name or comm.startswith(name + "-") or comm.startswith(name + "."):
            return name
    return None


def user_name(uid: int) -> str:
    """The login name of ``uid`` from /etc/passwd (the pwd module's NSS set-up costs ~0.2 ms)."""
    want = str(uid).encode()
    try:
        fd = os.open("/etc/passwd", os.O_RDONLY | os.O_CLOEXEC)
        try:
            data = os.read(fd, os.fstat(fd).st_size + 1)  # a size hint: a 1 MB buffer costs 20 us
        finally:
            os.close(fd)
    except OSError:
        data = b""
    needle = b":" + want + b":"
    at = data.find(needle)
    while at >= 0:
        start = data.rfind(b"\n", 0, at) + 1
        if data.count(b":", start, at) == 1:  # name:password:UID:
            return data[start:data.index(b":", start)].decode("utf-8", "replace")
        at = data.find(needle, at + 1)
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return str(uid)


def invocation_fields(
    command: str | None,
    verdict: Verdict | None,
    outcome: str,
    *,
    cwd: str | None = None,
    decision: str | None = None,
    risk: str | None = None,
    error: str | None = None,
    approval: str | None = None,
    approver: str | None = None,
    exit_status: int | None = None,
    duration_ms: float | None = None,
    env: Mapping[str, str] | None = None,
    now: float | None = None,
    pid: int | None = None,
    ppid: int | None = None,
    snapshot: str | None = None,
    preview: list[str] | None = None,
    uid: int | None = None,
) -> list[tuple[str, object]]:
    """The fields of one invocation record, in the order they are written.  ``pid``/``ppid``:
    the shell's and its parent's (default: this process's; the resident classifier names its client)."""
    env = os.environ if env is None else env
    now = time.time() if now is None else now
    session, comm = _parent(ppid)
    given_session = _getenv(env, "GUARDSH_SESSION")
    uid = os.getuid() if uid is None else uid  # the resident classifier's client may be another user
    if verdict is not None:
        decision = decision or verdict.decision.label
        risk = risk or verdict.risk.label
        rules = list(dict.fromkeys(m.rule for m in verdict.matches))
        parse = verdict.parse
        command = verdict.command if command is None else command
    else:
        rules, parse = [], None
    if cwd is None:
        try:
            cwd = os.getcwd()
        except OSError:
            cwd = _getenv(env, "PWD")
    return [
        ("time", iso_time(now)),
        ("session", given_session or session),
        ("agent", detect_agent(env, comm)),
        ("user", user_name(uid)),
        ("uid", uid),
        ("host", os.uname().nodename),
        ("pid", os.getpid() if pid is None else pid),
        ("cwd", cwd),
        ("command", command),
        ("risk", risk),
        ("decision", decision),
        ("rules", rules),
        ("parse", parse),
        ("outcome", outcome),
        ("approval", approval),
        ("approver", approver),
        ("exit", exit_status),
        ("duration_ms", duration_ms),
        ("error", error),
    ] + ([("snapshot", snapshot)] if snapshot else []) + (  # saved first: guardsh undo ID takes it back
        [("preview", list(preview))] if preview is not None else [])  # issue 15: what the approver was shown


def record_invocation(
    command: str | None,
    verdict: Verdict | None,
    outcome: str,
    config: Config | None = None,
    **details: object,
) -> tuple[int, str]:
    """Append the record of one guarded invocation; raises AuditError when it cannot.

    ``outcome`` is what guardsh did: ``exec`` (handed to bash: the record is written before
    the exec, so ``exit`` and ``duration_ms`` stay null), ``refused`` (exit 126), or
    ``error``.  ``details`` are the keyword fields of ``invocation_fields`` (approval,
    approver, exit_status, duration_ms, error, decision, risk, cwd, snapshot).
    """
    fields = invocation_fields(command, verdict, outcome, **details)  # type: ignore[arg-type]
    return append(log_path(config), fields)
