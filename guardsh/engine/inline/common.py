"""What every reader of embedded code shares: pseudo-commands, problems, where the code comes from."""
from __future__ import annotations


from guardsh.engine.expansion import Expansion, Reader, expand_one, inner_text
from guardsh.engine.model import Command, Word

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable

MAX_TEXT = 160

def short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."


def emit(cmd: Command, words: list[Word], label: str, text: str, out: Expansion, reader: Reader,
          depth: int) -> None:
    """Classify a pseudo-command found inside ``cmd``'s code."""
    pseudo = cmd.replace(words=tuple(words), redirects=(), text=short(text), via=cmd.via + (label,), stdin=None,
                         stdin_from=None)
    expand_one(pseudo, reader, out, depth + 1)


def shell_text(cmd: Command, text: str, label: str, out: Expansion, reader: Reader, depth: int) -> None:
    inner_text(cmd.replace(redirects=(), stdin=None, stdin_from=None), text, label, out, reader, depth + 1)


def opaque(cmd: Command, reason: str, out: Expansion) -> None:
    out.problem(reason, cmd)
    out.worsen("opaque")


def stdin_source(cmd: Command) -> tuple[str, object] | None:
    """What a command reads on standard input: ('text', body) for a here-document or string,
    ('file', Word) for ``< file``, ('pipe', program) for a pipeline, None otherwise."""
    for r in cmd.redirects:
        if r.fd in (None, 0):
            if r.heredoc is not None:
                body = r.heredoc
                return ("text", (body, not r.heredoc_quoted and r.op != "<<<" and "$" in body))
            if r.op == "<" and r.target is not None:
                return ("file", r.target)
    if cmd.stdin == "pipe":
        return ("pipe", cmd.stdin_from)
    return None


def read_code_file(cmd: Command, word: Word, what: str, out: Expansion, reader: Reader) -> str | None:
    """Text of a file the command reads its code from; a problem when it cannot be read."""
    if word.dynamic or word.subs:
        opaque(cmd, f"{cmd.program} runs {what} from {word.value}, which is named at run time", out)
        return None
    text = reader.read(word.value)
    if text is None:
        if reader.exists(word.value) is False:
            return None  # the CLI reports a missing file; nothing runs
        opaque(cmd, f"{cmd.program} runs {what} from {word.value}, which guardsh cannot read", out)
    return text


def walk_options(words: tuple[Word, ...], short_values: str, long_values: frozenset[str],
          single_dash_long: bool = False, attached_only: str = "") -> tuple[list[tuple[str, Word | None]], list[Word]]:
    """Options (name, value word) and positional words of a command line."""
    opts: list[tuple[str, Word | None]] = []
    pos: list[Word] = []
    i, n = 1, len(words)
    while i < n:
        word = words[i]
        w = word.value
        i += 1
        if w == "--":
            pos.extend(words[i:])
            break
        if len(w) < 2 or w[0] != "-":
            pos.append(word)
            continue
        if w.startswith("--") or single_dash_long:
            name, eq, value = w.partition("=")
            name = "--" + name.lstrip("-") if single_dash_long else name
            if eq:
                opts.append((name, Word(value, word.dynamic)))
            elif name in long_values and i < n:
                opts.append((name, words[i]))
                i += 1
            else:
                opts.append((name, None))
            continue
        for j in range(1, len(w)):
            c = w[j]
            if c in attached_only:  # mysql -pSECRET: the rest of the word is the value, never the next word
                opts.append(("-" + c, Word(w[j + 1:], word.dynamic) if w[j + 1:] else None))
                break
            if c in short_values:
                rest = w[j + 1:]
                if rest:
                    opts.append(("-" + c, Word(rest, word.dynamic)))
                elif i < n:
                    opts.append(("-" + c, words[i]))
                    i += 1
                else:
                    opts.append(("-" + c, None))
                break
            opts.append(("-" + c, None))
    return opts, pos


def safe(handler: Callable[[Command, Reader, Expansion, int], None]) -> Callable[[Command, Reader, Expansion, int], None]:
    """A reader bug must never crash guardsh or let a command through: it asks instead."""

    def run(cmd: Command, reader: Reader, out: Expansion, depth: int) -> None:
        before = len(out.commands)
        try:
            handler(cmd, reader, out, depth)
        except RecursionError:
            opaque(cmd, f"the code given to {cmd.program} is nested too deeply to read", out)
        except Exception as e:  # noqa: BLE001 - any reader failure becomes "cannot analyse"
            opaque(cmd, f"guardsh could not read the code given to {cmd.program} ({type(e).__name__})", out)
        if not any(c is cmd for c in out.commands[before:]):
            out.commands.append(cmd)

    run.__doc__ = handler.__doc__
    return run
