#!/usr/bin/env python3
"""Commands per second through ``guardsh audit --format jsonl`` over a corpus of one-line commands.

What is timed is the whole command as a user runs it: a real launcher (``python -IS``, like
install.sh writes), the interpreter's start-up, loading the rules from their cache, reading the
corpus, classifying every line, writing one JSON object per line to /dev/null.  The figure is
commands / wall-clock seconds; best and median of ``--runs`` (one untimed warm-up run first,
which also builds the rules cache and the bytecode).  CPU seconds (guardsh and its worker
processes, user + system) are shown too: on a busy machine the wall-clock figure falls, the
CPU figure does not.

Rows: the default (one worker process per core), ``-j 1`` (one process, for comparison), and
the corpus repeated three times (a history-like input where most commands recur: the cache of
identical (command, cwd) pairs serves the repeats).

Corpus: ``../shared/corpus/commands.txt`` (from the repo root) when present, else
``benchmarks/corpus.txt``, else a generated corpus of agent-style commands; or ``--corpus FILE``.
The corpus is read as plain text (one command per line, ``#`` lines are comments).

    .venv/bin/python benchmarks/audit_throughput.py
    .venv/bin/python benchmarks/audit_throughput.py --runs 7 --json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from latency import write_temp_launcher  # noqa: E402  (a launcher like install.sh writes)

REPO = Path(__file__).resolve().parent.parent
# ../shared/corpus from the repository root; ../../shared from a worktree in /work/wt/<room>
SHARED = next((p / "shared" / "corpus" / "commands.txt" for p in (REPO.parent, REPO.parent.parent)
               if (p / "shared" / "corpus" / "commands.txt").exists()), REPO.parent / "shared" / "corpus" / "commands.txt")
LOCAL = REPO / "benchmarks" / "corpus.txt"
TARGET, GOAL = 5_000, 10_000


def choose_corpus(requested: str | None, tmp: Path) -> tuple[Path, str]:
    if requested:
        return Path(requested).resolve(), "--corpus"
    if SHARED.exists():
        return SHARED, "../shared/corpus/commands.txt (NL2Bash, one-line commands)"
    if LOCAL.exists():
        return LOCAL, "benchmarks/corpus.txt"
    path = tmp / "generated.txt"
    path.write_text("\n".join(generate_corpus()) + "\n")
    return path, "generated (no corpus file found)"


def generate_corpus(n: int = 5000) -> list[str]:
    """Distinct agent-style one-liners: pipelines, lists, substitutions, loops, wrappers."""
    dirs = ["src", "build", "dist", "tests", "docs", "node_modules", "/tmp/out", "~/.cache/pip", "logs", "infra"]
    files = ["README.md", "setup.py", "app/main.py", "package.json", "Makefile", "config.yaml", "a.log", "x.txt"]
    templates = [
        "ls -la {d}", "git status --short {d}", "git log --oneline -n {n} -- {f}", "cat {f} | grep -n TODO | head -{n}",
        "find {d} -name '*.py' -mtime -{n} | xargs wc -l", "rm -rf {d}", "rm -f {f}", "cp -r {d} /tmp/backup{n}",
        "mv {f} {f}.bak{n}", "grep -rn 'def main' {d} | sort | uniq -c", "sed -i 's/foo/bar{n}/g' {f}",
        "kubectl get pods -n ns{n} -o wide", "kubectl delete pod web-{n} -n staging", "docker ps -a | grep app{n}",
        "npm run test -- --shard={n}/8", "pytest -q tests/test_{n}.py -k 'not slow'", "make -C {d} -j{n}",
        "tar czf /tmp/{n}.tgz {d}", "for f in {d}/*.log; do gzip \"$f\"; done", "[[ -f {f} ]] && cat {f}",
        "echo \"$(date +%s) build {n}\" >> {f}", "sudo systemctl restart app{n}", "ssh host{n} 'df -h /'",
        "git push origin feature/{n}", "git push --force origin wip-{n}", "terraform plan -out=plan{n}.tfplan",
        "aws s3 ls s3://bucket-{n}/ --recursive | tail -5", "chmod -R 755 {d}", "du -sh {d} 2>/dev/null | sort -h",
        "curl -fsS https://example.com/api/{n} | jq .items", "bash -c 'cd {d} && ls | wc -l'",
    ]
    out: list[str] = []
    seen: set[str] = set()
    i = 0
    while len(out) < n:
        t = templates[i % len(templates)]
        cmd = t.format(d=dirs[(i // 3) % len(dirs)], f=files[(i // 7) % len(files)], n=i // len(templates))
        if cmd not in seen:
            seen.add(cmd)
            out.append(cmd)
        i += 1
    return out


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the run and its worker processes)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1, 3):
        sys.exit(f"audit_throughput.py: {' '.join(cmd)} failed ({done.returncode}):\n{done.stderr.decode()}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def count(cmd: list[str], env: dict[str, str], cwd: Path) -> int:
    out = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True)
    return len(out.stdout.splitlines())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", default=None)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--guardsh", default=None, help="time this launcher instead of a temporary one")
    p.add_argument("--json", action="store_true")
    opts = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="guardsh-bench-") as tmp_s:
        tmp = Path(tmp_s)
        corpus, origin = choose_corpus(opts.corpus, tmp)
        repeated = tmp / "repeated.txt"
        repeated.write_bytes(corpus.read_bytes() * 3)
        launcher = opts.guardsh or str(write_temp_launcher(tmp))
        home = tmp / "home"
        home.mkdir()
        env = {k: v for k, v in os.environ.items() if k not in ("BASH_ENV", "ENV", "GUARDSH_NESTED", "NO_COLOR")}
        env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), XDG_STATE_HOME=str(home / ".state"))
        base = [launcher, "audit", "--format", "jsonl", "--input-format", "plain"]
        rows = []
        load_before = os.getloadavg()[0]
        for label, args, path in (("default (one worker per core)", [], corpus),
                                  ("-j 1 (one process)", ["-j", "1"], corpus),
                                  ("corpus x3 (repeats hit the cache)", [], repeated)):
            cmd = base + args + [str(path)]
            n = count(cmd, env, tmp)  # also the warm-up run
            runs = [timed(cmd, env, tmp) for _ in range(opts.runs)]
            times = [wall for wall, _ in runs]
            best, median = min(times), statistics.median(times)
            cpu = statistics.median(c for _, c in runs)
            rows.append({"run": label, "commands": n, "best_s": round(best, 3), "median_s": round(median, 3),
                         "best_per_s": round(n / best), "median_per_s": round(n / median),
                         "cpu_s": round(cpu, 3), "per_cpu_s": round(n / cpu) if cpu else None})
        info = {"corpus": origin, "cores": os.cpu_count(), "python": platform.python_version(),
                "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2), "runs": opts.runs,
                "rows": rows}
    if opts.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"guardsh audit --format jsonl: {origin}; {info['cores']} cores; Python {info['python']}; "
          f"best/median of {opts.runs} runs; load average {info['load_before']} -> {info['load_after']}\n")
    print("| run | commands | best s | median s | best cmd/s | median cmd/s | CPU s | cmd per CPU s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['run']} | {r['commands']:,} | {r['best_s']:.2f} | {r['median_s']:.2f} | "
              f"{r['best_per_s']:,} | {r['median_per_s']:,} | {r['cpu_s']:.2f} | {r['per_cpu_s'] or 0:,} |")
    headline = rows[0]["best_per_s"]
    verdict = "meets the 10,000/s goal" if headline >= GOAL else (
        "meets the 5,000/s target" if headline >= TARGET else "BELOW the 5,000/s target")
    print(f"\nend to end, default: {headline:,} commands/s ({verdict}).")
    if info["load_before"] > (info["cores"] or 1) * 0.5:
        print("note: the machine was busy when this ran (load average above half the cores): figures are low.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
