"""``guardsh log verify``: is the audit trail whole?  Names the line of an edited, removed,
reordered or truncated record.  Not on the hot path."""
from __future__ import annotations

import os

from guardsh.audit.trail import GENESIS, HEAD_SUFFIX, parse_head, record_hash
from guardsh.hashing import sha256_hex

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO, Iterator


class Verification:
    """What ``verify`` found: problems as (line or None for the whole file, message)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[tuple[int | None, str]] = []
        self.records = 0
        self.first_seq = 0
        self.last_seq = 0
        self.head: tuple[int, int, str] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, line: int | None, message: str) -> None:
        self.problems.append((line, message))


def verify(path: str) -> Verification:
    """Check every record's hash, every link, the sequence and the end against the head file.

    The head and the file's size are read together under a brief shared lock; the log is then
    checked up to that size without holding the lock, so guarded commands are not held up by a
    long check, and records appended meanwhile are left for the next check.
    """
    import json

    result = Verification(path)
    records: list[tuple[int, int, str, str]] = []  # (line, seq, prev, stored hash)
    size = 0
    with open(path, "rb") as f:
        result.head, limit = _snapshot(f, path)
        for number, raw in enumerate(_lines_up_to(f, limit), 1):
            size += len(raw)
            complete = raw.endswith(b"\n")
            line = raw[:-1] if complete else raw
            if not complete:
                result.add(number, "incomplete last line: a record was cut short (the file was truncated "
                                   "mid-record, or a write failed)")
                continue
            if not line.strip():
                result.add(number, "empty line where a record should be")
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                result.add(number, "not a valid record (broken JSON): the line was edited or damaged")
                continue
            hashed, stored = record_hash(line)
            if not (isinstance(obj, dict) and isinstance(obj.get("seq"), int) and isinstance(obj.get("prev"), str)
                    and stored is not None and obj.get("hash") == stored):
                result.add(number, "not an audit record (no seq, prev and hash at its end)")
                continue
            seq = obj["seq"]
            if sha256_hex(hashed) != stored:
                result.add(number, f"record {seq} was edited: its content no longer matches its hash")
            records.append((number, seq, obj["prev"], stored))
    _check_links(result, records)
    _check_end(result, records, size)
    result.records = len(records)
    if records:
        result.first_seq, result.last_seq = records[0][1], records[-1][1]
    result.problems.sort(key=lambda p: (p[0] is None, p[0] or 0))
    return result


def _snapshot(f: BinaryIO, path: str) -> tuple[tuple[int, int, str] | None, int]:
    """(head, file size) read together while no record is being appended."""
    import fcntl

    try:
        fcntl.lockf(f, fcntl.LOCK_SH)
    except OSError:
        pass  # a read-only copy, or a file system without locks: read it as it is
    try:
        try:
            with open(path + HEAD_SUFFIX, "rb") as h:
                head = parse_head(h.read(200))
        except OSError:
            head = None
        return head, os.fstat(f.fileno()).st_size
    finally:
        try:
            fcntl.lockf(f, fcntl.LOCK_UN)
        except OSError:
            pass


def _lines_up_to(f: BinaryIO, limit: int) -> Iterator[bytes]:
    left = limit
    for raw in f:
        if left <= 0:
            return
        if len(raw) > left:
            raw = raw[:left]
        left -= len(raw)
        yield raw


def _check_links(result: Verification, records: list[tuple[int, int, str, str]]) -> None:
    first_line: dict[str, int] = {}
    for number, seq, _prev, stored in records:
        if stored in first_line:
            result.add(number, f"record {seq} is a copy of the record on line {first_line[stored]}")
        else:
            first_line[stored] = number
    for k, (number, seq, prev, _stored) in enumerate(records):
        if k == 0:
            if prev != GENESIS:
                missing = f"{seq - 1} earlier record{'s are' if seq != 2 else ' is'} missing" if seq > 1 else \
                    "it is chained to a record that is not in the file"
                result.add(number, f"the log starts at record {seq}: {missing} (removed from the start)")
            continue
        before_line, before_seq, _, before_hash = records[k - 1]
        if prev == before_hash:
            if seq != before_seq + 1:
                result.add(number, f"record number {seq} does not follow {before_seq}: the record was edited")
            continue
        if prev == GENESIS:
            result.add(number, "a second chain starts here (record 1 again): records were inserted or the log was reset")
        elif prev in first_line:
            result.add(number, f"out of order: record {seq} belongs right after line {first_line[prev]} "
                               "(records were reordered)")
        elif seq > before_seq + 1:
            gap = seq - before_seq - 1
            result.add(number, f"{gap} record{'s' if gap != 1 else ''} missing before this line "
                               f"(record{'s' if gap != 1 else ''} {before_seq + 1}"
                               f"{f'–{seq - 1}' if gap != 1 else ''} removed)")
        else:
            result.add(number, f"record {seq} is not linked to the record before it (line {before_line}): "
                               "that record was replaced, or this one was inserted")


def _check_end(result: Verification, records: list[tuple[int, int, str, str]], size: int) -> None:
    head = result.head
    if head is None:
        if records:
            result.add(None, f"the head file {result.path + HEAD_SUFFIX} is missing or damaged: removal of "
                             "records from the end cannot be ruled out")
        return
    seq, head_size, digest = head
    if not records:
        if seq:
            result.add(None, f"the log holds no records but {seq} were written: all were removed")
        return
    last_line, last_seq, _, last_hash = records[-1]
    if digest == last_hash:
        if head_size != size and not result.problems:  # otherwise the problems found explain it
            result.add(None, f"the file is {size} bytes but {head_size} were written: bytes were added or "
                             "removed after the last record")
        return
    if seq > last_seq:
        gap = seq - last_seq
        result.add(None, f"truncated: the log ends at record {last_seq} (line {last_line}) but record {seq} was "
                         f"the last one written: {gap} record{'s were' if gap != 1 else ' was'} removed from the end")
    else:
        where = next((n for n, _, _, h in records if h == digest), None)
        if where is not None:
            result.add(None, f"the last record written (record {seq}) is on line {where}, not at the end: "
                             "records after it were added by hand or reordered")
        else:
            result.add(None, f"the last record does not match the head file (record {seq} was the last one "
                             "written): the end of the log was replaced")
