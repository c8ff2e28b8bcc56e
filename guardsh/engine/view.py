"""A command line read with its program's option table: flags, option values, positionals."""
from __future__ import annotations

from guardsh.engine.globs import any_match
from guardsh.engine.model import Command, Word
from guardsh.engine.ruleset import Program


class View:
    """A command line read with its program's option table: flags, option values, positionals."""

    __slots__ = ("flags", "options", "positionals", "help", "whole_match")

    def __init__(self, cmd: Command, spec: Program) -> None:
        flags: set[str] = set()
        options: list[tuple[str, str]] = []
        positionals: list[Word] = []
        words = cmd.words
        i, n = 1, len(words)
        ended = False
        while i < n:
            word = words[i]
            w = word.value
            i += 1
            if ended or len(w) < 2 or w[0] != "-" or (word.dynamic and w[0] == "$"):
                positionals.append(word)
                continue
            if w == "--":
                flags.add("--")
                ended = True
                continue
            if w.startswith("--") or spec.single_dash_long:
                name, eq, value = w.partition("=")
                flags.add(name)
                if eq:
                    options.append((name, value))
                elif name not in spec.flag_options and i < n:
                    nxt = words[i].value
                    if name in spec.value_options or (
                        spec.value_globs and any_match(spec.value_globs, name) and not nxt.startswith("-")
                    ):
                        options.append((name, nxt))
                        i += 1
                continue
            j = 1
            while j < len(w):
                flag = "-" + w[j]
                if w[j].isdigit():  # -9, -20: a number, kept whole
                    flag = "-" + w[j:]
                    flags.add(flag)
                    break
                flags.add(flag)
                if flag in spec.value_options:
                    rest = w[j + 1:]
                    if rest:
                        options.append((flag, rest.lstrip("=")))
                    elif i < n:
                        options.append((flag, words[i].value))
                        i += 1
                    break
                j += 1
        self.flags = flags
        self.options = options
        self.positionals = positionals
        # a help flag before ``--`` (the set difference only when some help flag is there at all)
        self.help = not spec.help_flags.isdisjoint(flags) and bool(spec.help_flags & (flags - {"--"}))
        # a pattern argument must match a whole text (``pkill -x``), for the ``selects`` condition
        self.whole_match = not spec.whole_match_flags.isdisjoint(flags)
