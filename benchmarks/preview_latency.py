#!/usr/bin/env python3
"""What blast-radius previews cost (issue 15), against ``bash -c`` of the tool's own preview.

Part 1, the request's path.  A preview must never delay a request: the only work before the
request reaches the console is deriving the plans (pure: load previews.d, match, derive).  Timed
end to end: ``guardsh -c CMD`` started until it prints "waiting for approval", against a scripted
console on a real socket that queues every request at once, with ``preview_timeout: 10`` (previews
on) and ``0`` (off), interleaved.  The previewed tool is the fake helm of tests/helpers/fakebin,
made to hang (it blocks on a FIFO nobody writes): the request is announced all the same.

Part 2, the preview itself, in-process (``guardsh.preview.compute``) against ``bash -c`` of the
command a human would type to see the same thing, interleaved, median of ``--runs``:

    rm -rf tree (2,000 files)   vs  bash -c 'find tree | wc -l; du -sh tree; git status --porcelain -- tree'
    git clean -fdx              vs  bash -c 'git clean -n -d -x'
    git push --force origin main (local bare remote)  vs  bash -c 'git fetch --dry-run origin; git log --oneline origin/main --not main'
    kubectl delete -f k8s/ (fake kubectl)             vs  bash -c 'kubectl delete -f k8s/ --dry-run=server -o name'
    terraform destroy (fake terraform)                vs  bash -c 'terraform plan -destroy -input=false -lock=false -no-color'

    .venv/bin/python benchmarks/preview_latency.py [--runs 15] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
FAKEBIN = REPO / "tests" / "helpers" / "fakebin"

from latency import write_temp_launcher  # noqa: E402


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def make_trees(tmp: Path) -> dict[str, Path]:
    repo = tmp / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "b@example.com")
    git(repo, "config", "user.name", "b")
    tree = repo / "tree"
    for d in range(40):
        sub = tree / f"d{d}"
        sub.mkdir(parents=True)
        for f in range(50):
            (sub / f"f{f}.txt").write_text("x" * (f * 37))
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "tree")
    for d in range(5):
        (tree / f"d{d}" / "f1.txt").write_text("changed")
        (repo / f"junk{d}.tmp").write_text("junk")
    bare = tmp / "remote.git"
    git(tmp, "init", "-q", "--bare", "-b", "main", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    git(repo, "push", "-q", "-u", "origin", "main")
    (repo / "k8s").mkdir()
    (repo / "k8s" / "app.yaml").write_text("kind: Deployment\nmetadata:\n  name: web\n---\nkind: Service\nmetadata:\n  name: web\n")
    (repo / "main.tf").write_text('resource "aws_s3_bucket" "logs" {}\n')
    (repo / "fake.tfstate").write_text("aws_s3_bucket.logs aws_db_instance.main\n")
    return {"repo": repo}


CASES = [
    ("rm -rf tree (2,000 files)", "rm -rf tree", "find tree | wc -l; du -sh tree; git status --porcelain -- tree"),
    ("git clean -fdx", "git clean -fdx", "git clean -n -d -x"),
    ("git push --force (bare remote)", "git push --force origin main",
     "git fetch --dry-run origin; git log --oneline origin/main --not main"),
    ("kubectl delete -f k8s/ (fake)", "kubectl delete -f k8s/", "kubectl delete -f k8s/ --dry-run=server -o name"),
    ("terraform destroy (fake)", "terraform destroy", "terraform plan -destroy -input=false -lock=false -no-color"),
]


def part2(runs: int, cwd: Path, env: dict[str, str]) -> list[dict[str, object]]:
    from guardsh.engine.classify import Classifier
    from guardsh.engine.config import Config
    from guardsh.engine.context import Context
    from guardsh.engine.rules import load_rules
    from guardsh.preview import Prepared

    rules, config = load_rules(), Config()
    out = []
    for name, command, by_hand in CASES:
        plan_t, total_t, bash_t = [], [], []
        for i in range(runs + 1):
            order = (0, 1) if i % 2 else (1, 0)
            for which in order:
                t0 = time.perf_counter()
                if which == 0:
                    verdict = Classifier(rules, config).classify(command, Context(str(cwd), config, env=env))
                    t1 = time.perf_counter()
                    prepared = Prepared(verdict, rules, config, env, str(cwd))
                    t2 = time.perf_counter()
                    result = prepared.run()
                    t3 = time.perf_counter()
                    if i:
                        plan_t.append(t2 - t1)
                        total_t.append(t3 - t1)
                else:
                    subprocess.run(["bash", "-c", by_hand], cwd=cwd, env=env, capture_output=True)
                    if i:
                        bash_t.append(time.perf_counter() - t0)
        bad = [s["summary"] for item in result["items"] for s in item["sections"] if s["status"] != "ok"]
        med = statistics.median
        out.append({"case": name, "plan_ms": med(plan_t) * 1000, "preview_ms": med(total_t) * 1000,
                    "bash_ms": med(bash_t) * 1000, "ratio": med(total_t) / med(bash_t), "problems": bad})
    return out


class QueueingConsole:
    """A scripted console on the real socket: queues each request at once, denies it when told."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(8)
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        while True:
            conn, _ = self.sock.accept()
            threading.Thread(target=self.one, args=(conn,), daemon=True).start()

    def one(self, conn: socket.socket) -> None:
        f = conn.makefile("rb")
        f.readline()
        conn.sendall(b'{"type":"queued","id":1,"deferred":false}\n')
        try:
            conn.sendall(b'{"type":"decision","id":1,"decision":"deny","state":"denied","by":"bench"}\n')
        except OSError:
            pass
        conn.close()


def part1(runs: int, tmp: Path, cwd: Path, env: dict[str, str]) -> list[dict[str, object]]:
    launcher = write_temp_launcher(tmp)
    run = tmp / "run"
    run.mkdir(mode=0o700)
    (run / "guardsh").mkdir(mode=0o700)
    QueueingConsole(str(run / "guardsh" / "approver.sock"))
    fifo = tmp / "never"
    os.mkfifo(fifo)
    home = tmp / "home"
    (home / ".config" / "guardsh").mkdir(parents=True)
    base = dict(env, HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), XDG_RUNTIME_DIR=str(run),
                XDG_STATE_HOME=str(tmp / "state"), FAKE_BLOCK=str(fifo))
    results: dict[str, list[float]] = {"on": [], "off": []}
    for i in range(runs + 1):
        for mode in (("on", "off") if i % 2 else ("off", "on")):
            (home / ".config" / "guardsh" / "config.yaml").write_text(
                f"preview_timeout: {10 if mode == 'on' else 0}\ncircuit_breaker: {{max: 0}}\n")
            t0 = time.perf_counter()
            proc = subprocess.Popen([str(launcher), "-c", "helm rollback web 3"], cwd=cwd, env=base,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            assert proc.stderr is not None
            line = proc.stderr.readline()
            t1 = time.perf_counter()
            proc.communicate(timeout=60)
            if b"waiting for approval" not in line:
                raise SystemExit(f"unexpected: {line!r}")
            if i:
                results[mode].append(t1 - t0)
    med = statistics.median
    return [{"previews": mode, "to_waiting_ms": med(v) * 1000} for mode, v in results.items()]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=15)
    p.add_argument("--json", action="store_true")
    opts = p.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        cwd = make_trees(tmp)["repo"]
        env = {k: v for k, v in os.environ.items() if k not in ("BASH_ENV", "ENV", "KUBECONFIG", "FAKE_LOG")}
        env["PATH"] = f"{FAKEBIN}:{env.get('PATH', '/usr/bin:/bin')}"
        first = part1(opts.runs, tmp, cwd, env)
        second = part2(opts.runs, cwd, env)
    if opts.json:
        print(json.dumps({"request_path": first, "previews": second}, indent=2))
        return 0
    print(f"preview_latency: {opts.runs} runs each, interleaved, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores\n")
    print("| `guardsh -c` until \"waiting for approval\" (previewed tool hangs) | median |")
    print("|---|---|")
    for row in first:
        print(f"| previews {row['previews']} | {row['to_waiting_ms']:.1f} ms |")
    print("\n| preview | plans derived | whole preview | `bash -c` by hand | ratio |")
    print("|---|---|---|---|---|")
    for row in second:
        note = f" (not ok: {row['problems']})" if row["problems"] else ""
        print(f"| {row['case']} | {row['plan_ms']:.1f} ms | {row['preview_ms']:.1f} ms | {row['bash_ms']:.1f} ms | "
              f"{row['ratio']:.2f}x{note} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
