"""Does one match condition (a rule's ``match`` or an ``unless`` entry) hold for a command?"""
from __future__ import annotations

from guardsh.engine.context import Context
from guardsh.engine.globs import any_in, any_match, gmatch
from guardsh.engine.model import Command, Word
from guardsh.engine.view import View

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def check(cond: dict[str, Any], cmd: Command, view: View, ctx: Context, skip: int = 0) -> bool:
    """Does one match condition (a rule's ``match`` or one ``unless`` entry) hold?

    ``skip``: positionals already read as the rule's subcommand (for ``unless`` entries that
    name no subcommand of their own), so ``args`` means the same in ``match`` and ``unless``.
    """
    progs = cond.get("program")
    if progs is not None and cmd.program not in progs and not any_match(progs, cmd.program):
        return False  # an unless entry that names programs applies to those programs only
    args = view.positionals
    sub = cond.get("subcommand")
    if sub is None:
        args = args[skip:]
    else:
        if len(args) < len(sub):
            return False
        for k, patterns in enumerate(sub):
            if args[k].dynamic or not any_match(patterns, args[k].value):
                return False
        args = args[len(sub):]
    for key, want in cond.items():
        if key in ("program", "subcommand"):
            continue
        if key == "flags":
            if not any_in(want, view.flags):
                return False
        elif key == "all_flags":
            if not all(any(gmatch(p, f) for f in view.flags) for p in want):
                return False
        elif key == "options":
            for name, patterns in want.items():
                for n, v in view.options:
                    if n == name and _text_match(patterns, v, ctx):
                        break
                else:
                    return False
        elif key == "args":
            for a in args:
                if _text_match(want, a.value, ctx):
                    break
            else:
                return False
        elif key == "selects":
            if not any(a.dynamic or selects(a.value, want, view.whole_match) for a in args):
                return False
        elif key == "min_args":
            if len(args) < want:
                return False
        elif key == "words":
            for w in cmd.words[1:]:
                if _text_match(want, w.value, ctx):
                    break
            else:
                return False
        elif key == "paths":
            if not _paths_any(want, args, cmd, ctx):
                return False
        elif key == "all_paths":
            if not args or cmd.args_from_stdin:
                return False
            wanted = frozenset(want)
            if not all(ctx.path_in(wanted, a, cmd.cwd, cmd.created, cmd.as_found) for a in args):
                return False
        elif key == "dest_paths":
            dest = _destination(args, view, cmd.program)
            if dest is None or not ctx.path_classes(dest, cmd.cwd, cmd.created) & set(want):
                return False
        elif key == "source_paths":
            dest = _destination(args, view, cmd.program)
            sources = args[:-1] if dest is not None and args and dest is args[-1] else list(args)
            if not _paths_any(want, sources, cmd, ctx):
                return False
        elif key == "redirects":
            if not any(r.writes and r.target is not None and any_match(want, r.target.value) for r in cmd.redirects):
                return False
        elif key == "all_redirect_paths":
            targets = [r.target for r in cmd.redirects if r.writes and r.target is not None]
            if not targets or not all(ctx.path_classes(t, cmd.cwd, cmd.created) & set(want) for t in targets):
                return False
        elif key == "redirect_paths":
            if not any(r.writes and r.target is not None and ctx.path_classes(r.target, cmd.cwd, cmd.created) & set(want)
                       for r in cmd.redirects):
                return False
        elif key == "stdin":
            if cmd.stdin != want:
                return False
        elif key == "stdin_from":
            if cmd.stdin_from is None or not any_match(want, cmd.stdin_from):
                return False
        elif key == "assigns":
            if not any(any_match(want, name) for name, _ in cmd.assignments):
                return False
        elif key == "env":
            for name, patterns in want.items():
                value = next((w.value for n, w in reversed(cmd.assignments) if n == name), ctx.env.get(name))
                if value is None or not any_match(patterns, value):
                    return False
        elif key == "via":
            if not any(any_match(want, v) for v in cmd.via):
                return False
        elif key == "args_from_stdin":
            if cmd.args_from_stdin != want:
                return False
    return True


_SELECTS: dict[tuple[str, tuple[str, ...], bool], bool] = {}


def selects(pattern: str, texts: tuple[str, ...], whole: bool = False) -> bool:
    """Would ``pattern``, read as the regular expression ``pkill``, ``pgrep`` and ``killall -r``
    take (POSIX extended; Python's ``re`` reads the same syntax for what such patterns use), find a
    match in one of ``texts`` (``whole``: match all of one, as ``pkill -x`` does)?  A pattern
    Python cannot read selects everything (fail closed)."""
    key = (pattern, texts, whole)
    hit = _SELECTS.get(key)
    if hit is None:
        import re

        try:
            rx = re.compile(pattern)
        except (re.error, RecursionError, OverflowError):
            hit = True
        else:
            find = rx.fullmatch if whole else rx.search
            hit = any(find(t) is not None for t in texts)
        if len(_SELECTS) > 4096:
            _SELECTS.clear()
        _SELECTS[key] = hit
    return hit


TARGET_DIRECTORY_PROGRAMS = frozenset({"cp", "mv", "ln", "install"})


def _destination(args: list[Word], view: View, program: str) -> Word | None:
    """The destination of cp/mv/install/ln style commands: ``-t DIR`` or the last argument."""
    if program in TARGET_DIRECTORY_PROGRAMS:  # elsewhere -t means something else (mount -t TYPE)
        for name, value in view.options:
            if name in ("-t", "--target-directory"):
                return Word(value)
    return args[-1] if len(args) >= 2 else None


def _text_match(patterns: tuple[str, ...], value: str, ctx: Context) -> bool:
    """A word's text against patterns; a word under the home directory also matches the patterns
    written for it with ``~`` or ``$HOME`` (bash expanded those before guardsh read the word)."""
    if any_match(patterns, value):
        return True
    home = ctx.home
    if value.startswith(home) and (len(value) == len(home) or value[len(home)] in "/:"):
        rest = value[len(home):]
        return any_match(patterns, "~" + rest) or any_match(patterns, "$HOME" + rest)
    return False


def _paths_any(want: tuple[str, ...], args: list[Word], cmd: Command, ctx: Context) -> bool:
    if cmd.args_from_stdin and "unresolved" in want:
        return True
    for a in args:
        if not ctx.path_classes(a, cmd.cwd, cmd.created).isdisjoint(want):
            return True
    return False
