"""aider's /run, as aider runs it (aider.run_cmd.run_cmd), for each command in the script.

    python drive_aider.py SCRIPT.json RESULTS.json [--tty]     (run with aider's own interpreter)

--tty: standard input is a terminal (a PTY), as when a person runs aider.  /run then spawns
``$SHELL -i -c COMMAND`` under pexpect and shows its output on the terminal; what it hands the
model loses output that arrives before pexpect's interact() starts (aider's own race, with the
real bash too), so the result is what aider showed: our stdout, captured per command.
Without --tty aider runs each command with subprocess(shell=True): /bin/sh -c.
"""
import json
import os
import sys
import tempfile

TTY = "--tty" in sys.argv
if TTY:
    master, slave = os.openpty()
    os.dup2(slave, 0)

from aider.run_cmd import run_cmd  # noqa: E402

results = {}
saved = os.dup(1)
for i, command in enumerate(json.load(open(sys.argv[1]))):
    if not TTY:
        status, output = run_cmd(command, cwd=os.getcwd())
        results[str(i)] = {"exit_code": status, "output": output}
        continue
    with tempfile.TemporaryFile() as shown:
        sys.stdout.flush()
        os.dup2(shown.fileno(), 1)
        try:
            status, _lossy = run_cmd(command, cwd=os.getcwd())
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
        shown.seek(0)
        results[str(i)] = {"exit_code": status, "terminal": shown.read().decode("utf-8", "replace")}
with open(sys.argv[2], "w") as f:
    json.dump(results, f)
