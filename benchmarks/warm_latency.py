#!/usr/bin/env python3
"""The warm path: the native client asking a running resident classifier, against ``bash -c``.

Builds ``native/guardsh-client.c`` (needs cc) against a temporary launcher for this checkout
(written as install.sh writes it), starts ``guardsh daemon run`` on a private socket directory,
and times, interleaved and alternating as in latency.py (median of the paired differences):

- ``client -c CMD`` vs ``bash -c CMD`` for the commands of latency.py (allowed: the daemon answers,
  the client execs bash);
- ``client hook claude-code`` vs ``bash -c true`` (the hook's allow answered by the daemon);
- for comparison, the Python paths: ``guardsh -c ls`` (the launcher) and the same client with no
  daemon (it falls back to the launcher: what the client costs when nothing answers).

Every timed client run must have been answered by the daemon (checked once per row with
GUARDSH_CLIENT_DEBUG); the script stops otherwise.

    .venv/bin/python benchmarks/warm_latency.py            # Markdown table
    .venv/bin/python benchmarks/warm_latency.py --runs 100 --json
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hook_latency import hook_input  # noqa: E402
from hook_latency import run_once as run_with_stdin  # noqa: E402
from latency import (COMMANDS, dev_python, interleave, isolated_env, make_workspace, real_bash,  # noqa: E402
                     summarise, write_temp_launcher)

REPO = Path(__file__).resolve().parent.parent


def build(out: Path, launcher: Path, socket_dir: Path, timeout_ms: int) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        sys.exit("warm_latency.py: no C compiler (cc) to build the native client")
    out.mkdir(parents=True)
    binary = out / "guardsh"
    subprocess.run([cc, "-O2", "-o", str(binary), str(REPO / "native" / "guardsh-client.c"),
                    f'-DGUARDSH_LAUNCHER="{launcher}"', f'-DGUARDSH_PYTHON="{os.path.realpath(dev_python())}"',
                    f'-DGUARDSH_SOCKET_DIR="{socket_dir}"', f"-DGUARDSH_TIMEOUT_MS={timeout_ms}",
                    "-DGUARDSH_ON_DEMAND=0"], check=True)  # the daemon is started here; "no daemon" must stay so
    return binary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=60, help="timed runs of each process per row (default 60)")
    ap.add_argument("--timeout-ms", type=int, default=10, help="the client's answer timeout (default 10, as installed)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a Markdown table")
    opts = ap.parse_args(argv)
    bash = real_bash()
    with tempfile.TemporaryDirectory(prefix="guardsh-warm-bench-") as tmp:
        root = Path(tmp)
        (root / "bin").mkdir()
        env = isolated_env(root)
        env["XDG_STATE_HOME"] = str(root / "state")
        launcher = write_temp_launcher(root / "bin")
        sockets, nowhere = root / "run", root / "nowhere"
        sockets.mkdir(mode=0o700)
        nowhere.mkdir(mode=0o700)
        client = build(root / "client", launcher, sockets, opts.timeout_ms)
        orphan = build(root / "orphan", launcher, nowhere, opts.timeout_ms)
        ws = make_workspace(root)
        daemon = subprocess.Popen([str(launcher), "daemon", "run", "--socket-dir", str(sockets)], env=env, cwd="/",
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            assert daemon.stderr is not None
            daemon.stderr.readline()  # "listening on ..."
            empty = root / "empty"
            empty.write_bytes(b"")
            rows: list[tuple[str, list[str], list[str], str]] = []
            for _label, text in COMMANDS:
                rows.append((f"client -c `{text}`", [bash, "-c", text], [str(client), "-c", text], str(empty)))
            for text in ("ls -la", "git status"):
                path = root / f"hook-{len(rows)}.json"
                path.write_bytes(hook_input(text, ws))
                rows.append((f"client hook claude-code (`{text}`) vs bash -c true", [bash, "-c", "true"],
                             [str(client), "hook", "claude-code"], str(path)))
            rows.append(("Python: guardsh -c `ls` (launcher)", [bash, "-c", "ls"], [str(launcher), "-c", "ls"],
                         str(empty)))
            rows.append(("Python via the client, no daemon: client -c `ls`", [bash, "-c", "ls"],
                         [str(orphan), "-c", "ls"], str(empty)))
            # warm-up and check: the fast rows are answered by the daemon (on a busy machine an answer
            # can miss the client's timeout: then that run took the Python path; see "answered" below)
            def answered(other: list[str], stdin: str) -> tuple[bool, bytes]:
                with open(stdin, "rb") as f:
                    got = subprocess.run(other, cwd=ws, env=dict(env, GUARDSH_CLIENT_DEBUG="1"), capture_output=True,
                                         stdin=f)
                return b"guardsh-client: python path" not in got.stderr, got.stderr

            for label, _base, other, stdin in rows:
                if label.startswith("client"):
                    results_ok = [answered(other, stdin) for _ in range(5)]
                    if not any(ok for ok, _err in results_ok):
                        sys.stderr.write(f"warm_latency.py: {label}: the daemon never answered: "
                                         f"{results_ok[-1][1][:300]!r}\n")
                        return 1
            load_before = os.getloadavg()[0]
            started = time.monotonic()
            times = interleave([(label, (base, str(empty)), (other, stdin)) for label, base, other, stdin in rows],
                               opts.runs, lambda _label, args, _slot: run_with_stdin(args[0], args[1], ws, env)[:2])
            elapsed = time.monotonic() - started
            load_after = os.getloadavg()[0]
            checks = [answered(other, stdin)[0] for label, _b, other, stdin in rows if label.startswith("client")
                      for _ in range(10)]
            answered_share = sum(checks) / len(checks)
        finally:
            daemon.terminate()
            daemon.wait()
    results = [{"label": label, **summarise(*times[label])} for label, *_ in rows]
    info = {"runs": opts.runs, "timeout_ms": opts.timeout_ms, "bash": bash, "cpus": os.cpu_count(),
            "seconds": round(elapsed, 1), "load_average_1min": [load_before, load_after],
            "answered_by_daemon": answered_share}
    if opts.json:
        json.dump({"info": info, "rows": results}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    print(f"warm path (native client + guardsh daemon), {opts.runs} interleaved runs each; client timeout "
          f"{opts.timeout_ms} ms; {info['cpus']} CPUs; {info['seconds']} s; load average {load_before:.1f} -> {load_after:.1f}; "
          f"answered by the daemon (not the Python path) in a check after timing: {answered_share:.0%}")
    print()
    print("| what | bash median | median | p90 | extra (median of pairs) | extra p90 | ratio | extra CPU time |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        label = r["label"].replace("|", "\\|")
        print(f"| {label} | {r['base_median_ms']:.1f} ms | {r['median_ms']:.1f} ms | {r['p90_ms']:.1f} ms | "
              f"**+{r['extra_median_ms']:.1f} ms** | +{r['extra_p90_ms']:.1f} ms | {r['ratio']:.1f}x | "
              f"+{r['extra_cpu_median_ms']:.1f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
