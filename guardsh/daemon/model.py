"""The values between the daemon's socket and its answers: a request, an answer."""
from __future__ import annotations

import os

FALLBACK = "fallback"
ALLOW = "allow"
PRINT = "print"  # a hook: print this output, exit 0


class Request:
    """What the client sent: the name it was exec'd by, its arguments, cwd, environment."""

    __slots__ = ("name", "args", "cwd", "env", "stdin_tty", "pid", "ppid", "uid")

    def __init__(self, name: str, args: list[str], cwd: str, env: dict[str, str], stdin_tty: bool,
                 pid: int, ppid: int, uid: int | None = None) -> None:
        self.name, self.args, self.cwd, self.env = name, args, cwd, env
        self.stdin_tty, self.pid, self.ppid = stdin_tty, pid, ppid
        self.uid = os.getuid() if uid is None else uid  # the client's (SO_PEERCRED)


class Answer:
    """``ALLOW`` with the bash to exec, the argv[0] to give it and the recursion-guard token
    (empty: leave the environment as it is), or ``FALLBACK`` with why (for the log)."""

    __slots__ = ("verdict", "bash", "argv0", "token", "why")

    def __init__(self, verdict: str, bash: str = "", argv0: str = "", token: str = "", why: str = "") -> None:
        self.verdict, self.bash, self.argv0, self.token, self.why = verdict, bash, argv0, token, why


def fallback(why: str) -> Answer:
    return Answer(FALLBACK, why=why)
