"""The snapshot store: caps, retention, two writers at once, a writer that dies half-way."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from guardsh.engine.undoplan import FileTarget, GitTarget
from guardsh.undo.restore import restore
from guardsh.undo.snapshot import DAY, Limits, take
from guardsh.undo.store import Store, TooLarge

REPO = Path(__file__).resolve().parents[2]


def files(root: Path, n: int, size: int, tag: str) -> list[FileTarget]:
    root.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        p = root / f"f{i}"
        unit = f"{tag}-{i}-".encode()
        p.write_bytes((unit * (size // len(unit) + 1))[:size])
        out.append(FileTarget(str(p), False))
    return out


def test_per_snapshot_cap(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "store"))
    targets = files(tmp_path / "ws", 3, 4096, "a")
    with pytest.raises(TooLarge):
        take(targets, [], "rm -rf ws", str(tmp_path), None, Limits({"max_snapshot_mb": 8192 / (1 << 20)}), store)
    assert store.ids() == [] and store.total_bytes() == 0  # nothing half-saved


def test_total_cap_drops_the_oldest(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "store"))
    limits = Limits({"max_total_mb": 25000 / (1 << 20)})  # room for two of the three 10 KB snapshots
    ids = []
    for tag in "abc":
        ids.append(take(files(tmp_path / tag, 1, 10000, tag), [], f"rm {tag}", str(tmp_path), None, limits,
                        store)["id"])
    assert store.ids() == sorted(ids[1:])
    assert store.total_bytes() == 20000  # the first one's object went with it


def test_retention_by_age_takes_files_and_git_refs(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q",
                    "--allow-empty", "-m", "x"], check=True)
    store = Store(str(tmp_path / "store"))
    m = take(files(repo / "d", 2, 100, "r"), [GitTarget(str(repo), "branch", refs="HEAD")], "git branch -D x",
             str(repo), str(repo), Limits({}), store)
    refs = subprocess.run(["git", "-C", str(repo), "for-each-ref", "refs/guardsh"], capture_output=True, text=True).stdout
    assert m["id"] in refs
    store.prune(1 << 40, 7 * DAY, now=time.time() + 6 * DAY)
    assert store.ids() == [m["id"]]
    store.prune(1 << 40, 7 * DAY, now=time.time() + 8 * DAY)
    assert store.ids() == [] and store.total_bytes() == 0
    refs = subprocess.run(["git", "-C", str(repo), "for-each-ref", "refs/guardsh"], capture_output=True, text=True).stdout
    assert refs == ""


WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {repo!r})
    from guardsh.engine.undoplan import FileTarget
    from guardsh.undo.snapshot import Limits, take
    from guardsh.undo.store import Store
    store_dir, ws, tag = sys.argv[1:4]
    import os
    targets = [FileTarget(os.path.join(ws, n), False) for n in sorted(os.listdir(ws))]
    print("ready", flush=True)
    sys.stdin.readline()  # go
    m = take(targets, [], "rm -rf " + ws, ws, ws, Limits({{}}), Store(store_dir))
    print(m["id"], flush=True)
""")


def test_two_agents_snapshot_one_workspace_at_once(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    files(ws, 300, 2000, "shared")
    store_dir = str(tmp_path / "store")
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(repo=str(REPO)))
    procs = [subprocess.Popen([sys.executable, str(script), store_dir, str(ws), str(i)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True) for i in range(2)]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline() == "ready\n"
    for p in procs:  # both start together
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    ids = []
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0
        ids.append(out.strip())
    store = Store(store_dir)
    assert sorted(ids) == store.ids() and ids[0] != ids[1]
    before = {n: (ws / n).read_bytes() for n in os.listdir(ws)}
    for sid in ids:
        m = store.load(sid)
        assert len(m["paths"]) == 300  # type: ignore[arg-type]
        for p in m["paths"]:  # type: ignore[union-attr]
            assert store.verify_object(p["hash"])
    for n in list(before)[:50]:
        (ws / n).unlink()
    result = restore(ids[1], store=store)
    assert not result.failed and {n: (ws / n).read_bytes() for n in os.listdir(ws)} == before


CRASHER = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, {repo!r})
    from guardsh.engine.undoplan import FileTarget
    from guardsh.undo import store as store_module
    from guardsh.undo.snapshot import Limits, take
    def die(self, manifest):  # the process is killed after the objects, before the manifest is in place
        os.makedirs(os.path.join(self.snaps, ".tmp-" + str(manifest["id"])))
        os.kill(os.getpid(), 9)
    store_module.Store.write_manifest = die
    take([FileTarget(sys.argv[2], False)], [], "rm x", "/", None, Limits({{}}), store_module.Store(sys.argv[1]))
""")


def test_a_writer_killed_half_way_leaves_no_snapshot_and_is_cleaned_up(tmp_path: Path) -> None:
    target = files(tmp_path / "ws", 1, 5000, "k")[0]
    store_dir = str(tmp_path / "store")
    script = tmp_path / "crasher.py"
    script.write_text(CRASHER.format(repo=str(REPO)))
    r = subprocess.run([sys.executable, str(script), store_dir, target.path])
    assert r.returncode == -9
    store = Store(store_dir)
    assert store.ids() == [] and store.manifests() == []  # no half snapshot is ever listed
    assert store.total_bytes() == 5000  # its object is there, referenced by nothing
    store.prune(1 << 40, 7 * DAY, now=time.time() + 7200)  # leftovers older than an hour go
    assert store.total_bytes() == 0 and os.listdir(store.snaps) == []
    assert Path(target.path).exists()  # and the command never ran
