#!/usr/bin/env python3
"""The extra time a snapshot (issue 14) adds before a destructive command: 1 file, 1,000 files,
a 100 MB tree.

Rows, each timed end to end as an agent runs it (a real launcher, ``python -IS``), in one run:

- ``bash -c 'rm -rf T'``: the reference;
- ``guardsh -c 'rm -rf T'`` with ``undo: {enabled: false}`` and ``decisions: {destructive: allow}``:
  guardsh without snapshots;
- ``guardsh -c 'rm -rf T'`` with the default undo settings: the snapshot is taken, then rm runs.
  ``rm`` only unlinks, so its files are saved as hard links (no bytes copied);
- ``guardsh -c 'truncate -s 0 T/*'`` (the 1 and 1,000 file trees) / ``… T/*/*`` (100 MB): a
  command that writes through its targets, so every byte is copied first.

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
        results = []
        for label, (count, size) in TREES.items():
            glob = "T/*/*"
            rows = {
                "bash -c 'rm -rf T'": (["bash", "-c", "rm -rf T"], homes["off"]),
                "guardsh, no snapshot": ([launcher, "-c", "rm -rf T"], homes["off"]),
                "guardsh, snapshot (hard links)": ([launcher, "-c", "rm -rf T"], homes["on"]),
                "guardsh, snapshot (copies)": ([launcher, "-c", f"truncate -s 0 {glob}"], homes["on"]),
            }
            figures = {}
            for row, (cmd, env) in rows.items():
                times = []
                for run in range(args.runs + 1):  # the first run warms the caches and is not counted
                    build(ws / "T", count, size)
                    shutil.rmtree(Path(env["XDG_STATE_HOME"]) / "guardsh" / "snapshots", ignore_errors=True)
                    took = timed(cmd, ws, env)
                    if run:
                        times.append(took)
                figures[row] = statistics.median(times)
            ref = figures["bash -c 'rm -rf T'"]
            results.append({"tree": label, "files": count, "bytes": count * size,
                            "seconds": figures, "ratio_vs_bash": {k: v / ref for k, v in figures.items()},
                            "snapshot_extra_s": {k: v - figures["guardsh, no snapshot"] for k, v in figures.items()
                                                 if "snapshot (" in k}})
        if args.json:
            print(json.dumps(results, indent=1))
        else:
            for r in results:
                print(f"{r['tree']} ({r['files']} files, {r['bytes'] / (1 << 20):.1f} MB)")
                for row, secs in r["seconds"].items():
                    extra = r["snapshot_extra_s"].get(row)
                    more = f"   snapshot adds {extra * 1000:7.1f} ms" if extra is not None else ""
                    print(f"  {row:34} {secs * 1000:8.1f} ms  {r['ratio_vs_bash'][row]:6.1f}x bash{more}")
        return 0
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
