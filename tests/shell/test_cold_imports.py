"""The cold path stays at CPython's floor: ``guardsh -c`` for an allowed command imports none of
the heavy standard modules (re and enum alone cost ~4 ms a command), and reads only the index of
the rules cache.  Checked with ``python -X importtime`` on a real launcher: no timing involved."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HEAVY = {"re", "enum", "shlex", "yaml", "json", "subprocess", "signal", "typing", "dataclasses", "argparse",
         "multiprocessing", "socket", "datetime", "inspect", "pathlib", "tempfile", "shutil", "mmap"}


def imported(guardsh_bin: Path, env: dict[str, str], cwd: Path, *args: str) -> set[str]:
    run = subprocess.run([sys.executable, "-IS", "-X", "importtime", str(guardsh_bin), *args], env=env, cwd=cwd,
                         capture_output=True, timeout=60)
    assert run.returncode not in (125, 126), run.stderr[-2000:]  # ran (git status may fail here)
    names = set()
    for line in run.stderr.decode().splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    return names


def test_allowed_command_imports_nothing_heavy(guardsh_bin: Path, guardsh_env: dict[str, str], tmp_path: Path) -> None:
    for text in ("ls", "git status", "cat f | grep x", "cd x && make -n test 2>/dev/null || true"):
        imported(guardsh_bin, guardsh_env, tmp_path, "-c", text)  # warm the caches
        names = imported(guardsh_bin, guardsh_env, tmp_path, "-c", text)
        assert "guardsh.engine.classify" in names
        assert not names & HEAVY, (text, sorted(names & HEAVY))
