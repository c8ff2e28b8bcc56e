"""What git can give back: a work-tree path whose content is the one in the index.

A file that is tracked and has no unstaged change comes back with ``git restore PATH`` after it
is deleted or overwritten, so destroying it loses nothing. This module reads the repository's
index (versions 2 to 4) and hashes the files the way git does (``blob <size>\\0<content>``), so
that the engine can tell such files from the rest. It only reads; anything it cannot be sure
of (an unreadable or unknown index, a file too large to hash, a submodule, an entry git is told
to ignore changes of, an untracked file anywhere in a directory) is not recoverable.
"""

from __future__ import annotations

import os
import stat

MAX_FILE = 16 * 1024 * 1024  # bytes hashed for one file
MAX_ENTRIES = 5000  # files and directories looked at under one directory
MAX_BYTES = 64 * 1024 * 1024  # bytes hashed under one directory
MAX_DEPTH = 64  # directory levels below it (deeper: not recoverable, rather than a deep recursion)


class Index:
    """The entries of one repository's index: path (relative to the work tree) -> (mode, sha1)."""

    __slots__ = ("root", "entries", "dirs")

    def __init__(self, root: str, entries: dict[str, tuple[int, str]]) -> None:
        self.root = root
        self.entries = entries
        dirs: set[str] = set()
        for path in entries:
            parts = path.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                dirs.add("/".join(parts[:i]))
        self.dirs = dirs


def parse_index(data: bytes) -> dict[str, tuple[int, str]] | None:
    """The index file's entries, or None when it is not an index this module understands.

    Entries that git would not restore as they are (skip-worktree, assume-unchanged,
    intent-to-add, conflict stages) are left out, so their paths count as untracked."""
    if len(data) < 12 or data[:4] != b"DIRC":
        return None
    version = int.from_bytes(data[4:8], "big")
    if version not in (2, 3, 4):
        return None
    count = int.from_bytes(data[8:12], "big")
    pos = 12
    entries: dict[str, tuple[int, str]] = {}
    previous = b""
    for _ in range(count):
        start = pos
        if pos + 62 > len(data):
            return None
        mode = int.from_bytes(data[pos + 24:pos + 28], "big")
        sha = data[pos + 40:pos + 60].hex()
        flags = int.from_bytes(data[pos + 60:pos + 62], "big")
        pos += 62
        extended = 0
        if flags & 0x4000:
            if version < 3 or pos + 2 > len(data):
                return None
            extended = int.from_bytes(data[pos:pos + 2], "big")
            pos += 2
        if version == 4:
            strip, pos = _varint(data, pos)
            end = data.find(b"\0", pos)
            if end < 0 or strip > len(previous):
                return None
            name = previous[:len(previous) - strip] + data[pos:end]
            pos = end + 1
        else:
            end = data.find(b"\0", pos)
            if end < 0:
                return None
            name = data[pos:end]
            pos = start + ((end - start + 8) // 8) * 8  # NUL-padded to a multiple of 8
        previous = name
        stage = (flags >> 12) & 3
        if stage or flags & 0x8000 or extended & (0x4000 | 0x2000):
            continue  # a conflict, assume-valid, skip-worktree or intent-to-add entry
        try:
            entries[name.decode()] = (mode, sha)
        except UnicodeDecodeError:
            return None
    return entries


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """git's offset encoding for version-4 path prefixes."""
    if pos >= len(data):
        return 1 << 62, pos
    byte = data[pos]
    value = byte & 0x7F
    pos += 1
    while byte & 0x80:
        if pos >= len(data):
            return 1 << 62, pos
        byte = data[pos]
        value = ((value + 1) << 7) | (byte & 0x7F)
        pos += 1
    return value, pos


def work_tree_of(path: str) -> tuple[str, str] | None:
    """(work tree root, git dir) of the repository holding ``path``, or None."""
    directory = path if os.path.isdir(path) and not os.path.islink(path) else os.path.dirname(path)
    while True:
        dot = os.path.join(directory, ".git")
        if os.path.isdir(dot):
            return directory, dot
        if os.path.isfile(dot):
            try:
                with open(dot, encoding="utf-8", errors="replace") as f:
                    line = f.readline().strip()
            except OSError:
                return None
            if line.startswith("gitdir:"):
                gitdir = line[7:].strip()
                return directory, os.path.normpath(os.path.join(directory, gitdir))
            return None
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def load_index(root: str, gitdir: str) -> Index | None:
    try:
        with open(os.path.join(gitdir, "index"), "rb") as f:
            data = f.read()
    except OSError:
        return None
    entries = parse_index(data)
    return Index(root, entries) if entries is not None else None


def blob_sha(path: str, st: os.stat_result) -> str | None:
    """git's object name for the file's content (a symlink: its target), or None."""
    if stat.S_ISLNK(st.st_mode):
        try:
            content = os.readlink(path).encode()
        except OSError:
            return None
    else:
        if st.st_size > MAX_FILE:
            return None
        try:
            with open(path, "rb") as f:
                content = f.read(MAX_FILE + 1)
        except OSError:
            return None
    import hashlib  # only when a destruction is judged (the allowed hot path never hashes)

    h = hashlib.sha1(b"blob %d\0" % len(content))
    h.update(content)
    return h.hexdigest()


def _file_matches(index: Index, rel: str, path: str, st: os.stat_result) -> bool:
    entry = index.entries.get(rel)
    if entry is None:
        return False
    mode, sha = entry
    if stat.S_ISLNK(st.st_mode):
        if mode != 0o120000:
            return False
    elif stat.S_ISREG(st.st_mode):
        if mode not in (0o100644, 0o100755):
            return False
        if bool(st.st_mode & 0o100) != (mode == 0o100755):
            return False  # a changed executable bit is a local change too
    else:
        return False
    return blob_sha(path, st) == sha


def recoverable(index: Index, path: str) -> bool:
    """Whether deleting or overwriting ``path`` loses nothing ``git restore`` cannot bring back."""
    if not _under(path, index.root) or path == index.root:
        return False
    rel = path[len(index.root) + 1:]
    if rel == ".git" or rel.startswith(".git/"):
        return False
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode):
        return _file_matches(index, rel, path, st)
    if rel not in index.dirs:
        return False  # nothing in it is tracked
    budget = [MAX_ENTRIES, MAX_BYTES]
    return _dir_matches(index, rel, path, budget)


def _dir_matches(index: Index, rel: str, path: str, budget: list[int], depth: int = 0) -> bool:
    if depth > MAX_DEPTH:
        return False
    try:
        items = list(os.scandir(path))
    except OSError:
        return False
    for item in items:
        budget[0] -= 1
        if budget[0] < 0:
            return False
        sub_rel = f"{rel}/{item.name}"
        if item.name == ".git":
            return False  # a nested repository or submodule
        try:
            st = item.stat(follow_symlinks=False)
        except OSError:
            return False
        if stat.S_ISDIR(st.st_mode):
            if sub_rel in index.entries:
                return False  # a submodule (gitlink)
            if not _dir_matches(index, sub_rel, item.path, budget, depth + 1):
                return False
        else:
            budget[1] -= st.st_size
            if budget[1] < 0 or not _file_matches(index, sub_rel, item.path, st):
                return False
    return True


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")
