"""aider's /run, as aider runs it (aider.run_cmd.run_cmd), for each command in the script.

    python drive_aider.py SCRIPT.json RESULTS.json      (run with aider's own interpreter)

Standard input is not a terminal, so aider runs each command with subprocess(shell=True).
"""
import json
import os
import sys

from aider.run_cmd import run_cmd

results = {}
for i, command in enumerate(json.load(open(sys.argv[1]))):
    status, output = run_cmd(command, cwd=os.getcwd())
    results[str(i)] = {"exit_code": status, "output": output}
with open(sys.argv[2], "w") as f:
    json.dump(results, f)
