"""systemd units of the daemon, the user's and the separate-user mode's system unit: written
whole and enabled the same way (``systemctl --user`` or ``systemctl``)."""
from __future__ import annotations

import os
import sys


def write_unit(path: str, text: str) -> None:
    """A unit file written whole (a temporary file renamed into place), readable by all."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    sys.stdout.write(f"guardsh daemon: wrote {path}\n")


def enable_unit(systemctl: list[str], name: str, start_hint: str) -> None:
    """``daemon-reload`` and ``enable --now`` the unit (``systemctl`` or ``systemctl --user``); a
    failure is said with how to start the daemon instead."""
    import subprocess

    for cmd in (systemctl + ["daemon-reload"], systemctl + ["enable", "--now", name]):
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            sys.stdout.write(f"guardsh daemon: {' '.join(cmd)} failed ({r.stderr.strip()[:200]}); "
                             f"start it with: {start_hint}\n")
            return
    sys.stdout.write(f"guardsh daemon: enabled and started {name} ({' '.join(systemctl)} status {name})\n")
