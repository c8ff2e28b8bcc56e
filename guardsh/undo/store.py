"""The snapshot store under guardsh's state directory.

::

    $XDG_STATE_HOME/guardsh/snapshots/
        objects/ab/cdef…      file contents, named by their SHA-256 (written once, never changed)
        snaps/ID/manifest.json one directory per snapshot; appears complete or not at all
        lock                   shared while a snapshot is written, exclusive while pruning

A snapshot is written into ``snaps/.tmp-ID/`` and renamed to ``snaps/ID/`` once its objects and
manifest are on disk (fsynced), so a crash leaves either a whole snapshot or a temporary
directory that pruning removes.  Two guardsh processes write two directories; an object both
save is written to a private temporary name and renamed into place, so neither sees half of it.
"""
from __future__ import annotations

import fcntl
import json
import os
import time

from guardsh import paths
from guardsh.undo.errors import SnapshotError, TooLarge

CHUNK = 1 << 20
MB = 1 << 20
PRUNE_EVERY = 60.0  # seconds


def root(env: dict[str, str] | None = None) -> str:
    return paths.snapshots_dir(env)


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def token(n: int = 3) -> str:
    return os.urandom(n).hex()  # ``secrets`` costs an import of random and hmac on every command


def _rmtree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _sha256() -> object:
    try:  # as guardsh.hashing: hashlib's OpenSSL binding costs ~2 ms to import
        from _sha256 import sha256  # type: ignore[import-not-found,unused-ignore]  # 3.11
    except ImportError:
        try:
            from _sha2 import sha256  # type: ignore[import-not-found,no-redef,unused-ignore]  # 3.12+
        except ImportError:
            from hashlib import sha256  # type: ignore[no-redef,assignment,unused-ignore]
    return sha256()


class Store:
    """One user's snapshots."""

    def __init__(self, base: str | None = None) -> None:
        self.base = base or root()
        self.objects = os.path.join(self.base, "objects")
        self.snaps = os.path.join(self.base, "snaps")
        self._lock_fd: int | None = None
        self.dirty: set[str] = set()  # object directories whose new entries are not yet fsynced

    # --- locking ---------------------------------------------------------------------------

    def _open_lock(self) -> int:
        for d in (self.base, self.objects, self.snaps):
            os.makedirs(d, mode=0o700, exist_ok=True)
        return os.open(os.path.join(self.base, "lock"), os.O_RDWR | os.O_CREAT, 0o600)

    def shared(self) -> int:
        """Hold the store open for writing a snapshot (pruning waits); returns the fd to release."""
        fd = self._open_lock()
        fcntl.flock(fd, fcntl.LOCK_SH)
        return fd

    @staticmethod
    def release(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    # --- objects ---------------------------------------------------------------------------

    def object_path(self, digest: str) -> str:
        return os.path.join(self.objects, digest[:2], digest[2:])

    def put_file(self, path: str, link: bool) -> tuple[str, int]:
        """Save a regular file's content; (sha256, bytes).  ``link``: the command only unlinks the
        file, so a hard link to it is as good as a copy (and costs no write)."""
        tmp_dir = os.path.join(self.objects, "tmp")
        os.makedirs(tmp_dir, mode=0o700, exist_ok=True)
        tmp = os.path.join(tmp_dir, f"{os.getpid()}-{token(6)}")
        h = _sha256()
        size = 0
        linked = False
        if link:
            try:
                os.link(path, tmp, follow_symlinks=False)
                linked = True
            except OSError:
                linked = False
        try:
            if linked:
                with open(tmp, "rb") as src:
                    while chunk := src.read(CHUNK):
                        h.update(chunk)  # type: ignore[attr-defined]
                        size += len(chunk)
                    os.fsync(src.fileno())  # data the agent just wrote must survive the rm and a crash
            else:
                with open(path, "rb") as src, open(tmp, "wb") as dst:
                    while chunk := src.read(CHUNK):
                        h.update(chunk)  # type: ignore[attr-defined]
                        dst.write(chunk)
                        size += len(chunk)
                    dst.flush()
                    os.fsync(dst.fileno())
            digest: str = h.hexdigest()  # type: ignore[attr-defined]
            final = self.object_path(digest)
            if os.path.exists(final):
                os.unlink(tmp)
            else:
                os.makedirs(os.path.dirname(final), mode=0o700, exist_ok=True)
                os.rename(tmp, final)
                self.dirty.add(os.path.dirname(final))  # fsynced once each, by sync_objects
            return digest, size
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    def sync_objects(self) -> None:
        """Make the names of the objects written so far durable (their data already is)."""
        for d in sorted(self.dirty):
            _fsync_dir(d)
        self.dirty.clear()

    def verify_object(self, digest: str) -> bool:
        try:
            return file_digest(self.object_path(digest)) == digest
        except OSError:
            return False

    # --- snapshots -------------------------------------------------------------------------

    @staticmethod
    def new_id(now: float) -> str:
        return time.strftime("%Y%m%d-%H%M%S", time.gmtime(now)) + "-" + token(3)

    def write_manifest(self, manifest: dict[str, object]) -> str:
        """Make the snapshot visible, complete and on disk; returns its id."""
        self.sync_objects()
        sid = str(manifest["id"])
        tmp = os.path.join(self.snaps, ".tmp-" + sid)
        os.makedirs(tmp, mode=0o700)
        path = os.path.join(tmp, "manifest.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        _fsync_dir(tmp)
        os.rename(tmp, os.path.join(self.snaps, sid))
        _fsync_dir(self.snaps)
        return sid

    def ids(self) -> list[str]:
        try:
            names = os.listdir(self.snaps)
        except FileNotFoundError:
            return []
        return sorted(n for n in names if not n.startswith("."))

    def load(self, sid: str) -> dict[str, object]:
        if "/" in sid or sid.startswith("."):
            raise SnapshotError(f"no snapshot {sid!r}")
        path = os.path.join(self.snaps, sid, "manifest.json")
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            raise SnapshotError(f"no snapshot {sid!r} in {self.snaps}") from None
        except (OSError, ValueError) as e:
            raise SnapshotError(f"{path}: cannot be read ({e})") from None
        if not isinstance(data, dict):
            raise SnapshotError(f"{path}: not a snapshot manifest")
        return data

    def manifests(self) -> list[dict[str, object]]:
        """Every readable snapshot, oldest first."""
        out = []
        for sid in self.ids():
            try:
                out.append(self.load(sid))
            except SnapshotError:
                continue
        out.sort(key=lambda m: (float(m.get("time", 0)), str(m.get("id"))))  # type: ignore[arg-type]
        return out

    def delete(self, manifest: dict[str, object]) -> None:
        """Remove one snapshot (its git refs too); objects go when nothing refers to them."""
        sid = str(manifest["id"])
        src = os.path.join(self.snaps, sid)
        trash = os.path.join(self.snaps, f".del-{sid}-{token(3)}")
        try:
            os.rename(src, trash)
        except FileNotFoundError:
            return
        from guardsh.undo.gitstate import drop_refs

        for g in manifest.get("git", ()) or ():  # type: ignore[union-attr]
            drop_refs(g, sid)
        _rmtree(trash)

    # --- caps and retention ------------------------------------------------------------------

    def due(self, now: float, added: int, max_total_bytes: int) -> bool:
        """Is a prune due?  At most once a minute (it reads every manifest), unless this snapshot
        alone is a tenth of the total cap."""
        try:
            last = os.stat(os.path.join(self.base, "pruned")).st_mtime
        except OSError:
            return True
        return now - last >= PRUNE_EVERY or added * 10 >= max_total_bytes

    def prune(self, max_total_bytes: int, max_age_s: float, keep: str | None = None,
              now: float | None = None) -> list[str]:
        """Drop snapshots older than ``max_age_s``, then the oldest until the objects fit in
        ``max_total_bytes`` (never ``keep``, the snapshot just taken); then unreferenced objects
        and leftovers of crashed writers.  Skipped when another process holds the store."""
        now = time.time() if now is None else now
        fd = self._open_lock()
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return []
            stamp = os.path.join(self.base, "pruned")
            with open(stamp, "w"):
                pass
            os.utime(stamp, (now, now))
            dropped = []
            manifests = self.manifests()
            for m in list(manifests):
                if m.get("id") != keep and now - float(m.get("time", 0)) > max_age_s:  # type: ignore[arg-type]
                    self.delete(m)
                    manifests.remove(m)
                    dropped.append(str(m["id"]))
            self._collect(manifests, now)
            total = self.total_bytes()
            for m in list(manifests):
                if total <= max_total_bytes:
                    break
                if m.get("id") == keep:
                    continue
                self.delete(m)
                manifests.remove(m)
                dropped.append(str(m["id"]))
                self._collect(manifests, now)
                total = self.total_bytes()
            return dropped
        finally:
            self.release(fd)

    def _collect(self, manifests: list[dict[str, object]], now: float) -> None:
        """Remove objects no snapshot names, and temporaries older than an hour (held: exclusive lock)."""
        wanted = {str(p["hash"]) for m in manifests for p in m.get("paths", ()) or ()  # type: ignore[union-attr]
                  if isinstance(p, dict) and p.get("hash")}
        for name in os.listdir(self.snaps):
            if name.startswith("."):
                path = os.path.join(self.snaps, name)
                try:
                    if name.startswith(".del-") or now - os.stat(path).st_mtime > 3600:
                        _rmtree(path)
                except OSError:
                    pass
        for entry in os.scandir(self.objects):
            if not entry.is_dir(follow_symlinks=False):
                continue
            for obj in os.scandir(entry.path):
                if entry.name == "tmp":
                    continue  # a writer in progress holds a shared lock, so these are crash leftovers
                if entry.name + obj.name not in wanted:
                    try:
                        os.unlink(obj.path)
                    except OSError:
                        pass
        tmp = os.path.join(self.objects, "tmp")
        if os.path.isdir(tmp):
            for obj in os.scandir(tmp):
                try:
                    os.unlink(obj.path)
                except OSError:
                    pass

    def total_bytes(self) -> int:
        total = 0
        try:
            for entry in os.scandir(self.objects):
                if entry.is_dir(follow_symlinks=False) and entry.name != "tmp":
                    for obj in os.scandir(entry.path):
                        try:
                            total += obj.stat(follow_symlinks=False).st_size
                        except OSError:
                            pass
        except FileNotFoundError:
            return 0
        return total


def file_digest(path: str) -> str:
    h = _sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)  # type: ignore[attr-defined]
    return h.hexdigest()  # type: ignore[attr-defined,no-any-return]


__all__ = ["MB", "SnapshotError", "Store", "TooLarge", "file_digest", "root"]
