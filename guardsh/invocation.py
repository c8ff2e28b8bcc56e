"""Read a bash command line the way bash does: which text will run, and from where.

Used for guardsh's own argv (it takes exactly bash's) and for shells found inside
commands (``bash -lc '...'``, ``sh script.sh``).
"""
from __future__ import annotations

LONG_WITH_VALUE = frozenset({"--rcfile", "--init-file"})
SHORT_WITH_VALUE = frozenset("oO")


class Invocation:
    """What a shell command line asks the shell to do.

    Exactly one of ``command`` (``-c``), ``script`` (a file) or ``stdin`` (``-s``, or no
    command and no file) says where the commands come from; ``info`` is set for
    ``--version``/``--help``, which run nothing.
    """

    __slots__ = ("command", "name", "args", "script", "stdin", "interactive", "login", "noexec", "info", "error")

    def __init__(self) -> None:
        self.command: str | None = None
        self.name: str | None = None  # $0 for -c
        self.args: list[str] = []
        self.script: str | None = None
        self.stdin = False
        self.interactive = False
        self.login = False
        self.noexec = False
        self.info = False
        self.error: str | None = None

    def params(self, default_zero: str) -> dict[str, str]:
        """Positional parameters as the shell will see them (``$0``, ``$1``..., ``$#``)."""
        zero = self.name if self.name is not None else (self.script or default_zero)
        params = {"0": zero, "#": str(len(self.args))}
        for k, value in enumerate(self.args, 1):
            params[str(k)] = value
        return params


def parse_shell_argv(args: list[str], argv0: str = "bash") -> Invocation:
    """Parse the arguments after the shell's name."""
    inv = Invocation()
    inv.login = argv0.startswith("-")
    i, n = 0, len(args)
    want_command = False
    # GNU long options come first.
    while i < n and args[i].startswith("--") and args[i] != "--":
        opt = args[i]
        if opt == "--login":
            inv.login = True
        elif opt in ("--version", "--help"):
            inv.info = True
        elif opt in LONG_WITH_VALUE:
            i += 1
        i += 1
    while i < n:
        arg = args[i]
        if arg in ("--", "-"):
            i += 1
            break
        if len(arg) < 2 or arg[0] not in "-+":
            break
        j = 1
        while j < len(arg):
            ch = arg[j]
            if ch in SHORT_WITH_VALUE:
                # -o OPTION / -O SHOPT take the next argument (bash ignores attached text)
                i += 1
                j = len(arg)
                continue
            if arg[0] == "-":
                if ch == "c":
                    want_command = True
                elif ch == "s":
                    inv.stdin = True
                elif ch == "i":
                    inv.interactive = True
                elif ch == "l":
                    inv.login = True
                elif ch == "n":
                    inv.noexec = True
            j += 1
        i += 1
    rest = args[i:]
    if want_command:
        if not rest:
            inv.error = "-c: option requires an argument"
            return inv
        inv.command = rest[0]
        if len(rest) > 1:
            inv.name = rest[1]
            inv.args = rest[2:]
        return inv
    if inv.stdin or not rest:
        inv.stdin = True
        inv.args = rest
        return inv
    inv.script = rest[0]
    inv.args = rest[1:]
    return inv
