"""What the task runners share: finding their file, reading it, classifying a recipe."""
from __future__ import annotations

import os

from guardsh.engine.expansion import Expansion, Reader, expand_one, inner_text, join_words
from guardsh.engine.model import Command, Word

MAX_RECIPES = 200  # recipes walked for one runner command (prerequisites included)
UNKNOWN_VALUE = "${__guardsh_unknown}"  # a value guardsh cannot know, as the shell will see it


def find_up(start: str | None, names: tuple[str, ...], reader: Reader, up: bool = True) -> str | None:
    """The first of ``names`` in ``start`` (or, with ``up``, the nearest directory above it)."""
    if start is None:
        return None
    directory = start
    while True:
        for name in names:
            path = os.path.join(directory, name)
            if reader.exists(path):
                return path
        parent = os.path.dirname(directory)
        if not up or parent == directory:
            return None
        directory = parent


def cannot_read(cmd: Command, what: str, out: Expansion, reader: Reader) -> None:
    """The runner's file cannot be read. Where reading is off (rule examples, offline logs from
    elsewhere) the runner is judged by its own rules, as a script that cannot be read is."""
    if not reader.read_files:
        return
    out.problem(f"{cmd.program} runs {what}, which guardsh cannot read or understand", cmd)
    out.worsen("opaque")


def run_shell(cmd: Command, text: str, label: str, directory: str | None, out: Expansion, reader: Reader,
              depth: int) -> None:
    """A recipe line the runner hands to ``sh -c`` in ``directory``."""
    inner_text(cmd.replace(redirects=(), stdin=None, stdin_from=None), text, label, out, reader, depth,
               cwd=directory)


def run_argv(cmd: Command, argv: list[str], label: str, directory: str | None, out: Expansion, reader: Reader,
             depth: int) -> None:
    """A command the runner runs directly (no shell), in ``directory``."""
    if not argv:
        return
    words = tuple(Word(a, dynamic=UNKNOWN_VALUE in a) for a in argv)
    inner = cmd.replace(words=words, redirects=(), stdin=None, stdin_from=None, text=join_words(words),
                        via=cmd.via + (label,), cwd=directory)
    expand_one(inner, reader, out, depth + 1)
