"""Wrappers that run another command: ``sudo``, ``env``, ``nice``, ``timeout``, ``xargs``,
``parallel``, ``find -exec``, ``su -c``, ``watch``, ``flock``.  A wrapper that only runs the
command is replaced by it; one that acts by itself too (``find``) is kept beside it."""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable

from guardsh.engine.expansion import Expansion, Reader, inner_command, inner_text, join_words, skip_options
from guardsh.engine.model import Command, Word


def handle_sudo(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    words = cmd.words
    i = skip_options(words, 1, "ugChpUrtTDR", frozenset({
        "--user", "--group", "--close-from", "--host", "--prompt", "--other-user", "--role",
        "--type", "--command-timeout", "--chdir", "--chroot"}))
    flags = {w.value for w in words[1:i]}
    if "-e" in flags or "--edit" in flags:  # sudoedit: the words are files to edit
        out.commands.append(cmd)
        return
    if not inner_command(cmd, i, cmd.program, out, reader, depth, chdir=_option_value(words[1:i], "D", "--chdir")):
        if any(f in flags for f in ("-i", "-s", "--login", "--shell")) or any(
            f.startswith("-") and not f.startswith("--") and ("i" in f or "s" in f) for f in flags
        ):
            out.problem(f"{cmd.program} opens an interactive root shell: guardsh cannot see what it will run", cmd)
            out.worsen("opaque")
        out.commands.append(cmd)


def handle_env(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    words = cmd.words
    i, n = 1, len(words)
    chdir: Word | None = None
    while i < n:
        w = words[i].value
        if w in ("-S", "--split-string") or w.startswith("--split-string="):
            text = w.partition("=")[2] if "=" in w else (words[i + 1].value if i + 1 < n else "")
            rest = join_words(words[i + (1 if "=" in w else 2):])
            inner_text(cmd, text + (" " + rest if rest else ""), "env -S", out, reader, depth)
            return
        if w in ("-C", "--chdir") and i + 1 < n:
            chdir = words[i + 1]
        elif w.startswith("--chdir="):
            chdir = Word(w.partition("=")[2], words[i].dynamic)
        elif w.startswith("-C") and len(w) > 2:
            chdir = Word(w[2:], words[i].dynamic)
        if w in ("-u", "--unset", "-C", "--chdir"):
            i += 2
            continue
        if w == "--":
            i += 1
            break
        if w.startswith("-"):  # includes a lone "-", which means -i
            i += 1
            continue
        break
    assignments: list[tuple[str, Word]] = []
    while i < n and "=" in words[i].value and not words[i].value.startswith("="):
        name, _, value = words[i].value.partition("=")
        assignments.append((name, Word(value, words[i].dynamic)))
        i += 1
    if not inner_command(cmd, i, "env", out, reader, depth, tuple(assignments), chdir=chdir):
        out.commands.append(cmd)


def _option_value(words: tuple[Word, ...], short: str, long: str) -> Word | None:
    """The value of ``-X VALUE``/``-XVALUE``/``--long VALUE``/``--long=VALUE`` among option words."""
    found: Word | None = None
    for k, w in enumerate(words):
        v = w.value
        if v == long or (v.startswith("-") and not v.startswith("--") and v.endswith(short)):
            if k + 1 < len(words):
                found = words[k + 1]
        elif v.startswith(long + "="):
            found = Word(v.partition("=")[2], w.dynamic)
        elif v.startswith("-") and not v.startswith("--") and short in v[1:]:
            found = Word(v[v.index(short, 1) + 1:], w.dynamic)
    return found


def simple_wrapper(value_short: str, value_long: frozenset[str] = frozenset(), positionals: int = 0,
                    numeric_ok: bool = False) -> Callable[[Command, Reader, Expansion, int], None]:
    """A wrapper that takes options, then ``positionals`` words of its own, then a command."""

    def handler(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
        i = skip_options(cmd.words, 1, value_short, value_long, numeric_ok)
        i += positionals
        if not inner_command(cmd, i, cmd.program, out, reader, depth):
            out.commands.append(cmd)

    return handler


def handle_command(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    values = [w.value for w in cmd.words[1:]]
    if any(v in ("-v", "-V") or (v.startswith("-") and ("v" in v or "V" in v)) for v in values[:2]):
        out.commands.append(cmd)  # a lookup: command -v git
        return
    i = skip_options(cmd.words, 1)
    if not inner_command(cmd, i, cmd.program, out, reader, depth):
        out.commands.append(cmd)


def handle_exec(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    i = skip_options(cmd.words, 1, "a")
    if not inner_command(cmd, i, "exec", out, reader, depth):
        out.commands.append(cmd)  # exec >file: only redirections


def handle_xargs(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    # -e, -i, -l (and --eof, --replace, --max-lines) take only an attached value, never the next word
    i = skip_options(cmd.words, 1, "adEILnPs", frozenset({
        "--arg-file", "--delimiter", "--max-args", "--max-procs", "--max-chars", "--process-slot-var"}))
    if not inner_command(cmd, i, "xargs", out, reader, depth, args_from_stdin=True):
        out.commands.append(cmd)  # xargs alone runs echo


def handle_parallel(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    words = cmd.words
    i = skip_options(words, 1, "jNnLSdEIa", frozenset({
        "--jobs", "--sshlogin", "--delimiter", "--colsep", "--arg-file", "--results", "--joblog",
        "--tmpdir", "--halt", "--timeout", "--delay", "--load", "--memfree", "--workdir", "--env"}))
    end = i
    while end < len(words) and not words[end].value.startswith(":::"):
        end += 1
    if end > i:
        inner_text(cmd, join_words(words[i:end]) if end - i > 1 else words[i].value, "parallel", out, reader,
              depth, args_from_stdin=True)
    else:
        out.commands.append(cmd)


def handle_find(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    """find itself (for -delete), and each -exec/-execdir/-ok command with ``{}`` standing for
    what find visits: the start paths themselves, and whatever lies under them."""
    out.commands.append(cmd)
    words = cmd.words
    i, n = 1, len(words)
    while i < n and words[i].value in ("-H", "-L", "-P") or (i < n and words[i].value.startswith("-O")):
        i += 1
    starts: list[Word] = []
    while i < n and not words[i].value.startswith("-") and words[i].value not in ("(", "!", ","):
        starts.append(words[i])
        i += 1
    starts = starts or [Word(".")]
    while i < n:
        if words[i].value in ("-exec", "-execdir", "-ok", "-okdir"):
            label = f"find {words[i].value}"
            j = i + 1
            while j < n and words[j].value not in (";", "+"):
                j += 1
            body = words[i + 1 : j]
            if words[i].value.endswith("dir"):  # -execdir runs in each file's directory: ./name
                targets = [Word("./*", glob=True, dynamic=True)]
            else:
                targets = [w for start in starts for w in (start, _child_of(start))]
            for target in targets:
                inner = tuple(_replace_braces(w, target) for w in body)
                inner_command(cmd.replace(redirects=(), words=inner), 0, label, out, reader, depth)
            i = j + 1
            continue
        i += 1


def _child_of(start: Word) -> Word:
    return Word(start.value.rstrip("/") + "/*", dynamic=start.dynamic, glob=True, tilde=start.tilde)


def _replace_braces(word: Word, target: Word) -> Word:
    if "{}" not in word.value:
        return word
    return Word(word.value.replace("{}", target.value), word.dynamic or target.dynamic,
                word.glob or target.glob, word.subs, target.tilde if word.value.startswith("{}") else word.tilde)


def handle_su(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    values = [w.value for w in cmd.words]
    for k, v in enumerate(values):
        if v in ("-c", "--command") and k + 1 < len(values):
            inner_text(cmd, values[k + 1], "su -c", out, reader, depth)
            return
        if v.startswith("--command="):
            inner_text(cmd, v.partition("=")[2], "su -c", out, reader, depth)
            return
    if cmd.program == "runuser" and "--" in values:
        inner_command(cmd, values.index("--") + 1, "runuser", out, reader, depth)
        return
    out.problem(f"{cmd.program} opens an interactive shell as another user", cmd)
    out.worsen("opaque")
    out.commands.append(cmd)


def handle_watch(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    words = cmd.words
    i = skip_options(words, 1, "nq", frozenset({"--interval", "--equexit"}))
    flags = {w.value for w in words[1:i]}
    if i >= len(words):
        out.commands.append(cmd)
    elif "-x" in flags or "--exec" in flags:
        inner_command(cmd, i, "watch", out, reader, depth)
    else:
        inner_text(cmd, " ".join(w.value for w in words[i:]), "watch", out, reader, depth)


def handle_flock(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
    words = cmd.words
    i = skip_options(words, 1, "wE", frozenset({"--timeout", "--wait", "--conflict-exit-code"}))
    values = [w.value for w in words]
    if i + 2 < len(words) and values[i + 1] in ("-c", "--command"):
        inner_text(cmd, values[i + 2], "flock -c", out, reader, depth)
    elif not inner_command(cmd, i + 1, "flock", out, reader, depth):
        out.commands.append(cmd)
