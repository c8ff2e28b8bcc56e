"""Take a snapshot: save every file, directory, symlink and piece of git state a plan names.

The whole snapshot is on disk (objects and manifest fsynced, the directory renamed into place)
before ``take`` returns, so a crash between the snapshot and the command loses nothing.
"""
from __future__ import annotations

import os
import stat
import time
from typing import Callable

from guardsh.engine.undoplan import FileTarget, GitTarget
from guardsh.undo import gitstate
from guardsh.undo.store import MB, SnapshotError, Store, TooLarge

DAY = 86400.0


class Limits:
    """The caps and retention of the config's ``undo:`` settings."""

    def __init__(self, settings: dict[str, object]) -> None:
        self.snapshot_bytes = int(float(settings.get("max_snapshot_mb", 512)) * MB)  # type: ignore[arg-type]
        self.total_bytes = int(float(settings.get("max_total_mb", 4096)) * MB)  # type: ignore[arg-type]
        self.max_age = float(settings.get("max_age_days", 7)) * DAY  # type: ignore[arg-type]


Skip = Callable[[str], bool]


def _entries(targets: list[FileTarget], limit: int, skip: Skip | None = None,
             skipped: list[str] | None = None) -> tuple[list[tuple[str, os.stat_result | None, bool]], int]:
    """(path, lstat or None when absent, unlink-only) for every path under the targets, parents
    first, but not what ``skip`` says needs no saving (regenerable: node_modules, build...);
    raises TooLarge as soon as the files add up to more than ``limit`` bytes."""
    seen: set[str] = set()
    out: list[tuple[str, os.stat_result | None, bool]] = []
    total = 0
    for target in targets:
        stack = [target.path]
        while stack:
            path = stack.pop()
            if path in seen:
                continue
            seen.add(path)
            if skip is not None and skip(path):
                if skipped is not None:
                    skipped.append(path)
                continue
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                out.append((path, None, target.unlinks))
                continue
            except OSError as e:
                raise SnapshotError(f"cannot read {path}: {e.strerror}") from None
            out.append((path, st, target.unlinks))
            if stat.S_ISREG(st.st_mode):
                total += st.st_size
                if total > limit:
                    raise TooLarge(f"what it destroys is over the snapshot cap of {limit // MB} MB "
                                   "(undo.max_snapshot_mb)")
            elif stat.S_ISDIR(st.st_mode):
                try:
                    names = sorted(os.listdir(path), reverse=True)
                except OSError as e:
                    raise SnapshotError(f"cannot read {path}: {e.strerror}") from None
                stack.extend(os.path.join(path, n) for n in names)
    return out, total


def take(files: list[FileTarget], gits: list[GitTarget], command: str, cwd: str, workspace: str | None,
         limits: Limits, store: Store | None = None, kind: str = "command",
         skip: Skip | None = None) -> dict[str, object]:
    """Save what ``files`` and ``gits`` name; returns the manifest (its ``id`` names the snapshot)."""
    store = store or Store()
    now = time.time()
    try:
        fd = store.shared()
    except OSError as e:
        raise SnapshotError(f"cannot open the snapshot store {store.base}: {e.strerror}") from None
    try:
        sid = store.new_id(now)
        git_entries = []
        keeps = []
        targets = list(files)
        for g in gits:
            entry, more, keep = gitstate.capture(g)
            git_entries.append(entry)
            keeps.append((str(entry["gitdir"]), keep))
            targets += more
        skipped: list[str] = []
        found, total = _entries(targets, limits.snapshot_bytes, skip, skipped)
        saved = []
        for path, st, unlinks in found:
            if st is None:
                saved.append({"path": path, "type": "absent"})
                continue
            item: dict[str, object] = {"path": path, "mode": stat.S_IMODE(st.st_mode), "mtime_ns": st.st_mtime_ns}
            if stat.S_ISREG(st.st_mode):
                try:
                    digest, size = store.put_file(path, link=unlinks and st.st_nlink >= 1)
                except OSError as e:
                    raise SnapshotError(f"cannot save {path}: {e.strerror}") from None
                item.update(type="file", hash=digest, size=size)
            elif stat.S_ISDIR(st.st_mode):
                item["type"] = "dir"
            elif stat.S_ISLNK(st.st_mode):
                item.update(type="symlink", target=os.readlink(path))
            else:
                item["type"] = "other"  # a fifo, socket or device node: not content guardsh can keep
            saved.append(item)
        for gitdir, keep in keeps:
            gitstate.keep_alive(gitdir, sid, keep)
        manifest: dict[str, object] = {
            "id": sid, "time": now, "iso": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
            "kind": kind, "command": command, "cwd": cwd, "workspace": workspace,
            "paths": saved, "git": git_entries, "bytes": total, "pid": os.getpid(),
            "not_saved": {"regenerable": skipped} if skipped else {},
        }
        try:
            store.write_manifest(manifest)
        except OSError as e:
            raise SnapshotError(f"cannot write the snapshot manifest: {e.strerror}") from None
    finally:
        store.release(fd)
    try:
        if store.due(now, total, limits.total_bytes):
            store.prune(limits.total_bytes, limits.max_age, keep=sid, now=now)
    except OSError:
        pass  # pruning is housekeeping: the snapshot itself is complete
    return manifest
