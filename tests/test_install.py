"""install.sh refuses a layout in which it would overwrite its own launcher (before it installs anything)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_launcher_directory_must_not_be_the_clients(tmp_path: Path) -> None:
    home = tmp_path / "gh"
    env = dict(os.environ, GUARDSH_HOME=str(home), GUARDSH_BIN=str(home / "bin"), HOME=str(tmp_path))
    env.pop("GUARDSH_SYSTEM", None)
    got = subprocess.run([str(REPO / "install.sh")], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert got.returncode == 2
    assert f"GUARDSH_BIN ({home / 'bin'}) must not be {home / 'bin'}, where the native client goes" in got.stderr
    assert not home.exists()  # nothing was installed
