#!/usr/bin/env python3
"""The extra time a snapshot (issue 14) adds before a destructive command: 1 file, 1,000 files,
a 100 MB tree.

Rows, in one run, for ``rm -rf T`` (rm only unlinks: its files are saved as hard links, no bytes
copied) and ``truncate -s 0 T/*/*`` (it writes through its targets: every byte is copied first):

- ``bash -c CMD``: the reference;
- ``guardsh -c CMD`` with ``undo: {enabled: false}`` and ``decisions: {destructive: allow}``:
  guardsh without snapshots, end to end (a real launcher, ``python -IS``);
- ``guardsh -c CMD`` with the default undo settings: the snapshot is taken, then the command runs;
- the snapshot alone (``take()`` in this process, hard links and copies): the time it adds before
  the command starts.  End to end, a hard-linked ``rm`` can even be faster than without a snapshot:
  its blocks are freed later, when the store is pruned.

The tree is rebuilt before every run (not timed); the store is emptied between runs so every
snapshot copies afresh.  Figures: median of ``--runs`` wall-clock seconds, and as ratios of the
``bash -c`` row.  The snapshot store and the tree live on the same file system (``--dir``,
default a temporary directory) as they do for a real workspace under $HOME.

    .venv/bin/python benchmarks/snapshot_cost.py
    .venv/bin/python benchmarks/snapshot_cost.py --runs 5 --json
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from latency import write_temp_launcher  # noqa: E402

TREES = {"1 file": (1, 4096), "1,000 files": (1000, 4096), "100 MB tree": (100, 1 << 20)}


def build(root: Path, count: int, size: int) -> None:
    if root.exists():
        shutil.rmtree(root)
    per_dir = 100
    block = os.urandom(min(size, 1 << 20))
    for i in range(count):
        d = root / f"d{i // per_dir}"
        d.mkdir(parents=True, exist_ok=True)
        with open(d / f"f{i}.bin", "wb") as f:
            written = 0
            while written < size:
                chunk = block[: size - written]
                f.write(chunk)
                written += len(chunk)
    subprocess.run(["sync"], check=False)


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    r = subprocess.run(argv, cwd=cwd, env=env, capture_output=True)
    took = time.perf_counter() - start
    if r.returncode != 0:
        sys.exit(f"snapshot_cost.py: {argv} failed ({r.returncode}): {r.stderr.decode()[-500:]}")
    return took


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", help="where the workspace and the store go (default: a temporary directory)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="guardsh-snapcost-", dir=args.dir))
    try:
        bindir = base / "bin"
        bindir.mkdir()
        launcher = str(write_temp_launcher(bindir))
        homes = {}
        for name, config in (("off", "undo: {enabled: false}\ndecisions: {destructive: allow}\n"), ("on", "{}\n")):
            home = base / f"home-{name}"
            (home / ".config" / "guardsh").mkdir(parents=True)
            (home / ".config" / "guardsh" / "config.yaml").write_text(config)
            env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "GUARDSH_", "BASH_ENV"))}
            env.update(HOME=str(home), XDG_STATE_HOME=str(home / "state"), XDG_CACHE_HOME=str(home / "cache"))
            homes[name] = env
        ws = base / "ws"
        ws.mkdir()
        subprocess.run(["git", "init", "-q", str(ws)], check=True)
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from guardsh.engine.undoplan import FileTarget
        from guardsh.undo.snapshot import Limits, take
        from guardsh.undo.store import Store

        results = []
        for label, (count, size) in TREES.items():
            commands = {"rm -rf T": "rm -rf T", "truncate": "truncate -s 0 T/*/*"}
            figures: dict[str, float] = {}
            for short, text in commands.items():
                rows = {
                    f"bash -c '{text}'": (["bash", "-c", text], homes["off"]),
                    f"guardsh -c '{text}', undo off": ([launcher, "-c", text], homes["off"]),
                    f"guardsh -c '{text}', undo on": ([launcher, "-c", text], homes["on"]),
                }
                for row, (cmd, env) in rows.items():
                    times = []
                    for run in range(args.runs + 1):  # the first run warms the caches and is not counted
                        build(ws / "T", count, size)
                        shutil.rmtree(Path(env["XDG_STATE_HOME"]) / "guardsh" / "snapshots", ignore_errors=True)
                        took = timed(cmd, ws, env)
                        if run:
                            times.append(took)
                    figures[row] = statistics.median(times)
            # the snapshot alone, as guardsh takes it before exec (in this process: no start-up)
            for mode, unlinks in (("hard links (rm)", True), ("copies (truncate)", False)):
                times = []
                for run in range(args.runs + 1):
                    build(ws / "T", count, size)
                    store_dir = base / "store"
                    shutil.rmtree(store_dir, ignore_errors=True)
                    start = time.perf_counter()
                    take([FileTarget(str(ws / "T"), unlinks)], [], "bench", str(ws), str(ws), Limits({}),
                         Store(str(store_dir)))
                    if run:
                        times.append(time.perf_counter() - start)
                figures[f"snapshot alone, {mode}"] = statistics.median(times)
            ref = figures["bash -c 'rm -rf T'"]
            results.append({"tree": label, "files": count, "bytes": count * size, "seconds": figures,
                            "ratio_vs_bash_rm": {k: v / ref for k, v in figures.items()}})
        if args.json:
            print(json.dumps(results, indent=1))
        else:
            for r in results:
                print(f"{r['tree']} ({r['files']} files, {r['bytes'] / (1 << 20):.1f} MB)")
                for row, secs in r["seconds"].items():
                    print(f"  {row:48} {secs * 1000:8.1f} ms  {r['ratio_vs_bash_rm'][row]:6.1f}x bash rm")
        return 0
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
