"""Running guardsh and the real bash the same way, to compare them byte for byte."""
from __future__ import annotations

import subprocess
from typing import Any

BASH = "/bin/bash"


def run_as(exe: str, argv0: str, args: list[Any], env: dict[str, str], **kw: Any) -> subprocess.CompletedProcess[bytes]:
    """Run ``exe`` with ``argv0`` as its argv[0]; output captured unless stdout/stderr are given."""
    kw.setdefault("capture_output", "stdout" not in kw and "stderr" not in kw)
    kw.setdefault("timeout", 60)
    return subprocess.run([argv0, *args], executable=exe, env=env, **kw)


def same(g: subprocess.CompletedProcess[bytes], b: subprocess.CompletedProcess[bytes]) -> None:
    assert (g.returncode, g.stdout, g.stderr) == (b.returncode, b.stdout, b.stderr)
