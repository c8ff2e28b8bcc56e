"""Where quoted and nested constructs end: ``$( )``, ``${ }``, quotes, backticks and here-document
bodies.  The lexer and the parser skip over what these find as one piece."""
from __future__ import annotations


class LexError(ValueError):
    """The text is not valid shell (an unterminated quote, an unbalanced substitution)."""


def find_close(text: str, i: int, open_: str = "(", close: str = ")") -> int:
    """Index just past the bracket closing the one opened before ``i``.

    Quote-aware; for ``$( )`` also skips here-document bodies and does not count the ``)`` of
    ``case`` patterns, as bash's own parser does.
    """
    depth = 1
    n = len(text)
    pending: list[tuple[str, bool]] = []  # here-documents whose bodies start at the next newline
    in_case = 0
    word_start = True
    command_sub = open_ == "("
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            word_start = False
            continue
        if c == "\n" and pending:
            i = _skip_heredoc_bodies(text, i + 1, pending)
            pending = []
            word_start = True
            continue
        if c == "'":
            j = text.find("'", i + 1)
            if j < 0:
                raise LexError("unterminated single quote")
            i = j + 1
            word_start = False
            continue
        if c == '"':
            i = _skip_double(text, i + 1)
            word_start = False
            continue
        if c == "`":
            i = _skip_backtick(text, i + 1)
            word_start = False
            continue
        if c == "$" and text.startswith("$(", i):
            i = find_close(text, i + 2)
            word_start = False
            continue
        if c == "$" and text.startswith("${", i):
            i = find_close(text, i + 2, "{", "}")
            word_start = False
            continue
        if command_sub and c == "<" and text.startswith("<<", i) and not text.startswith("<<<", i):
            j = i + 2
            strip = text.startswith("-", j)
            j += strip
            while j < n and text[j] in " \t":
                j += 1
            k = j
            while k < n and text[k] not in " \t\n;&|<>()":
                k += 1
            delim = text[j:k].replace("'", "").replace('"', "").replace("\\", "")
            if delim:
                pending.append((delim, strip))
                i = k
                word_start = False
                continue
        if command_sub and word_start and _keyword_at(text, i, "case"):
            in_case += 1
            i += 4
            word_start = False
            continue
        if command_sub and word_start and in_case and _keyword_at(text, i, "esac"):
            in_case -= 1
            i += 4
            word_start = False
            continue
        if c == open_ and not in_case:
            depth += 1
        elif c == close and not in_case:
            depth -= 1
            if depth == 0:
                return i + 1
        word_start = c in " \t\n;&|()"
        i += 1
    raise LexError(f"unbalanced {open_!r}")


def _keyword_at(text: str, i: int, word: str) -> bool:
    end = i + len(word)
    return text.startswith(word, i) and (end == len(text) or text[end] in " \t\n;&|)")


def _skip_heredoc_bodies(text: str, i: int, pending: list[tuple[str, bool]]) -> int:
    for delim, strip in pending:
        while i < len(text):
            j = text.find("\n", i)
            line = text[i:] if j < 0 else text[i:j]
            i = len(text) if j < 0 else j + 1
            if (line.lstrip("\t") if strip else line) == delim:
                break
    return i


def _skip_double(text: str, i: int) -> int:
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
        elif c == '"':
            return i + 1
        elif c == "`":
            i = _skip_backtick(text, i + 1)
        elif c == "$" and text.startswith("$(", i):
            i = find_close(text, i + 2)
        elif c == "$" and text.startswith("${", i):
            i = find_close(text, i + 2, "{", "}")
        else:
            i += 1
    raise LexError("unterminated double quote")


def _skip_backtick(text: str, i: int) -> int:
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
        elif c == "`":
            return i + 1
        else:
            i += 1
    raise LexError("unterminated backtick")


def find_subs(text: str) -> list[str]:
    """Command substitutions anywhere in ``text`` (for arithmetic and here-document bodies)."""
    subs: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
        elif text.startswith("$((", i):
            end = find_close(text, i + 2)
            subs.extend(find_subs(text[i + 3 : end - 1]))
            i = end
        elif text.startswith("$(", i):
            end = find_close(text, i + 2)
            subs.append(text[i + 2 : end - 1])
            i = end
        elif c == "`":
            end = _skip_backtick(text, i + 1)
            subs.append(_unescape_backtick(text[i + 1 : end - 1]))
            i = end
        else:
            i += 1
    return subs


def _unescape_backtick(inner: str) -> str:
    if "\\" not in inner:
        return inner
    out = []
    i = 0
    while i < len(inner):
        if inner[i] == "\\" and i + 1 < len(inner) and inner[i + 1] in "\\`$":
            out.append(inner[i + 1])
            i += 2
        else:
            out.append(inner[i])
            i += 1
    return "".join(out)
