"""The shell's state as a command evolves it, the way bash would: variables and arrays, the cwd and
the directory stack, functions and aliases, positional parameters, and what the command itself
has created or written so far.

What the engine cannot know is ``UNKNOWN``: a variable set from a command substitution, the cwd
after ``cd "$(...)"``, the state after a branch whose two sides disagree.  Strictest wins: a word
that depends on an unknown value is unresolved, and the rules treat it so (it asks).
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Mapping


class _Unknown:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        return False


UNKNOWN: Any = _Unknown()


class GlobValue(str):
    """A variable value that stands for the names a pattern matches (``for f in *.log``)."""

    __slots__ = ()


# Environment variables whose values are trusted even when the rest of the environment is not
# known exactly (a login shell's profile could change anything else).
TRUSTED_ENV = frozenset({"HOME", "USER", "TMPDIR", "LOGNAME"})
# Variables bash sets itself, whose values cannot be known before it runs.
RUNTIME_VARS = frozenset({"?", "$", "!", "-", "_", "RANDOM", "SRANDOM", "SECONDS", "LINENO", "BASHPID", "PPID",
                          "EPOCHSECONDS", "EPOCHREALTIME", "BASH_COMMAND", "FUNCNAME", "BASH_SOURCE",
                          "BASH_LINENO", "REPLY", "PIPESTATUS", "HOSTNAME", "HISTCMD", "COLUMNS", "LINES",
                          "SHLVL", "BASH_SUBSHELL", "OPTIND", "OPTARG"})
MAX_CREATED = 4096


class FileView:
    """What the command has done to the filesystem so far.  One view is shared by every shell of
    the command (subshells, pipelines, ``bash -c``): the disk is one disk.

    ``created``: absolute paths the command may have created (a path that does not exist before the
    command starts and is deleted later loses nothing); ``files``: what it wrote, by path (str),
    None when it removed the file, UNKNOWN when guardsh cannot tell; ``foreign``: a program ran
    whose effects on the filesystem guardsh does not follow (after it, a path that is absent now
    may exist, or be a link, when the command gets there)."""

    __slots__ = ("created", "files", "changed", "foreign")

    def __init__(self) -> None:
        self.created: set[str] = set()
        self.files: dict[str, Any] = {}
        self.changed = False  # a command that may write files has run
        self.foreign = False

    def create(self, path: str) -> None:
        if len(self.created) < MAX_CREATED:
            self.created.add(path)

    def write(self, path: str, content: Any, append: bool = False) -> None:
        self.create(path)
        if append:
            before = self.files.get(path, UNKNOWN)
            content = before + content if isinstance(before, str) and isinstance(content, str) else UNKNOWN
        self.files[path] = content

    def remove(self, path: str) -> None:
        self.files[path] = None
        prefix = path.rstrip("/") + "/"
        for other in [p for p in self.files if p.startswith(prefix)]:
            self.files[other] = None


class State:
    """One shell's state at one point of a command; ``copy()`` for a subshell, ``child()`` for a
    new shell process (``bash -c``), ``merge()`` where two paths of control meet."""

    __slots__ = ("vars", "arrays", "exported", "env", "env_complete", "cwd", "oldpwd", "dirstack", "functions",
                 "aliases", "expand_aliases", "fs", "params", "traps", "git_aliases", "noglob", "home", "exited")

    def __init__(self, cwd: str | None, env: Mapping[str, str], home: str, env_complete: bool = False,
                 params: list[str] | None = None) -> None:
        self.vars: dict[str, Any] = {}  # name -> str | None (unset) | UNKNOWN
        self.arrays: dict[str, Any] = {}  # name -> list[str] | dict[str, str] | UNKNOWN
        self.exported: set[str] = set()
        self.env = env
        self.env_complete = env_complete
        self.cwd = cwd
        self.oldpwd: Any = UNKNOWN
        self.dirstack: Any = []  # list[str] | UNKNOWN, top first (without the cwd)
        self.functions: dict[str, Any] = {}  # name -> (tree node, source text)
        self.aliases: dict[str, str] = {}
        self.expand_aliases = False
        self.fs = FileView()
        self.params: Any = params if params is not None else UNKNOWN  # [$0, $1, ...] | UNKNOWN
        self.traps: dict[str, str] = {}
        self.git_aliases: dict[str, Any] = {}  # alias.NAME -> value | UNKNOWN, set by `git config` earlier
        self.noglob = False
        self.home = home
        self.exited = False  # an unconditional exit ran: nothing after it in this shell runs

    # --- copies and joins

    def copy(self) -> State:
        """The state a subshell starts with (everything inherited; nothing flows back)."""
        new = State.__new__(State)
        new.vars = dict(self.vars)
        new.arrays = dict(self.arrays)
        new.exported = set(self.exported)
        new.env = self.env
        new.env_complete = self.env_complete
        new.cwd = self.cwd
        new.oldpwd = self.oldpwd
        new.dirstack = list(self.dirstack) if self.dirstack is not UNKNOWN else UNKNOWN
        new.functions = dict(self.functions)
        new.aliases = dict(self.aliases)
        new.expand_aliases = self.expand_aliases
        new.fs = self.fs
        new.params = list(self.params) if self.params is not UNKNOWN else UNKNOWN
        new.traps = dict(self.traps)
        new.git_aliases = dict(self.git_aliases)
        new.noglob = self.noglob
        new.home = self.home
        new.exited = False
        return new

    def child(self, params: list[str] | None = None) -> State:
        """A new shell process (``bash -c``, a script): exported variables, cwd, files; its own
        parameters; no functions (unless exported) or aliases."""
        new = self.copy()
        new.vars = {k: v for k, v in self.vars.items() if k in self.exported}
        new.arrays = {}
        new.functions = {}
        new.aliases = {}
        new.expand_aliases = False
        new.traps = {}
        new.dirstack = []
        new.params = params if params is not None else UNKNOWN
        return new

    def remote(self) -> State:
        """A shell on another machine (``ssh host CMD``, ``kubectl exec``): nothing is known."""
        return State(None, {}, self.home, env_complete=False, params=None)

    def merge(self, other: State) -> None:
        """Where control paths meet: what both agree on stays known; the rest becomes UNKNOWN."""
        for name in set(self.vars) | set(other.vars):
            a = self.vars[name] if name in self.vars else self._outer(name)
            b = other.vars[name] if name in other.vars else other._outer(name)
            self.vars[name] = a if a == b and type(a) is type(b) else UNKNOWN
        for name in set(self.arrays) | set(other.arrays):
            a, b = self.arrays.get(name, UNKNOWN), other.arrays.get(name, UNKNOWN)
            self.arrays[name] = a if a == b else UNKNOWN
        self.exported |= other.exported
        if self.cwd != other.cwd:
            self.cwd = None
        if self.oldpwd != other.oldpwd:
            self.oldpwd = UNKNOWN
        if self.dirstack != other.dirstack:
            self.dirstack = UNKNOWN
        for name, fn in other.functions.items():
            self.functions.setdefault(name, fn)
        for name, value in other.aliases.items():
            if self.aliases.get(name, value) != value:
                self.aliases[name] = value  # either may be the one defined: both are classified below
            self.aliases.setdefault(name, value)
        self.expand_aliases = self.expand_aliases or other.expand_aliases
        if self.params != other.params:
            self.params = UNKNOWN
        for sig, text in other.traps.items():
            if self.traps.get(sig, text) != text:
                self.traps[sig] = self.traps[sig] + "\n" + text  # either may run: classify both
            else:
                self.traps[sig] = text
        for name in set(self.git_aliases) | set(other.git_aliases):
            a, b = self.git_aliases.get(name, UNKNOWN), other.git_aliases.get(name, UNKNOWN)
            self.git_aliases[name] = a if a == b else UNKNOWN
        self.noglob = self.noglob or other.noglob
        self.exited = self.exited and other.exited

    def become(self, other: State) -> None:
        for slot in State.__slots__:
            setattr(self, slot, getattr(other, slot))

    # --- variables

    def _outer(self, name: str) -> Any:
        """A variable's value when this command has not set it: from the environment."""
        if name in RUNTIME_VARS:
            return UNKNOWN
        if name == "PWD":
            return self.cwd if self.cwd is not None else UNKNOWN
        if name == "OLDPWD":
            return self.oldpwd
        if name == "HOME":
            return self.home or UNKNOWN
        value = self.env.get(name)
        if value is not None:
            return value if (self.env_complete or name in TRUSTED_ENV) else UNKNOWN
        if name == "IFS":
            return " \t\n"
        return None if self.env_complete else UNKNOWN

    def get(self, name: str) -> Any:
        """str, None (unset) or UNKNOWN; positional parameters by number, ``#``."""
        if name in self.vars:
            return self.vars[name]
        if name.isdigit() or name == "#":
            params = self.params
            if params is UNKNOWN:
                return UNKNOWN
            if name == "#":
                return str(len(params) - 1)
            k = int(name)
            return params[k] if k < len(params) else None
        if name in self.arrays:
            arr = self.arrays[name]
            if arr is UNKNOWN:
                return UNKNOWN
            if isinstance(arr, dict):
                return arr.get("0")
            return arr[0] if arr else None
        return self._outer(name)

    def get_array(self, name: str) -> Any:
        """list[str] (``"${a[@]}"``; ``@`` and ``*`` are the positional parameters), None or UNKNOWN."""
        if name in ("@", "*"):
            return UNKNOWN if self.params is UNKNOWN else list(self.params[1:])
        if name in self.arrays:
            arr = self.arrays[name]
            if isinstance(arr, dict):
                return list(arr.values())
            return arr
        value = self.get(name)
        if value is UNKNOWN:
            return UNKNOWN
        return None if value is None else [value]

    def set(self, name: str, value: Any) -> None:
        self.arrays.pop(name, None)
        self.vars[name] = value

    def set_array(self, name: str, values: Any) -> None:
        self.vars.pop(name, None)
        self.arrays[name] = values

    def unset(self, name: str) -> None:
        self.arrays.pop(name, None)
        self.vars[name] = None

    def forget_all_vars(self) -> None:
        """After a sourced file guardsh could not read, or ``eval`` of an unknown string."""
        self.env_complete = False
        for name in list(self.vars):
            self.vars[name] = UNKNOWN
        for name in list(self.arrays):
            self.arrays[name] = UNKNOWN
