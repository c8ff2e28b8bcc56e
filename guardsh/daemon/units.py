"""systemd units of the daemon, the user's and the separate-user mode's system unit: written
whole and enabled the same way (``systemctl --user`` or ``systemctl``)."""
from __future__ import annotations

import sys


def write_unit(path: str, text: str) -> None:
    """A unit file written whole (agents.files.replace_text: a temporary file renamed into place,
    removed on failure); a new one is readable by all."""
    from guardsh.agents.files import replace_text

    replace_text(path, text, 0o644)
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
