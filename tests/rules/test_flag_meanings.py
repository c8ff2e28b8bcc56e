"""Issue 13 §3: a flag's meaning belongs to its program.  A dry-run or listing exception applies
only to the programs that define that flag that way (an ``unless`` entry with ``program`` is
narrowed to those programs)."""
from __future__ import annotations

from typing import Callable

import pytest

from guardsh.engine.model import Decision, Verdict

CASES = [
    ("sudo mkfs.fat -n DATA /dev/sdb1", Decision.DENY),     # mkfs.fat -n: the volume label
    ("mkfs.vfat -n BOOT /dev/sda1", Decision.DENY),
    ("mkfs.ext4 -n /dev/sdb1", Decision.ALLOW),             # mke2fs -n: make nothing
    ("mke2fs -n /dev/sdb1", Decision.ALLOW),
    ("mkfs.xfs -N /dev/sdb", Decision.ALLOW),
    ("sgdisk -l backup.gpt /dev/sda", Decision.DENY),       # sgdisk -l loads a backup table
    ("sgdisk -p -Z /dev/sda", Decision.DENY),               # print beside zap is no dry run
    ("sgdisk -p /dev/sda", Decision.ALLOW),
    ("gdisk -l /dev/sda", Decision.ALLOW),
    ("fdisk -l", Decision.ALLOW),
    ("cp -n build/app /etc/app.conf", Decision.ASK),        # cp -n is no-clobber, not rsync's dry run
    ("rsync -n -a build/ /etc/app/", Decision.ALLOW),
    ("pkill -s HUP sshd", Decision.ASK),                    # pkill -s is a session id
]


@pytest.mark.parametrize("command,expected", CASES, ids=[c for c, _ in CASES])
def test_flag_meaning_is_per_program(classify: Callable[[str], Verdict], command: str, expected: Decision) -> None:
    verdict = classify(command)
    assert verdict.decision == expected, (verdict.risk.label, [m.rule for m in verdict.matches])
