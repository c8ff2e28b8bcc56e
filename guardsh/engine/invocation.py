"""Read a bash command line the way bash does: which text will run, and from where.

Used for guardsh's own argv (it takes exactly bash's) and for shells found inside
commands (``bash -lc '...'``, ``sh script.sh``).
"""
from __future__ import annotations

# bash's long options (shell.c long_args); bash also accepts them with a single dash.
LONG_OPTIONS = frozenset({
    "debug", "debugger", "dump-po-strings", "dump-strings", "help", "init-file", "login",
    "noediting", "noprofile", "norc", "posix", "pretty-print", "protected", "rcfile", "restricted",
    "verbose", "version", "wordexp",
})
LONG_WITH_VALUE = frozenset({"rcfile", "init-file"})


class Invocation:
    """What a shell command line asks the shell to do.

    Exactly one of ``command`` (``-c``), ``script`` (a file) or ``stdin`` (``-s``, or no
    command and no file) says where the commands come from; ``info`` is set for
    ``--version``/``--help``, which run nothing.
    """

    __slots__ = ("command", "name", "args", "script", "stdin", "interactive", "login", "noexec", "info", "error",
                 "rcfile")

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
        self.rcfile: str | None = None  # --rcfile / --init-file: sourced by an interactive shell

    def params(self, default_zero: str) -> dict[str, str]:
        """Positional parameters as the shell will see them (``$0``, ``$1``..., ``$#``)."""
        zero = self.name if self.name is not None else (self.script or default_zero)
        params = {"0": zero, "#": str(len(self.args))}
        for k, value in enumerate(self.args, 1):
            params[str(k)] = value
        return params


def parse_shell_argv(args: list[str], argv0: str = "bash") -> Invocation:
    """Parse the arguments after the shell's name, the way bash's shell.c does.

    Long options come first, with one dash or two (``-norc`` is ``--norc``).  Then option
    clusters starting with ``-`` or ``+``: ``c``, ``s``, ``i`` and ``l`` count after either
    sign, ``o`` and ``O`` take the next argument and the cluster goes on (``-oc pipefail CMD``).
    """
    inv = Invocation()
    inv.login = argv0.startswith("-")
    i, n = 0, len(args)
    want_command = False
    while i < n and args[i].startswith("-") and len(args[i]) > 1:
        opt = args[i]
        name = opt[2:] if opt.startswith("--") else opt[1:]
        if opt == "--":
            break
        if name not in LONG_OPTIONS:
            if opt.startswith("--"):
                inv.error = f"{opt}: invalid option"  # bash refuses it and exits 2
                return inv
            break  # a cluster of single-letter options
        if name == "login":
            inv.login = True
        elif name in ("version", "help", "dump-strings", "dump-po-strings", "pretty-print"):
            inv.info = True
        elif name in LONG_WITH_VALUE:
            i += 1
            if i < n:
                inv.rcfile = args[i]
        i += 1
    while i < n:
        arg = args[i]
        i += 1
        if arg in ("--", "-"):
            break
        if len(arg) < 2 or arg[0] not in "-+":
            i -= 1
            break
        for ch in arg[1:]:
            if ch in "oO":
                i += 1  # -o OPTION / -O SHOPT take the next argument; the cluster goes on
            elif ch == "c":
                want_command = True
            elif ch == "s":
                inv.stdin = True
            elif ch == "i":
                inv.interactive = True
            elif ch == "l":
                inv.login = True
            elif ch == "n" and arg[0] == "-":
                inv.noexec = True
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
