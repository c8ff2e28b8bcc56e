"""Shared by the fake infrastructure tools of the preview tests (tests/helpers/fakebin/).

Each fake implements only the read-only preview behaviour of the real tool it stands for and
refuses everything else (exit 99), so a test fails loudly if guardsh ever ran the real action.
Each appends its argv, cwd and KUBECONFIG/AWS_PROFILE to $FAKE_LOG, and, when $FAKE_BLOCK names a
FIFO, first waits until the test writes a line to it (to see the console while it previews).
"""
import json
import os
import sys


def start(tool: str) -> list[str]:
    argv = sys.argv[1:]
    log = os.environ.get("FAKE_LOG")
    if log:
        with open(log, "a") as f:
            f.write(json.dumps({"tool": tool, "argv": argv, "cwd": os.getcwd(),
                                "KUBECONFIG": os.environ.get("KUBECONFIG"),
                                "AWS_PROFILE": os.environ.get("AWS_PROFILE")}) + "\n")
    block = os.environ.get("FAKE_BLOCK")
    if block:
        with open(block) as f:
            f.readline()
    return argv


def refuse(tool: str, argv: list[str]) -> None:
    sys.stderr.write(f"fake {tool}: only the dry run is implemented, refusing: {' '.join(argv)}\n")
    sys.exit(99)
