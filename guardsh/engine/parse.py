"""``parse_script``: every simple command a text runs, however nested in substitutions, lists,
pipelines and compound commands, before wrappers are looked into.

This is the walk of ``guardsh.engine.walk`` (the grammar of ``guardsh.engine.tree`` with the
shell's state) with a dispatch that only collects the commands: the view the parser tests and
the corpus checks take.  Classification uses the walk directly.

The mode is ``full`` when the grammar takes the text, ``fallback`` when it does not (bash would
report a syntax error) and the tolerant extractor found the simple commands, ``opaque`` when the
text cannot be read at all (an unterminated quote, nesting too deep, too large): the caller must ask.
"""
from __future__ import annotations

from guardsh.engine import tree
from guardsh.engine.expansion import Expansion, Reader
from guardsh.engine.lex import tokenize
from guardsh.engine.model import Command
from guardsh.engine.scan import LexError
from guardsh.engine.state import State
from guardsh.engine.walk import MAX_DEPTH, MAX_TEXT, walk_script

__all__ = ["MAX_DEPTH", "MAX_TEXT", "Parsed", "parse_script"]


class Parsed:
    """Simple commands of a text; ``mode`` is 'full', 'fallback' or 'opaque'."""

    __slots__ = ("commands", "mode", "problems", "functions")

    def __init__(self) -> None:
        self.commands: list[Command] = []
        self.functions: set[str] = set()  # functions the text defines
        self.mode = "full"
        self.problems: list[str] = []


def _collect(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    out.commands.append(cmd)


def parse_script(text: str, params: dict[str, str] | None = None, via: tuple[str, ...] = (),
                 depth: int = 0) -> Parsed:
    """Every simple command in ``text`` that may run; ``params`` its positional parameters."""
    positional = None
    if params is not None:
        count = int(params.get("#", "0"))
        positional = [params.get("0", "bash")] + [params.get(str(k), "") for k in range(1, count + 1)]
    out = Expansion(_collect, walk_script)
    walk_script(text, State("/", {}, "", params=positional), Reader(None, read_files=False), out, via, depth)
    result = Parsed()
    result.commands = out.commands
    result.mode = "opaque" if out.problems else out.mode
    result.problems = [reason for reason, _at in out.problems]
    try:
        result.functions = set(tree.function_names(tree.parse_tokens(tokenize(text))))
    except (LexError, tree.GrammarError):
        pass
    return result
