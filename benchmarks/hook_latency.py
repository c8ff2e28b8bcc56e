#!/usr/bin/env python3
"""Whole-process time of ``guardsh hook claude-code`` for a read-only command, against ``bash -c true``.

What an agent waits for before each shell command when guardsh is its hook: the launcher starts,
reads the PreToolUse JSON on stdin, classifies the command, appends the audit record and exits
(allow: no output).  Both processes run in one loop, interleaved and alternating (bash, hook,
hook, bash...) like latency.py, with the same stdin file; the figure is the median of the paired
differences.  The floor row is the interpreter's own start-up (``python -IS -c pass``).

The launcher is a temporary one written as install.sh writes it, running this checkout (see
latency.py), or ``--guardsh PATH`` (an installed launcher).  HOME, caches and the audit log are isolated in
a temporary directory; no approver console is involved (allowed commands never ask).

    .venv/bin/python benchmarks/hook_latency.py            # Markdown table
    .venv/bin/python benchmarks/hook_latency.py --runs 200 --json
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from latency import (  # noqa: E402
    choose_launcher,
    interleave,
    interpreter_of,
    isolated_env,
    make_workspace,
    real_bash,
    summarise,
    write_temp_launcher,
)

COMMANDS = [("ls -la", "ls -la"), ("git status", "git status"), ("pipeline", "cat f | grep x | wc -l")]


def hook_input(command: str, cwd: Path) -> bytes:
    """A Claude Code PreToolUse input for the Bash tool, as the agent sends it."""
    return json.dumps({
        "session_id": "bench-session", "transcript_path": str(cwd / "transcript.jsonl"), "cwd": str(cwd),
        "permission_mode": "default", "hook_event_name": "PreToolUse", "tool_name": "Bash",
        "tool_input": {"command": command, "description": "benchmark"}, "tool_use_id": "toolu_bench",
    }).encode()


def run_once(argv: list[str], stdin_path: str, cwd: Path, env: dict[str, str]) -> tuple[int, int, int, bytes]:
    """(wall ns, CPU ns, exit status, stdout) of one run; stdin is the file, read from its start."""
    with open(stdin_path, "rb") as stdin:
        t0 = time.perf_counter_ns()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=stdin, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
        assert proc.stdout is not None
        out = proc.stdout.read()
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter_ns() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    return wall, round((usage.ru_utime + usage.ru_stime) * 1e9), proc.returncode, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=60, help="timed runs of each process per row (default 60)")
    ap.add_argument("--guardsh", help="launcher to time (default: a temporary one for this checkout)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a Markdown table")
    opts = ap.parse_args(argv)

    bash = real_bash()
    with tempfile.TemporaryDirectory(prefix="guardsh-hook-bench-") as tmp:
        root = Path(tmp)
        (root / "bin").mkdir()
        env = isolated_env(root)
        env["XDG_STATE_HOME"] = str(root / "state")
        run_dir = root / "run"
        run_dir.mkdir(mode=0o700)
        env["XDG_RUNTIME_DIR"] = str(run_dir)
        for var in ("GUARDSH_HOOK_ASK", "GUARDSH_SESSION"):
            env.pop(var, None)
        if opts.guardsh:
            guardsh, found = choose_launcher(opts.guardsh, root / "bin")
        else:  # this checkout (an installed launcher may predate guardsh hook)
            guardsh, found = str(write_temp_launcher(root / "bin")), "temporary launcher written like install.sh's"

        python = interpreter_of(guardsh)
        ws = make_workspace(root)
        empty = root / "empty"
        empty.write_bytes(b"")

        rows: list[tuple[str, list[str], list[str], str]] = []  # label, base argv, argv, stdin file
        for label, text in COMMANDS:
            path = root / f"input-{len(rows)}.json"
            path.write_bytes(hook_input(text, ws))
            rows.append((f"hook claude-code: {label}", [bash, "-c", "true"], [guardsh, "hook", "claude-code"], str(path)))
        rows.append(("for comparison: guardsh -c 'ls -la' vs bash -c 'ls -la'", [bash, "-c", "ls -la"],
                     [guardsh, "-c", "ls -la"], str(empty)))
        rows.append(("floor: python -IS -c pass", [bash, "-c", "true"], [python, "-IS", "-c", "pass"], str(empty)))

        # warm-up (untimed): caches built; every hook run must allow (no output, exit 0)
        cold = run_once(rows[0][2], rows[0][3], ws, env)[0] / 1e6
        for label, _base, other, stdin in rows:
            _w, _c, rc, out = run_once(other, stdin, ws, env)
            if label.startswith("hook") and (rc != 0 or out.strip()):
                sys.stderr.write(f"hook_latency.py: {label}: expected an allow (exit 0, no output), got exit {rc}: "
                                 f"{out[:400]!r}\n")
                return 1

        load_before = os.getloadavg()[0]
        started = time.monotonic()
        times = interleave([(label, (base, str(empty)), (other, stdin)) for label, base, other, stdin in rows],  # bash reads no stdin
                           opts.runs, lambda _label, args, _slot: run_once(args[0], args[1], ws, env)[:2])
        elapsed = time.monotonic() - started
        load_after = os.getloadavg()[0]
        records = sum(1 for _ in open(Path(env["XDG_STATE_HOME"]) / "guardsh" / "audit.jsonl", "rb"))

    results = [{"label": label, **summarise(*times[label])} for label, *_ in rows]
    info = {"runs": opts.runs, "launcher": guardsh, "launcher_found": found, "python": python, "bash": bash,
            "cpus": os.cpu_count(), "seconds": round(elapsed, 1), "load_average_1min": [load_before, load_after],
            "cold_first_run_ms": cold, "audit_records_written": records}
    if opts.json:
        json.dump({"info": info, "rows": results}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    print(f"guardsh hook claude-code latency, {opts.runs} interleaved runs each; launcher: {guardsh} ({found}); "
          f"{info['cpus']} CPUs; {info['seconds']} s; load average {load_before:.1f} -> {load_after:.1f}")
    print()
    print("| what | bash -c true | median | p90 | extra (median of pairs) | extra p90 | ratio | extra CPU time |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['label']} | {r['base_median_ms']:.1f} ms | {r['median_ms']:.1f} ms | {r['p90_ms']:.1f} ms | "
              f"**+{r['extra_median_ms']:.1f} ms** | +{r['extra_p90_ms']:.1f} ms | {r['ratio']:.1f}x | "
              f"+{r['extra_cpu_median_ms']:.1f} ms |")
    print()
    print(f"First run with an empty cache: {cold:.0f} ms. Audit records written: {records}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
