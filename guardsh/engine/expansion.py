"""The walk through wrappers, and what every wrapper handler uses: the ``Expansion`` the walk
fills, the ``Reader`` of the files commands name, and the steps to classify a command or a
shell text that a wrapper runs."""
from __future__ import annotations

import os

from guardsh.engine.model import Command, Word

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

    from guardsh.engine.state import State

SHELLS = frozenset({"bash", "sh", "zsh", "dash", "ksh", "ash", "mksh", "rbash", "busybox-sh", "guardsh"})
MAX_FILE = 1024 * 1024
MAX_DEPTH = 12  # shells, wrappers and substitutions nested in one another
TRUSTED_SOURCES = (
    ".claude/shell-snapshots/",  # Claude Code's snapshot of the user's shell functions
    ".codex/shell_snapshots/",  # Codex's equivalent
)


class Expansion:
    """What the walk found: the simple commands rules will classify, the shell texts found inside
    wrappers, and what could not be analysed.

    ``dispatch`` is the step for one command (``guardsh.engine.unwrap.expand_one``) and ``walk``
    the walk of a shell text (``guardsh.engine.walk.walk_script``): handlers reach them through
    ``expand_one`` and ``inner_text`` below, so they need not import the modules that call them.
    ``state`` is the shell's state at the command being dispatched."""

    __slots__ = ("commands", "problems", "mode", "texts", "dispatch", "walk", "state", "budget", "rules")

    def __init__(self, dispatch: Callable[[Command, Reader, Expansion, int], None],
                 walk: Callable[..., None] | None = None) -> None:
        self.dispatch = dispatch
        self.walk = walk
        self.state: State | None = None
        self.budget: Any = None
        self.rules: Any = None  # the RuleSet, for the runner table and the unknown-program tail (issue 13)
        self.commands: list[Command] = []
        self.texts: list[str] = []  # shell texts found inside wrappers (bash -c, eval, scripts)
        self.problems: list[tuple[str, str]] = []  # (reason, command text)
        self.mode = "full"

    def worsen(self, mode: str) -> None:
        order = ("full", "fallback", "opaque")
        if order.index(mode) > order.index(self.mode):
            self.mode = mode

    def problem(self, reason: str, cmd: Command) -> None:
        self.problems.append((reason, cmd.text or " ".join(cmd.argv)))


class Reader:
    """Where files named by commands are read from (scripts, sourced files).

    ``cwd`` is the directory of the command being looked at (None: unknown, so a relative path
    cannot be read) and ``fs`` what the command itself has written so far: a script it wrote is
    read from there, not from the disk."""

    __slots__ = ("cwd", "read_files", "stdin_is_tty", "home", "fs")

    def __init__(self, cwd: str | None, read_files: bool = True, stdin_is_tty: bool = True, home: str = "") -> None:
        self.cwd = cwd
        self.read_files = read_files
        self.stdin_is_tty = stdin_is_tty
        self.home = home
        self.fs: Any = None

    def full_path(self, path: str) -> str | None:
        if path.startswith("~"):
            head, sep, rest = path.partition("/")
            if head != "~" or not self.home:
                return None
            path = self.home + sep + rest
        if not path.startswith("/"):
            if self.cwd is None:
                return None
            path = os.path.join(self.cwd, path)
        return os.path.normpath(path)

    def written(self, path: str) -> Any:
        """What the command wrote to ``path`` earlier: text, None (removed), UNKNOWN, or
        ``NOT_WRITTEN`` when it did not write there."""
        full = self.full_path(path)
        if self.fs is None or full is None or full not in self.fs.files:
            return NOT_WRITTEN
        return self.fs.files[full]

    def exists(self, path: str) -> bool | None:
        """Does ``path`` exist when the command gets to it?  None when guardsh cannot tell."""
        written = self.written(path)
        if written is not NOT_WRITTEN:
            return written is not None
        full = self.full_path(path)
        if full is None:
            return None
        if self.fs is not None and (full in self.fs.created or any(
                full.startswith(c.rstrip("/") + "/") for c in self.fs.created)):
            return None if not os.path.lexists(full) else True
        if not self.read_files:
            return None
        return os.path.lexists(full)

    def trusted_source(self, path: str) -> bool:
        """An agent's shell snapshot, in the user's own home directory (writing there asks)."""
        if not self.home or ".." in path.split("/"):
            return False
        full = self.full_path(path)
        return full is not None and any(full.startswith(os.path.join(self.home, t)) for t in TRUSTED_SOURCES)

    def read(self, path: str) -> str | None:
        """Text of a script file, or None when it cannot be read or is not text."""
        written = self.written(path)
        if written is not NOT_WRITTEN:
            return written if isinstance(written, str) else None
        if not self.read_files:
            return None
        full = self.full_path(path)
        if full is None or not _regular_file(full):
            return None  # /dev/stdin, a FIFO, a directory: reading it would steal or block
        try:
            with open(full, "rb") as f:
                data = f.read(MAX_FILE + 1)
        except OSError:
            return None
        if len(data) > MAX_FILE or b"\0" in data[:4096]:
            return None
        return data.decode("utf-8", errors="replace")

    def is_shell_script(self, path: str) -> bool | None:
        """True for a shell script, False for another program, None when it does not exist."""
        written = self.written(path)
        if written is not NOT_WRITTEN:
            if written is None:
                return None
            if not isinstance(written, str):
                return True  # written by the command, content unknown: a script guardsh cannot read
            head = written[:256].encode("utf-8", "surrogateescape")
        else:
            if not self.read_files:
                return None
            full = self.full_path(path)
            if full is None:
                return True
            if os.path.exists(full) and not _regular_file(full):
                return True  # a FIFO or device as a script: treat as a script guardsh cannot read
            try:
                with open(full, "rb") as f:
                    head = f.read(256)
            except OSError:
                return None
        if head.startswith(b"#!"):
            line = head.split(b"\n", 1)[0]
            interp = line[2:].strip().split()
            if not interp:
                return True
            name = interp[0].rsplit(b"/", 1)[-1]
            if name == b"env" and len(interp) > 1:
                name = interp[-1].rsplit(b"/", 1)[-1]
            return name.decode(errors="replace") in SHELLS
        return b"\0" not in head and not head.startswith(b"\x7fELF")


class _NotWritten:
    __slots__ = ()


NOT_WRITTEN = _NotWritten()


def _regular_file(path: str) -> bool:
    import stat

    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


_NEEDS_QUOTES = frozenset(" \t\n'\"\\$`;&|<>()*?[]#~{}")


def join_words(words: tuple[Word, ...] | list[Word]) -> str:
    out = []
    for w in words:
        v = w.value
        if not v or not _NEEDS_QUOTES.isdisjoint(v):
            v = "'" + v.replace("'", "'\\''") + "'"
        out.append(v)
    return " ".join(out)


def skip_options(
    words: tuple[Word, ...],
    start: int,
    value_short: str = "",
    value_long: frozenset[str] = frozenset(),
    numeric_ok: bool = False,
) -> int:
    """Index of the first non-option word at or after ``start``."""
    i, n = start, len(words)
    while i < n:
        w = words[i].value
        if w == "--":
            return i + 1
        if not w.startswith("-") or w == "-":
            return i
        if w.startswith("--"):
            name, eq, _ = w.partition("=")
            i += 1
            if not eq and name in value_long:
                i += 1
            continue
        if numeric_ok and w[1:].isdigit():
            i += 1
            continue
        j = 1
        i += 1
        while j < len(w):
            if w[j] in value_short:
                if j == len(w) - 1:
                    i += 1
                break
            j += 1
    return i


def expand_one(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    """Classify ``cmd`` with whatever it wraps (the walk's own step)."""
    out.dispatch(cmd, reader, out, depth)


def inner_command(cmd: Command, start: int, label: str, out: Expansion, reader: Reader, depth: int,
           assignments: tuple[tuple[str, Word], ...] = (), args_from_stdin: bool = False,
           end: int | None = None, chdir: Word | None = None) -> bool:
    """Classify ``cmd.words[start:end]`` as the command a wrapper runs; False if there is none.
    ``chdir``: the directory the wrapper changes to first (``env -C DIR``, ``sudo -D DIR``)."""
    words = cmd.words[start:end]
    if not words:
        return False
    inner = cmd.replace(
        words=words,
        assignments=cmd.assignments + assignments,
        text=join_words(words),
        via=cmd.via + (label,),
        args_from_stdin=cmd.args_from_stdin or args_from_stdin,
    )
    if chdir is None:
        expand_one(inner, reader, out, depth + 1)
        return True
    inner = inner.replace(cwd=_directory(chdir, cmd.cwd, reader.home))
    saved = reader.cwd
    reader.cwd = inner.cwd
    try:
        expand_one(inner, reader, out, depth + 1)
    finally:
        reader.cwd = saved
    return True


def _directory(word: Word, cwd: str | None, home: str) -> str | None:
    """Where a wrapper's directory option leads; None when it cannot be known."""
    value = word.value
    if word.dynamic or not value:
        return None
    if value == "~" or value.startswith("~/"):
        if not home:
            return None
        value = home + value[1:]
    if not value.startswith("/"):
        if cwd is None:
            return None
        value = os.path.join(cwd, value)
    return os.path.normpath(value)


def inner_text(cmd: Command, text: str, label: str, out: Expansion, reader: Reader, depth: int,
               params: dict[str, str] | None = None, args_from_stdin: bool = False, scope: str = "child",
               cwd: str | None | bool = False) -> None:
    """Classify shell text that a wrapper will run (``bash -c``, ``eval``, ``ssh host CMD``).

    ``scope``: ``child`` for a new shell process (exported variables, the cwd, its own
    parameters), ``same`` for the current shell (``eval``, ``source``), ``remote`` for a shell on
    another machine (nothing known).  ``cwd``: where the text runs, when not the command's own
    directory (a task runner runs its recipes in the directory of the file that holds them)."""
    out.texts.append(text)
    assert out.walk is not None and out.state is not None
    state = out.state
    saved_cwd, saved_fs = reader.cwd, reader.fs
    if scope == "same":
        inner_state = state
    elif scope == "remote":
        inner_state = state.remote()
    else:
        positional = None
        if params is not None:
            count = int(params.get("#", "0"))
            positional = [params.get("0", "bash")] + [params.get(str(k), "") for k in range(1, count + 1)]
        inner_state = state.child(positional)
    if cwd is not False:
        inner_state.cwd = cwd  # type: ignore[assignment]
    out.walk(text, inner_state, reader, out, cmd.via + (label,), depth + 1, args_from_stdin or cmd.args_from_stdin)
    out.state = state
    reader.cwd, reader.fs = saved_cwd, saved_fs
