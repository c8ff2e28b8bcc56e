"""Task runners: what ``make TARGET``, ``npm run X``, ``npm test``, ``pnpm``/``yarn`` scripts,
``just RECIPE``, ``tox -e ENV``, ``poetry run`` and ``task NAME`` (Taskfiles) will run.

Each reads the file its runner reads (a Makefile, package.json, a justfile, tox.ini, a Taskfile),
finds the recipes that will run (with their prerequisites, dependencies and pre/post scripts)
and classifies them as the shell code (or commands) they are, in the directory the runner runs
them in.  A runner file that cannot be read or understood asks; one that does not exist runs
nothing (the runner reports it).  These modules are imported only when a runner appears.
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable

    from guardsh.engine.expansion import Expansion, Reader
    from guardsh.engine.model import Command

    Handler = Callable[[Command, Reader, Expansion, int], None]


def _lazy(module: str, name: str) -> Handler:
    def handler(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
        from importlib import import_module

        getattr(import_module(f"guardsh.engine.tasks.{module}"), name)(cmd, reader, out, depth)

    return handler


TASK_HANDLERS: dict[str, Handler] = {
    "make": _lazy("make", "handle_make"), "gmake": _lazy("make", "handle_make"),
    "npm": _lazy("npm", "handle_npm"), "pnpm": _lazy("npm", "handle_npm"), "yarn": _lazy("npm", "handle_npm"),
    "just": _lazy("just", "handle_just"),
    "tox": _lazy("tox", "handle_tox"),
    "poetry": _lazy("tox", "handle_poetry"),
    "task": _lazy("taskfile", "handle_task"), "go-task": _lazy("taskfile", "handle_task"),
}
