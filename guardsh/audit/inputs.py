"""Read command logs for ``guardsh audit``: every command an input holds, with its line.

Formats (``FORMATS``), detected from the content when not given:

- ``plain``: one command per line (blank lines and ``#`` comment lines are not commands).
- ``bash``: ~/.bash_history; with ``#<epoch>`` timestamp lines (HISTTIMEFORMAT set) everything
  up to the next timestamp is one entry, which is how bash writes multi-line commands.
- ``zsh``: ~/.zsh_history, extended (``: <epoch>:<secs>;cmd``) or not; a line ending in a
  backslash continues the entry (zsh writes an embedded newline as ``\\`` + newline);
  "metafied" bytes are decoded.
- ``fish``: fish_history (``- cmd: ...`` with ``\\n`` and ``\\\\`` escapes).
- ``jsonl``: one JSON object per line with ``command`` (a string, or an argv list) and an
  optional ``cwd``.
- ``claude``: Claude Code session transcripts (``~/.claude/projects/*/*.jsonl``): the Bash
  tool calls (``message.content[]`` items ``{"type": "tool_use", "name": "Bash", "input":
  {"command": ...}}``), with the line's ``cwd``.
- ``codex``: Codex session rollouts (``~/.codex/sessions/**/rollout-*.jsonl``): ``function_call``
  items named ``shell``/``exec_command``/``shell_command`` (``arguments`` hold ``command`` as an
  argv list or a string, or ``cmd``) and ``local_shell_call`` items; ``workdir`` or the
  session's ``cwd``.  An argv ``[bash, -lc, SCRIPT]`` yields SCRIPT.
- ``guardsh``: guardsh's own audit log (``command`` and ``cwd`` of each record).

A reader yields ``Entry`` (a command) and ``Skipped`` (a malformed line: reported, not fatal)
in input order.  Line numbers are 1-based and name the line an entry starts on.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, BinaryIO, Iterable, Iterator

FORMATS = ("plain", "bash", "zsh", "fish", "jsonl", "claude", "codex", "guardsh")
SNIFF_LINES = 50
SHELLS = frozenset({"bash", "sh", "zsh", "dash", "ksh"})
CODEX_SHELL_TOOLS = frozenset({"shell", "container.exec", "exec_command", "shell_command", "local_shell"})

BASH_STAMP = re.compile(rb"^#\d{9,11}\s*$")
ZSH_HEADER = re.compile(rb"^: (\d+):(\d+);")
ZSH_HEADER_BROKEN = re.compile(rb"^: \d{6,}")  # an epoch, but not a whole header


class Entry:
    """One command read from an input: where it was, its text and (if known) its cwd."""

    __slots__ = ("source", "line", "command", "cwd")

    def __init__(self, source: str, line: int, command: str, cwd: str | None = None) -> None:
        self.source = source
        self.line = line
        self.command = command
        self.cwd = cwd

    def __repr__(self) -> str:
        return f"Entry({self.source}:{self.line}: {self.command!r}, cwd={self.cwd!r})"


class Skipped:
    """A malformed line: reported with file and line, then skipped."""

    __slots__ = ("source", "line", "reason")

    def __init__(self, source: str, line: int, reason: str) -> None:
        self.source = source
        self.line = line
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}"

    def __repr__(self) -> str:
        return f"Skipped({self})"


class InputError(Exception):
    """An input cannot be read at all (missing file, unknown format)."""


class Source:
    """An open input: its name, its bytes read so far (for progress) and its size if known."""

    def __init__(self, name: str, stream: BinaryIO, size: int | None) -> None:
        self.name = name
        self.stream = stream
        self.size = size
        self.done = 0

    def lines(self) -> Iterator[bytes]:
        for raw in self.stream:
            self.done += len(raw)
            yield raw


def open_source(path: str) -> Source:
    if path == "-":
        return Source("-", sys.stdin.buffer, None)
    try:
        f = open(path, "rb")
        size: int | None = os.fstat(f.fileno()).st_size
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror or e}") from None
    return Source(path, f, size)


def read_input(path: str, fmt: str = "auto", source: Source | None = None) -> Iterator[Entry | Skipped]:
    """Every command in one input (a path, or ``-`` for stdin), in order."""
    src = source or open_source(path)
    try:
        lines = src.lines()
        head: list[bytes] = []
        for raw in lines:
            head.append(raw)
            if len(head) >= SNIFF_LINES:
                break
        if fmt == "auto":
            fmt = detect_format(head, src.name)
        if fmt not in READERS:
            raise InputError(f"unknown input format {fmt!r} (use {', '.join(FORMATS)} or auto)")
        yield from READERS[fmt](src.name, _chain(head, lines))
    finally:
        if src.stream is not sys.stdin.buffer:
            src.stream.close()


def _chain(head: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    yield from head
    yield from rest


# --- detection ----------------------------------------------------------------------------

def detect_format(head: list[bytes], name: str = "") -> str:
    """The format of an input from its first lines (and its file name as a tie-breaker)."""
    lines = [raw.rstrip(b"\r\n") for raw in head if raw.strip()]
    base = os.path.basename(name)
    if not lines:
        return "plain"
    if lines[0].lstrip().startswith(b"{"):
        return _detect_json(lines)
    if lines[0].startswith(b"- cmd: ") or "fish_history" in base:
        return "fish"
    if any(ZSH_HEADER.match(raw) for raw in lines) or "zsh_history" in base or base == ".histfile":
        return "zsh"
    if any(BASH_STAMP.match(raw) for raw in lines) or "bash_history" in base:
        return "bash"
    return "plain"


def _detect_json(lines: list[bytes]) -> str:
    for raw in lines[:SNIFF_LINES]:
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(obj, dict):
            continue
        kind = obj.get("type")
        if "hash" in obj and "prev" in obj and "seq" in obj:
            return "guardsh"
        if "sessionId" in obj or (kind in ("user", "assistant", "summary", "system") and
                                  ("message" in obj or "uuid" in obj or "leafUuid" in obj)):
            return "claude"
        if "payload" in obj and kind in ("session_meta", "response_item", "turn_context", "event_msg", "compacted"):
            return "codex"
        if kind in ("function_call", "function_call_output", "local_shell_call", "reasoning") \
                or obj.get("record_type") == "state" or ("instructions" in obj and "id" in obj):
            return "codex"
        if "command" in obj or "cmd" in obj:
            return "jsonl"
    return "jsonl"


# --- text formats ---------------------------------------------------------------------------

def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _strip_eol(raw: bytes) -> bytes:
    if raw.endswith(b"\n"):
        raw = raw[:-1]
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    return raw


def read_plain(name: str, lines: Iterable[bytes]) -> Iterator[Entry | Skipped]:
    """One command per line (a trailing backslash does not join lines: real one-line logs
    hold commands cut short after a backslash, and joining would merge two commands)."""
    for number, raw in enumerate(lines, 1):
        raw = _strip_eol(raw)
        if b"\0" in raw:
            yield Skipped(name, number, "binary data (a NUL byte) in a command line")
        elif raw.strip() and not raw.lstrip().startswith(b"#"):
            yield Entry(name, number, _text(raw))


def read_bash(name: str, lines: Iterable[bytes]) -> Iterator[Entry | Skipped]:
    """bash history: with timestamps, an entry runs from one ``#<epoch>`` line to the next."""
    block: list[bytes] = []
    start = 0
    stamped = False

    def flush() -> Iterator[Entry | Skipped]:
        text = b"\n".join(block)
        if b"\0" in text:
            yield Skipped(name, start, "binary data (a NUL byte) in a history entry")
        elif text.strip():
            yield Entry(name, start, _text(text))

    for number, raw in enumerate(lines, 1):
        raw = _strip_eol(raw)
        if BASH_STAMP.match(raw):
            yield from flush()
            block, start, stamped = [], number + 1, True
            continue
        if stamped:
            if not block:
                start = number
            block.append(raw)
            continue
        block, start = [raw], number  # no timestamps yet: one line, one entry
        yield from flush()
        block = []
    if stamped:
        yield from flush()


def unmetafy(raw: bytes) -> bytes:
    """zsh stores some bytes as 0x83 followed by the byte XOR 32."""
    if b"\x83" not in raw:
        return raw
    out = bytearray()
    i, n = 0, len(raw)
    while i < n:
        b = raw[i]
        if b == 0x83 and i + 1 < n:
            out.append(raw[i + 1] ^ 32)
            i += 2
        else:
            out.append(b)
            i += 1
    return bytes(out)


def read_zsh(name: str, lines: Iterable[bytes]) -> Iterator[Entry | Skipped]:
    parts: list[bytes] = []
    start = 0
    for number, raw in enumerate(lines, 1):
        raw = unmetafy(_strip_eol(raw))
        if not parts:
            start = number
            header = ZSH_HEADER.match(raw)
            if header:
                raw = raw[header.end():]
            elif ZSH_HEADER_BROKEN.match(raw):
                yield Skipped(name, number, "malformed zsh extended-history header (expected ': <epoch>:<seconds>;')")
                continue
            elif not raw.strip():
                continue
        if raw.endswith(b"\\") and not raw.endswith(b"\\\\"):
            parts.append(raw[:-1])  # zsh writes a newline inside an entry as backslash-newline
            continue
        parts.append(raw)
        text = b"\n".join(parts)
        parts = []
        if b"\0" in text:
            yield Skipped(name, start, "binary data (a NUL byte) in a history entry")
        elif text.strip():
            yield Entry(name, start, _text(text))
    if parts:
        yield Entry(name, start, _text(b"\n".join(parts)))


_FISH_ESCAPE = re.compile(r"\\(.)", re.S)


def _fish_unescape(value: str) -> str:
    return _FISH_ESCAPE.sub(lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


def read_fish(name: str, lines: Iterable[bytes]) -> Iterator[Entry | Skipped]:
    for number, raw in enumerate(lines, 1):
        line = _text(_strip_eol(raw))
        if line.startswith("- cmd:"):
            yield Entry(name, number, _fish_unescape(line[6:].lstrip(" ")))
        elif not line.strip() or line.startswith(("  when:", "  paths:", "    - ")):
            continue
        else:
            yield Skipped(name, number, "not a fish history line (expected '- cmd:', '  when:' or '  paths:')")


# --- JSON formats -------------------------------------------------------------------------

def _json_lines(name: str, lines: Iterable[bytes]) -> Iterator[tuple[int, Any, Skipped | None]]:
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except ValueError as e:
            yield number, None, Skipped(name, number, f"not valid JSON ({_json_error(e)})")
            continue
        if not isinstance(obj, dict):
            yield number, None, Skipped(name, number, f"expected a JSON object, found {type(obj).__name__}")
            continue
        yield number, obj, None


def _json_error(e: ValueError) -> str:
    msg, col = getattr(e, "msg", None), getattr(e, "colno", None)
    if not isinstance(msg, str):
        return str(e)
    return f"{msg}{'' if msg.endswith(' at') else ' at'} column {col}" if col else msg


def argv_text(argv: list[Any]) -> str | None:
    """The shell text an argv runs: SCRIPT for ``[bash, -lc, SCRIPT]``, else the quoted argv."""
    if not argv or not all(isinstance(a, str) for a in argv):
        return None
    if len(argv) == 3 and os.path.basename(argv[0]) in SHELLS and argv[1] in ("-c", "-lc", "-cl", "-ic"):
        return argv[2]  # type: ignore[no-any-return]
    return shlex.join(argv)


def _command_of(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return argv_text(value)
    return None


def _cwd_of(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def read_jsonl(name: str, lines: Iterable[bytes]) -> Iterator[Entry | Skipped]:
    for number, obj, bad in _json_lines(name, lines):
        if bad is not None:
            yield bad
            continue
        raw = obj.get("command", obj.get("cmd"))
        command = _command_of(raw)
        if command is None:
            what = "no 'command' field" if raw is None else "'command' is neither a string nor a list of strings"
            yield Skipped(name, number, what)
            continue
        yield Entry(name, number, command, _cwd_of(obj.get("cwd")))


def read_guardsh(name: str, lines: Iterable[bytes]) -> Iterator[Entry | Skipped]:
    for number, obj, bad in _json_lines(name, lines):
        if bad is not None:
            yield bad
            continue
        command = obj.get("command")
        if not isinstance(command, str):
            yield Skipped(name, number, "audit record without a 'command' string")
            continue
        yield Entry(name, number, command, _cwd_of(obj.get("cwd")))


def read_claude(name: str, lines: Iterable[bytes]) -> Iterator[Entry | Skipped]:
    for number, obj, bad in _json_lines(name, lines):
        if bad is not None:
            yield bad
            continue
        message = obj.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        cwd = _cwd_of(obj.get("cwd"))
        for item in content:
            if not (isinstance(item, dict) and item.get("type") == "tool_use" and item.get("name") == "Bash"):
                continue
            tool_input = item.get("input")
            command = tool_input.get("command") if isinstance(tool_input, dict) else None
            if not isinstance(command, str):
                yield Skipped(name, number, "Bash tool call without an input.command string")
                continue
            yield Entry(name, number, command, cwd)


def read_codex(name: str, lines: Iterable[bytes]) -> Iterator[Entry | Skipped]:
    cwd: str | None = None
    for number, obj, bad in _json_lines(name, lines):
        if bad is not None:
            yield bad
            continue
        kind = obj.get("type")
        payload = obj.get("payload")
        if isinstance(payload, dict):
            if kind in ("session_meta", "turn_context"):
                cwd = _cwd_of(payload.get("cwd")) or cwd
                continue
            if kind != "response_item":
                continue
            item = payload
        else:
            item = obj  # older rollouts: the items themselves, one per line
        found = _codex_call(item)
        if found is None:
            continue
        if isinstance(found, str):
            yield Skipped(name, number, found)
            continue
        command, workdir = found
        yield Entry(name, number, command, workdir or cwd)


def _codex_call(item: dict[str, Any]) -> tuple[str, str | None] | str | None:
    """(command, workdir) of a shell tool call item, an error message, or None if not one."""
    kind = item.get("type")
    if kind == "local_shell_call":
        action = item.get("action")
        if not isinstance(action, dict):
            return "local_shell_call without an action"
        command = _command_of(action.get("command"))
        if command is None:
            return "local_shell_call without a command argv"
        return command, _cwd_of(action.get("working_directory"))
    if kind != "function_call" or item.get("name") not in CODEX_SHELL_TOOLS:
        return None
    args = item.get("arguments")
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except ValueError as e:
            return f"{item.get('name')} call: arguments are not valid JSON ({_json_error(e)})"
    if not isinstance(args, dict):
        return f"{item.get('name')} call: arguments are not a JSON object"
    command = _command_of(args.get("command", args.get("cmd")))
    if command is None:
        return f"{item.get('name')} call without a command (a string or an argv list)"
    return command, _cwd_of(args.get("workdir") or args.get("cwd"))


READERS = {
    "plain": read_plain,
    "bash": read_bash,
    "zsh": read_zsh,
    "fish": read_fish,
    "jsonl": read_jsonl,
    "claude": read_claude,
    "codex": read_codex,
    "guardsh": read_guardsh,
}
