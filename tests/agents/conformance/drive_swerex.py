"""SWE-ReX's local runtime: one bash session, each command run in it as SWE-agent runs it.

    python drive_swerex.py SCRIPT.json RESULTS.json     (run with SWE-ReX's own interpreter)
"""
import asyncio
import json
import sys

from swerex.runtime.abstract import BashAction, CreateBashSessionRequest
from swerex.runtime.local import LocalRuntime


async def main() -> None:
    runtime = LocalRuntime()
    await runtime.create_session(CreateBashSessionRequest(startup_timeout=30))
    results = {}
    for i, command in enumerate(json.load(open(sys.argv[1]))):
        try:
            obs = await runtime.run_in_session(BashAction(command=command, timeout=30, check="silent"))
            results[str(i)] = {"exit_code": obs.exit_code, "output": obs.output}
        except Exception as e:  # a session that broke: what the agent would see
            results[str(i)] = {"error": f"{type(e).__name__}: {e}"}
    with open(sys.argv[2], "w") as f:
        json.dump(results, f)


asyncio.run(main())
