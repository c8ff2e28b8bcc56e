#!/usr/bin/env python3
"""Extra wall time of ``guardsh -c CMD`` over ``bash -c CMD`` for typical agent commands.

Both shells run in one process loop, interleaved (bash, guardsh, guardsh, bash, ...: the order
alternates each round so that neither always runs first), so that machine drift hits both
alike.  The figure that matters is the median of the paired differences (guardsh run i minus
bash run i).  The floor rows show what no amount of optimisation in guardsh can remove: the
interpreter's own start-up (``python -IS -c pass``) against ``bash -c true``.

The guardsh measured is a real launcher: the one ``./install.sh`` put on PATH, or
``--guardsh PATH``, or else a temporary launcher written exactly as install.sh writes it
(``python -IS``, ``sys.path`` = this checkout + the dev venv's site-packages).

    .venv/bin/python benchmarks/latency.py             # Markdown table
    .venv/bin/python benchmarks/latency.py --runs 100 --json
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parent.parent
LAUNCHER_MARKER = b"guardsh-launcher"
BASHES = ("/bin/bash", "/usr/bin/bash", "/usr/local/bin/bash")

# (label, command text); run with cwd = a temporary git repository (see make_workspace).
COMMANDS = [
    ("ls", "ls"),
    ("git status", "git status"),
    ("pipeline", "cat f | grep x"),
    ("cd && make", "cd x && make -n test"),
    ("for loop (bashlex)", 'for f in *.py; do wc -l "$f"; done'),
    ("[[ ]] (fallback)", "[[ -f f ]] && ls"),
]


# --- set-up -----------------------------------------------------------------------------

def real_bash() -> str:
    for path in BASHES:
        if os.access(path, os.X_OK):
            return path
    found = shutil.which("bash")
    if not found:
        sys.exit("latency.py: no bash found")
    return found


def is_launcher(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return LAUNCHER_MARKER in f.read(512)
    except OSError:
        return False


def interpreter_of(launcher: str) -> str:
    """The Python a launcher runs (its shebang), for the interpreter floor."""
    with open(launcher, "rb") as f:
        first = f.readline().decode(errors="replace").strip()
    if first.startswith("#!"):
        parts = first[2:].split()
        if parts and "python" in os.path.basename(parts[0]):
            return parts[0]
        if len(parts) > 1 and os.path.basename(parts[0]) == "env":
            return shutil.which(parts[1]) or parts[1]
    return sys.executable


def dev_python() -> str:
    venv = REPO / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def write_temp_launcher(bindir: Path) -> Path:
    """A launcher as install.sh writes it, but running this checkout through the dev venv."""
    python = dev_python()
    site = subprocess.run(
        [python, "-c", 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    launcher = bindir / "guardsh"
    launcher.write_text(
        f"#!{python} -IS\n"
        f"# guardsh-launcher: runs guardsh from {REPO} (benchmark)\n"
        "import sys\n"
        f"sys.path[0:0] = {[str(REPO), site]!r}\n"
        "from guardsh.cli import main\n"
        "sys.exit(main())\n"
    )
    launcher.chmod(0o755)
    return launcher


def choose_launcher(requested: str | None, bindir: Path) -> tuple[str, str]:
    """(path, how it was found)."""
    if requested:
        path = shutil.which(requested) or requested
        if not os.access(path, os.X_OK):
            sys.exit(f"latency.py: --guardsh {requested}: not an executable file")
        kind = "install.sh launcher" if is_launcher(path) else "NOT an install.sh launcher"
        return path, f"--guardsh ({kind})"
    on_path = shutil.which("guardsh")
    if on_path and is_launcher(on_path):
        return on_path, "installed launcher on PATH (command -v guardsh)"
    note = ""
    if on_path:
        note = f"; {on_path} on PATH skipped: not an install.sh launcher (pass --guardsh to time it)"
    return str(write_temp_launcher(bindir)), "temporary launcher written like install.sh's" + note


def make_workspace(root: Path) -> Path:
    """A small git repository: a few Python files, a file to grep, a subdirectory with a Makefile."""
    ws = root / "project"
    (ws / "x").mkdir(parents=True)
    for name in ("app", "models", "views", "utils"):
        (ws / f"{name}.py").write_text("".join(f"def f{i}():\n    return {i}\n" for i in range(40)))
    (ws / "f").write_text("".join(f"line {i} {'x' if i % 3 == 0 else 'y'}\n" for i in range(200)))
    (ws / "x" / "Makefile").write_text("test:\n\t@echo running tests\n\tpython -m pytest -q\n")
    (ws / "README.md").write_text("# project\n")
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "-c", "init.defaultBranch=main"]
    env = dict(os.environ, HOME=str(root / "home"), GIT_CONFIG_NOSYSTEM="1")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "initial"]):
        subprocess.run(git + args, cwd=ws, env=env, check=True, capture_output=True)
    (ws / "app.py").write_text("print('changed')\n")  # git status has something to say
    (ws / "new.txt").write_text("untracked\n")
    return ws


def isolated_env(root: Path) -> dict[str, str]:
    home = root / "home"
    (home / ".cache").mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("BASH_ENV", "ENV", "GUARDSH_NESTED", "CDPATH")}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), GIT_CONFIG_NOSYSTEM="1", LC_ALL="C")
    env.pop("XDG_CONFIG_HOME", None)
    return env


def parse_path(text: str) -> str:
    """Which parser handles ``text`` in this checkout: the grammar, or the fallback."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    try:
        from guardsh.engine import tree
        from guardsh.engine.lex import tokenize
    except ImportError:
        return "?"
    try:
        tree.parse_tokens(tokenize(text))
    except tree.GrammarError:
        return "fallback"
    return "grammar"


# --- measuring --------------------------------------------------------------------------

def run_once(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, int, int]:
    """(wall time in ns, CPU time in ns, exit status) of one run, output discarded.

    The CPU time (user + system, from wait4) covers the process and the children it waited
    for; unlike the wall time it hardly moves when other jobs compete for the CPUs.
    """
    t0 = time.perf_counter_ns()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter_ns() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = round((usage.ru_utime + usage.ru_stime) * 1e9)
    return wall, cpu, proc.returncode


def interleave(pairs: list[tuple[str, Any, Any]], runs: int,
               measure: Callable[[str, Any, int], tuple[int, int]]) -> dict[str, tuple[list[int], list[int], list[int], list[int]]]:
    """Time each ``(label, base, other)`` pair ``runs`` times, alternating which of the two runs first
    (so drift and caches favour neither). ``measure(label, args, slot)`` runs one (slot 0: base,
    1: other) and gives (wall ns, CPU ns). Returns label -> (base walls, other walls, base CPU,
    other CPU): ``summarise``'s arguments."""
    times: dict[str, tuple[list[int], list[int], list[int], list[int]]] = {p[0]: ([], [], [], []) for p in pairs}
    for i in range(runs):
        for label, base, other in pairs:
            order = ((0, base), (1, other)) if i % 2 == 0 else ((1, other), (0, base))
            for slot, args in order:
                wall, cpu = measure(label, args, slot)
                times[label][slot].append(wall)
                times[label][slot + 2].append(cpu)
    return times


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def summarise(base: list[int], other: list[int], base_cpu: list[int], other_cpu: list[int]) -> dict[str, float]:
    ms = 1e-6
    diffs = [(o - b) * ms for b, o in zip(base, other)]
    cpu_diffs = [(o - b) * ms for b, o in zip(base_cpu, other_cpu)]
    b_med, o_med = statistics.median(base) * ms, statistics.median(other) * ms
    return {
        "base_median_ms": b_med, "base_p90_ms": p90(base) * ms,
        "median_ms": o_med, "p90_ms": p90(other) * ms,
        "extra_median_ms": statistics.median(diffs), "extra_p90_ms": p90(diffs),
        "ratio": o_med / b_med if b_med else float("nan"),
        "base_cpu_median_ms": statistics.median(base_cpu) * ms, "cpu_median_ms": statistics.median(other_cpu) * ms,
        "extra_cpu_median_ms": statistics.median(cpu_diffs),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=40, help="timed runs of each shell per command (default 40)")
    ap.add_argument("--guardsh", help="launcher to time (default: command -v guardsh, else a temporary one)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a Markdown table")
    opts = ap.parse_args(argv)

    bash = real_bash()
    with tempfile.TemporaryDirectory(prefix="guardsh-bench-") as tmp:
        root = Path(tmp)
        (root / "bin").mkdir()
        env = isolated_env(root)
        os.environ["XDG_CACHE_HOME"] = env["XDG_CACHE_HOME"]  # in-process bashlex tables (parse_path)
        guardsh, found = choose_launcher(opts.guardsh, root / "bin")
        python = interpreter_of(guardsh)
        ws = make_workspace(root)

        # Cold start: first runs with an empty cache (rules compiled and checked, bashlex tables built).
        cold = {
            "first run, empty cache (ls)": run_once([guardsh, "-c", "ls"], ws, env)[0] / 1e6,
            "first bashlex use (for loop)": run_once([guardsh, "-c", COMMANDS[4][1]], ws, env)[0] / 1e6,
        }

        pairs: list[tuple[str, str, list[str], list[str], str]] = []  # label, text, base argv, argv, path
        for label, text in COMMANDS:
            pairs.append((label, text, [bash, "-c", text], [guardsh, "-c", text], parse_path(text)))
        floors = [
            ("floor: interpreter", "python -IS -c pass",
             [bash, "-c", "true"], [python, "-IS", "-c", "pass"], "-"),
            ("floor: launcher, no work", "guardsh version",
             [bash, "-c", "true"], [guardsh, "version"], "-"),
        ]
        pairs += floors

        # Warm-up (untimed): caches filled; guardsh must do exactly what bash does.
        problems: list[str] = []
        for label, text, base, other, _path in pairs:
            if label.startswith("floor"):
                subprocess.run(other, cwd=ws, env=env, capture_output=True)
                continue
            b = subprocess.run(base, cwd=ws, env=env, capture_output=True, stdin=subprocess.DEVNULL)
            g = subprocess.run(other, cwd=ws, env=env, capture_output=True, stdin=subprocess.DEVNULL)
            if (b.returncode, b.stdout) != (g.returncode, g.stdout):
                why = " / ".join(g.stderr.decode(errors="replace").strip().splitlines()[-3:])
                problems.append(f"{text!r}: bash exit {b.returncode}, guardsh exit {g.returncode}: {why[:400]}")
        if problems:
            sys.stderr.write("latency.py: guardsh does not behave like bash here, timings would mean nothing:\n  "
                             + "\n  ".join(problems) + "\n")
            return 1

        load_before = os.getloadavg()[0]
        bad_exit: dict[str, int] = {}

        def measure(label: str, args: list[str], _slot: int) -> tuple[int, int]:
            ns, cpu, rc = run_once(args, ws, env)
            if rc != 0 and not label.startswith("floor"):
                bad_exit[label] = rc
            return ns, cpu

        started = time.monotonic()
        times = interleave([(label, base, other) for label, _text, base, other, _path in pairs], opts.runs, measure)
        elapsed = time.monotonic() - started
        load_after = os.getloadavg()[0]

    rows = []
    for label, text, _base, _other, path in pairs:
        stats = summarise(*times[label])
        rows.append({"label": label, "command": text, "parser": path, **stats})
    info = {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "runs": opts.runs,
        "launcher": guardsh,
        "launcher_found": found,
        "launcher_python": python,
        "bash": bash,
        "bash_version": subprocess.run([bash, "-c", "echo $BASH_VERSION"], capture_output=True, text=True).stdout.strip(),
        "python_version": subprocess.run([python, "-IS", "-c", "import sys; print(sys.version.split()[0])"],
                                         capture_output=True, text=True).stdout.strip(),
        "cpus": os.cpu_count(),
        "machine": f"{platform.system()} {platform.release()} {platform.machine()}",
        "seconds": round(elapsed, 1),
        "load_average_1min": [round(load_before, 2), round(load_after, 2)],
        "cold_start_ms": cold,
        "nonzero_exits": bad_exit,
    }
    if opts.json:
        json.dump({"info": info, "rows": rows}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    print(f"guardsh -c latency, {opts.runs} interleaved runs each, {info['date']}")
    print(f"launcher: {guardsh} ({found}); Python {info['python_version']} ({python}); "
          f"bash {info['bash_version']}; {info['cpus']} CPUs, {info['machine']}; {info['seconds']} s; "
          f"load average {load_before:.1f} -> {load_after:.1f}")
    print()
    print("| command | parser | bash median | guardsh median | guardsh p90 | extra (median of pairs) | extra p90 | ratio "
          "| extra CPU time |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows[:len(COMMANDS)]:
        cmd = r["command"].replace("|", "\\|")
        print(f"| `{cmd}` | {r['parser']} | {r['base_median_ms']:.1f} ms | {r['median_ms']:.1f} ms | "
              f"{r['p90_ms']:.1f} ms | **+{r['extra_median_ms']:.1f} ms** | +{r['extra_p90_ms']:.1f} ms | "
              f"{r['ratio']:.1f}x | +{r['extra_cpu_median_ms']:.1f} ms |")
    print()
    print("Floor (interleaved with bash -c true the same way):")
    print()
    print("| what | bash -c true | median | p90 | extra (median of pairs) | ratio | extra CPU time |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows[len(COMMANDS):]:
        what = "`python -IS -c pass` (interpreter start-up)" if "interpreter" in r["label"] else \
            "`guardsh version` (launcher + CLI import, no rules, no parsing)"
        print(f"| {what} | {r['base_median_ms']:.1f} ms | {r['median_ms']:.1f} ms | {r['p90_ms']:.1f} ms | "
              f"+{r['extra_median_ms']:.1f} ms | {r['ratio']:.1f}x | +{r['extra_cpu_median_ms']:.1f} ms |")
    print()
    print("Cold start (one run each, before the warm-up): "
          + "; ".join(f"{k}: {v:.0f} ms" for k, v in cold.items()))
    if bad_exit:
        print(f"Non-zero exit statuses during timing: {bad_exit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
