"""Put a snapshot back (``guardsh undo``).

Nothing that exists now is overwritten unsaved: the restore first takes a snapshot (kind
``restore``) of every path and ref it will change, so an undo can itself be undone.  Every file
put back is read again and checked against its hash.
"""
from __future__ import annotations

import os
import secrets
import shutil
import stat

from guardsh.engine.undoplan import FileTarget, GitTarget
from guardsh.undo import gitstate
from guardsh.undo.snapshot import Limits, take
from guardsh.undo.store import SnapshotError, Store, file_digest


class Result:
    def __init__(self) -> None:
        self.restored: list[str] = []    # "path (sha256 verified)" lines
        self.unchanged: list[str] = []
        self.git: list[str] = []
        self.manual: list[str] = []      # what guardsh cannot do itself (a push to another machine)
        self.failed: list[str] = []
        self.saved_as: str | None = None


def _differs(item: dict[str, object]) -> bool:
    path = str(item["path"])
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return True
    kind = item["type"]
    if kind == "dir":
        return not stat.S_ISDIR(st.st_mode) or stat.S_IMODE(st.st_mode) != item["mode"]
    if kind == "symlink":
        return not stat.S_ISLNK(st.st_mode) or os.readlink(path) != item["target"]
    if kind == "file":
        if not stat.S_ISREG(st.st_mode) or stat.S_IMODE(st.st_mode) != item["mode"] or st.st_size != item["size"]:
            return True
        try:
            return file_digest(path) != item["hash"]
        except OSError:
            return True
    return False


def _pre_targets(items: list[dict[str, object]]) -> list[FileTarget]:
    """What exists now where the restore will write: saved first."""
    out = []
    for item in items:
        path = str(item["path"])
        if item["type"] in ("file", "symlink", "dir") and os.path.lexists(path) and _differs(item):
            if item["type"] == "dir" and os.path.isdir(path) and not os.path.islink(path):
                continue  # only its mode changes; its contents are entries of their own
            out.append(FileTarget(path, False))
    return out


def _pre_git(entries: list[dict[str, object]]) -> list[GitTarget]:
    out = []
    for e in entries:
        t = GitTarget(str(e["cwd"]), "undo", refs="names", ref_names=tuple(e.get("restore_refs", ())),  # type: ignore[arg-type]
                      worktree=isinstance(e.get("worktree"), dict), stash=isinstance(e.get("stash"), list))
        push = e.get("push")
        if isinstance(push, dict):  # the remote's tips now, before the undo pushes the old ones back
            t.push = (str(push["remote"]),) + tuple(f"{d}:{d}" for d in push.get("tips", {}))
        out.append(t)
    return out


def _same_inode(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def _put_file(store: Store, item: dict[str, object]) -> None:
    path = str(item["path"])
    obj = store.object_path(str(item["hash"]))
    tmp = os.path.join(os.path.dirname(path), f".guardsh-undo-{secrets.token_hex(4)}")
    with open(obj, "rb") as src, open(tmp, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
        dst.flush()
        os.fsync(dst.fileno())
    os.chmod(tmp, int(item["mode"]))  # type: ignore[call-overload]
    mtime = int(item.get("mtime_ns", 0))  # type: ignore[call-overload]
    if mtime:
        os.utime(tmp, ns=(mtime, mtime))
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    os.replace(tmp, path)


def restore(sid: str, dry_run: bool = False, store: Store | None = None,
            limits: Limits | None = None) -> Result:
    store = store or Store()
    manifest = store.load(sid)
    items: list[dict[str, object]] = [p for p in manifest.get("paths", ()) if isinstance(p, dict)]  # type: ignore[union-attr]
    gits: list[dict[str, object]] = [g for g in manifest.get("git", ()) if isinstance(g, dict)]  # type: ignore[union-attr]
    result = Result()
    for item in list(items):
        if item["type"] == "file" and not store.verify_object(str(item["hash"])):
            if _same_inode(store.object_path(str(item["hash"])), str(item["path"])):
                # a hard link to a file the command did not delete after all, changed since: it is in
                # place, and the newer bytes are the ones to keep
                items.remove(item)
                result.unchanged.append(str(item["path"]))
                continue
            result.failed.append(f"{item['path']}: the saved copy is missing or changed (sha256 mismatch)")
    if result.failed:
        return result  # put back nothing rather than part
    if not dry_run:
        pre = take(_pre_targets(items), _pre_git(gits), f"guardsh undo {sid}", os.getcwd(),
                   str(manifest.get("workspace") or "") or None, limits or Limits({}), store, kind="restore")
        result.saved_as = str(pre["id"])
    moved: dict[int, bool] = {}
    for i, g in enumerate(gits):
        moved[i] = gitstate.restore_refs(g, result.git, dry_run)
    for i, g in enumerate(gits):
        gitstate.restore_worktree(g, moved[i], result.git, dry_run)
    dirs = []
    for item in sorted(items, key=lambda it: str(it["path"])):
        path = str(item["path"])
        kind = item["type"]
        if kind in ("absent", "other"):
            continue
        if not _differs(item):
            result.unchanged.append(path)
            continue
        if dry_run:
            result.restored.append(f"{path} ({kind})")
            continue
        try:
            if kind == "dir":
                if not os.path.isdir(path) or os.path.islink(path):
                    _remove(path)
                    os.makedirs(path, mode=0o700)
                dirs.append(item)
            elif kind == "symlink":
                os.makedirs(os.path.dirname(path), exist_ok=True)
                tmp = os.path.join(os.path.dirname(path), f".guardsh-undo-{secrets.token_hex(4)}")
                os.symlink(str(item["target"]), tmp)
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                os.replace(tmp, path)
                result.restored.append(f"{path} -> {item['target']} (symlink)")
            else:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                _put_file(store, item)
                if file_digest(path) != item["hash"]:
                    result.failed.append(f"{path}: written, but its sha256 does not match")
                else:
                    result.restored.append(f"{path} (sha256 {str(item['hash'])[:12]} verified)")
        except OSError as e:
            result.failed.append(f"{path}: {e.strerror or e}")
    for item in reversed(dirs):  # modes last, deepest first: a read-only directory is filled before
        try:
            os.chmod(str(item["path"]), int(item["mode"]))  # type: ignore[call-overload]
            result.restored.append(f"{item['path']}/ (directory, mode {int(item['mode']):o})")  # type: ignore[call-overload]
        except OSError as e:
            result.failed.append(f"{item['path']}: {e.strerror}")
    for g in gits:
        try:
            gitstate.restore_stash(g, result.git, dry_run)
            result.manual += gitstate.restore_push(g, result.git, dry_run)
        except SnapshotError as e:
            result.failed.append(str(e))
    return result
