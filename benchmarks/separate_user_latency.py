#!/usr/bin/env python3
"""The separate-user mode's warm path: an agent user's native client asking the daemon that runs
as a dedicated system user, against ``bash -c`` run by the same agent user.

Needs root.  Installs guardsh with ``GUARDSH_SYSTEM=1 ./install.sh`` into a temporary tree with a
throw-away daemon user (removed afterwards), then times, interleaved and alternating as in
latency.py (median of the paired differences), ``client -c CMD`` against ``bash -c CMD``, both
run as ``nobody`` (65534) through the same ``setpriv``, and for comparison the Python path (the
system-mode launcher) the client falls back to.

    sudo .venv/bin/python benchmarks/separate_user_latency.py [--runs 60] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from latency import COMMANDS, interleave, make_workspace, real_bash, run_once, summarise  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
AGENT = 65534


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=60, help="timed runs of each process per row (default 60)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a Markdown table")
    opts = ap.parse_args(argv)
    if os.geteuid() != 0:
        sys.exit("separate_user_latency.py: needs root (it creates a system user and switches users)")
    bash = real_bash()
    root = Path(tempfile.mkdtemp(prefix="guardsh-sepuser-bench-", dir="/tmp"))
    root.chmod(0o755)
    user = f"gshb-{secrets.token_hex(3)}"
    launcher = root / "bin" / "guardsh"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUARDSH", "XDG_"))}
    env.update(GUARDSH_SYSTEM="1", GUARDSH_PREFIX=str(root / "opt"), GUARDSH_ETC=str(root / "etc"),
               GUARDSH_STATE=str(root / "state"), GUARDSH_RUN=str(root / "run"), GUARDSH_USER=user,
               GUARDSH_BIN=str(root / "bin"), GUARDSH_UNIT_DIR=str(root / "units"), HOME=str(root / "roothome"))
    try:
        subprocess.run([str(REPO / "install.sh")], env=env, check=True, capture_output=True, cwd="/")
        client = root / "opt" / "shell" / "bash"
        home = root / "agent"
        home.mkdir()
        ws = make_workspace(home)
        subprocess.run(["chown", "-R", f"{AGENT}:{AGENT}", str(home)], check=True)
        agent_env = {"HOME": str(home), "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
        as_agent = ["setpriv", f"--reuid={AGENT}", f"--regid={AGENT}", "--clear-groups"]
        rows = [(f"client -c `{text}` (daemon user answers)", text, [str(client), "-c", text]) for _l, text in COMMANDS]
        rows.append(("Python: system-mode launcher -c `ls`", "ls", [str(launcher), "-c", "ls"]))
        for label, _text, other in rows:  # warm-up, and the fast rows must be the daemon's answers
            got = subprocess.run(as_agent + other, cwd=ws, env=dict(agent_env, GUARDSH_CLIENT_DEBUG="1"),
                                 capture_output=True)
            if label.startswith("client") and b"python path" in got.stderr:
                sys.stderr.write(f"{label}: the daemon did not answer: {got.stderr[:300]!r}\n")
        load_before, started = os.getloadavg()[0], time.monotonic()
        times = interleave([(label, as_agent + [bash, "-c", text], as_agent + other) for label, text, other in rows],
                           opts.runs, lambda _label, args, _slot: run_once(args, ws, agent_env)[:2])
        elapsed, load_after = time.monotonic() - started, os.getloadavg()[0]
    finally:
        if launcher.exists():
            subprocess.run([str(launcher), "daemon", "stop"], capture_output=True)
        subprocess.run(["userdel", user], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
    results = [{"label": label, **summarise(*times[label])} for label, *_ in rows]
    info = {"runs": opts.runs, "cpus": os.cpu_count(), "seconds": round(elapsed, 1),
            "load_average_1min": [load_before, load_after]}
    if opts.json:
        json.dump({"info": info, "rows": results}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    print(f"separate-user mode, agent uid {AGENT}, {opts.runs} interleaved runs each; {info['cpus']} CPUs; "
          f"{info['seconds']} s; load average {load_before:.1f} -> {load_after:.1f}")
    print()
    print("| what | bash median | median | extra (median of pairs) | extra p90 | ratio | extra CPU time |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        label = r["label"].replace("|", "\\|")
        print(f"| {label} | {r['base_median_ms']:.1f} ms | {r['median_ms']:.1f} ms | **+{r['extra_median_ms']:.1f} ms** "
              f"| +{r['extra_p90_ms']:.1f} ms | {r['ratio']:.2f}x | +{r['extra_cpu_median_ms']:.1f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
