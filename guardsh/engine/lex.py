"""Tokenise bash text into words, operators and redirections.

The tokenizer follows bash's quoting rules exactly (backslash, single and double quotes,
``$'...'``, ``$( )``, backticks, ``${ }``, ``$(( ))``, ``<( )``, here-documents) and keeps
expansions as their source text.  ``guardsh.engine.extract`` turns the tokens into simple commands.
"""
from __future__ import annotations

from guardsh.engine.model import Redirect, Word
from guardsh.engine.scan import LexError, _skip_backtick, _unescape_backtick, find_close, find_subs

METACHARS = frozenset(" \t\n;&|<>()")
OPERATORS = ("&&", "||", ";;&", ";;", ";&", "|&", "&", ";", "|", "(", ")")
REDIRECT_OPS = ("&>>", "&>", "<<<", "<<-", "<<", ">>", ">&", "<&", "<>", ">|", ">", "<")
RESERVED = frozenset(
    "if then else elif fi for while until do done case esac in function select time "
    "coproc { } ! [[ ]]".split()
)
COMMAND_START_OPS = frozenset({";", "&", "&&", "||", "|", "|&", "\n", "(", ";;", ";&", ";;&"})
NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
NAME_CHARS = NAME_START | frozenset("0123456789")
SPECIAL_PARAMS = frozenset("0123456789@*#?$!-")
HEX = frozenset("0123456789abcdefABCDEF")
OCT = frozenset("01234567")
# what a word reader must look at: the metacharacters, quoting, expansions, patterns; any other
# character stands for itself
WORD_SPECIAL = METACHARS | frozenset("\\'\"$`*?[{")
# ``text.translate(MARK_SPECIAL)`` turns every character a word reader must look at (and NUL)
# into NUL: the end of a run of ordinary characters is then one ``find``, not a loop
MARK_SPECIAL = {ord(c): 0 for c in WORD_SPECIAL | {"\0"}}
# the operators that start with a character, in the order above (the first that fits wins)
REDIRECTS_BY_FIRST = {c: tuple(o for o in REDIRECT_OPS if o[0] == c) for c in "<>&"}
OPERATORS_BY_FIRST = {c: tuple(o for o in OPERATORS if o[0] == c) for c in ";&|()"}
# what can start a token other than a word (with the digits of ``2>``)
TOKEN_SPECIAL = frozenset("\\\n#<>(;&|)")


# ``re`` costs several ms to import and guardsh runs before every command: the few patterns
# the lexer needs are written out by hand.

def assignment_end(text: str, i: int = 0) -> int:
    """Index just past ``NAME=``, ``NAME+=`` or ``NAME[sub]=`` at ``text[i]``, else -1."""
    n = len(text)
    if i >= n or text[i] not in NAME_START:
        return -1
    j = i + 1
    while j < n and text[j] in NAME_CHARS:
        j += 1
    if j < n and text[j] == "[":
        k = text.find("]", j + 1)
        if k < 0:
            return -1
        j = k + 1
    if j < n and text[j] == "+":
        j += 1
    return j + 1 if j < n and text[j] == "=" else -1


def is_assignment(text: str) -> bool:
    return assignment_end(text) > 0


def name_end(text: str, i: int) -> int:
    """Index past a parameter name at ``text[i]`` (``$name``, ``$1``, ``$@``...), else -1."""
    if i >= len(text):
        return -1
    c = text[i]
    if c in NAME_START:
        j = i + 1
        while j < len(text) and text[j] in NAME_CHARS:
            j += 1
        return j
    if c in SPECIAL_PARAMS:
        return i + 1
    return -1


def _closes_bracket(text: str, i: int) -> bool:
    """``[`` starts a pattern only when a ``]`` closes it within the same word."""
    j = i + 2  # "[]...]" : a ] right after [ is part of the set
    while j < len(text) and text[j] not in METACHARS:
        if text[j] == "]":
            return True
        j += 1
    return False


def _plain_value(value: str) -> bool:
    """A value that unquoted expansion leaves as one literal word (no splitting, no globbing)."""
    return not any(c in value for c in " \t\n*?[")


def _run_of(text: str, i: int, chars: frozenset[str], limit: int) -> int:
    j = i
    while j < len(text) and j - i < limit and text[j] in chars:
        j += 1
    return j


def _is_brace_expansion(text: str, i: int) -> bool:
    """``{a,b}`` or ``{1..3}`` at ``text[i]`` (no blanks or nested braces inside)."""
    j = i + 1
    while j < len(text) and text[j] not in "{} \t\n":
        j += 1
    if j >= len(text) or text[j] != "}":
        return False
    inner = text[i + 1 : j]
    return "," in inner or ".." in inner
ANSI_ESCAPES = {
    "a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r",
    "t": "\t", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?",
}


class Token:
    """kind is 'word', 'op', 'redir' or 'arith' (``(( ))``, whose ``subs`` are kept)."""

    __slots__ = ("kind", "raw", "start", "end", "word", "redirect", "subs")

    def __init__(
        self,
        kind: str,
        raw: str,
        start: int,
        end: int,
        word: Word | None = None,
        redirect: Redirect | None = None,
        subs: tuple[str, ...] = (),
    ) -> None:
        self.kind, self.raw, self.start, self.end = kind, raw, start, end
        self.word, self.redirect, self.subs = word, redirect, subs


def _ansi_c(text: str, i: int) -> tuple[str, int]:
    """Decode ``$'...'`` starting after the opening quote; returns (value, index past quote)."""
    out: list[str] = []
    n = len(text)
    while i < n:
        c = text[i]
        if c == "'":
            return "".join(out), i + 1
        if c == "\\" and i + 1 < n:
            e = text[i + 1]
            if e in ANSI_ESCAPES:
                out.append(ANSI_ESCAPES[e])
                i += 2
            elif e in "xuU":
                end = _run_of(text, i + 2, HEX, {"x": 2, "u": 4, "U": 8}[e])
                if end > i + 2:
                    out.append(chr(min(int(text[i + 2 : end], 16), 0x10FFFF)))
                else:
                    out.append("\\" + e)
                i = max(end, i + 2)
            elif e in OCT:
                end = _run_of(text, i + 1, OCT, 3)
                out.append(chr(int(text[i + 1 : end], 8) & 0xFF))
                i = end
            elif e == "c" and i + 2 < n:
                out.append(chr(ord(text[i + 2]) & 0x1F))
                i += 3
            else:
                out.append("\\" + e)
                i += 2
            continue
        out.append(c)
        i += 1
    raise LexError("unterminated $'...' quote")


class _WordReader:
    """Reads one word starting at ``i``; see ``read_word``."""

    def __init__(self, text: str, params: dict[str, str] | None, marks: str | None = None) -> None:
        self.text = text
        self.params = params
        self.marks = marks  # text.translate(MARK_SPECIAL), or None
        self.out: list[str] = []
        self.dynamic = False
        self.glob = False
        self.subs: list[str] = []

    def dollar(self, i: int, quoted: bool) -> int:
        text = self.text
        nxt = text[i + 1 : i + 2]
        if text.startswith("$((", i):
            try:
                end = find_close(text, i + 2)
            except LexError:
                end = -1
            if end > 0 and text[end - 2 : end] == "))":
                self.subs.extend(find_subs(text[i + 3 : end - 2]))
                self.out.append(text[i:end])
                self.dynamic = True
                return end
        if nxt == "(":
            end = find_close(text, i + 2)
            self.subs.append(text[i + 2 : end - 1])
            self.out.append(text[i:end])
            self.dynamic = True
            return end
        if nxt == "{":
            end = find_close(text, i + 2, "{", "}")
            inner = text[i + 2 : end - 1]
            if self.params is not None and inner in self.params and (quoted or _plain_value(self.params[inner])):
                self.out.append(self.params[inner])
            else:
                self.subs.extend(find_subs(inner))
                self.out.append(text[i:end])
                self.dynamic = True
            return end
        if nxt == "'" and not quoted:
            value, end = _ansi_c(text, i + 2)
            self.out.append(value)
            return end
        if nxt == '"' and not quoted:
            return self.double(i + 2)
        end = name_end(text, i + 1)
        if end > 0:
            name = text[i + 1 : end]
            if self.params is not None and name in self.params and (quoted or _plain_value(self.params[name])):
                self.out.append(self.params[name])
            else:
                self.out.append("$" + name)
                self.dynamic = True
            return end
        self.out.append("$")
        return i + 1

    def backtick(self, i: int) -> int:
        end = _skip_backtick(self.text, i + 1)
        self.subs.append(_unescape_backtick(self.text[i + 1 : end - 1]))
        self.out.append(self.text[i:end])
        self.dynamic = True
        return end

    def double(self, i: int) -> int:
        text = self.text
        n = len(text)
        while i < n:
            c = text[i]
            if c == '"':
                return i + 1
            if c == "\\" and i + 1 < n:
                e = text[i + 1]
                if e in '$`"\\':
                    self.out.append(e)
                elif e != "\n":
                    self.out.append("\\" + e)
                i += 2
            elif c == "$":
                i = self.dollar(i, quoted=True)
            elif c == "`":
                i = self.backtick(i)
            else:
                self.out.append(c)
                i += 1
        raise LexError("unterminated double quote")

    def read(self, i: int) -> int:
        text = self.text
        n = len(text)
        start = i
        while i < n:
            c = text[i]
            if c in METACHARS:
                if c == "(" and i > start:
                    so_far = text[start:i]
                    if assignment_end(so_far) == len(so_far) or so_far[-1] in "@!+*?":
                        end = find_close(text, i + 1)
                        inner = text[i + 1 : end - 1]
                        self.subs.extend(find_subs(inner))
                        self.out.append(text[i:end])
                        self.glob = self.glob or so_far[-1] in "@!+*?"
                        self.dynamic = self.dynamic or "$" in inner
                        i = end
                        continue
                break
            if c == "\\":
                if i + 1 < n:
                    if text[i + 1] != "\n":
                        self.out.append(text[i + 1])
                    i += 2
                else:
                    self.out.append("\\")  # a backslash at the very end stays literal
                    i += 1
            elif c == "'":
                j = text.find("'", i + 1)
                if j < 0:
                    raise LexError("unterminated single quote")
                self.out.append(text[i + 1 : j])
                i = j + 1
            elif c == '"':
                i = self.double(i + 1)
            elif c == "$":
                i = self.dollar(i, quoted=False)
            elif c == "`":
                i = self.backtick(i)
            elif c in "*?[{":
                if c in "*?" or (c == "[" and _closes_bracket(text, i)):
                    self.glob = True
                elif c == "{" and _is_brace_expansion(text, i):
                    self.glob = True
                self.out.append(c)
                i += 1
            else:  # a run of ordinary characters, taken whole
                if self.marks is not None:
                    j = self.marks.find("\0", i + 1)
                    if j < 0:
                        j = n
                else:
                    j = i + 1
                    while j < n and text[j] not in WORD_SPECIAL:
                        j += 1
                self.out.append(text[i:j])
                i = j
        return i


def read_word(text: str, i: int = 0, params: dict[str, str] | None = None,
              marks: str | None = None) -> tuple[Word, int]:
    """Read one shell word at ``text[i]``; return it and the index just past it.  ``marks``:
    ``text.translate(MARK_SPECIAL)``, when the caller has it (a tokenizer reads many words)."""
    n = len(text)
    if marks is not None:
        j = marks.find("\0", i)
        if j < 0:
            j = n
    else:
        j = i
        while j < n and text[j] not in WORD_SPECIAL:
            j += 1
    if j > i and (j == n or (text[j] in METACHARS and text[j] != "(")):
        # only ordinary characters up to a blank or an operator (most words): no quoting, no
        # expansion, no pattern; what the reader below would make of it, without the reader
        return Word(text[i:j], False, False, (), text[i] == "~"), j
    reader = _WordReader(text, params, marks)
    end = reader.read(i)
    word = Word(
        value="".join(reader.out),
        dynamic=reader.dynamic,
        glob=reader.glob,
        subs=tuple(reader.subs),
        tilde=text.startswith("~", i),
    )
    return word, end


def _expand_all_params(raw: str, params: dict[str, str] | None) -> list[str] | None:
    """``"$@"`` / ``$@`` as a whole word expands to one word per positional parameter."""
    if params is None or raw not in ('"$@"', "$@", '"${@}"', "${@}", "$*"):
        return None
    count = int(params.get("#", "0"))
    values = [params[str(k)] for k in range(1, count + 1)]
    if raw.startswith('"'):
        return values  # "$@": one word per parameter
    return [part for v in values for part in v.split()]  # unquoted: each is split again


def _split_param(raw: str, params: dict[str, str] | None) -> list[str] | None:
    """An unquoted ``$1`` / ``${1}`` standing alone is split on blanks, as bash splits it."""
    if params is None or not raw.startswith("$"):
        return None
    name = raw[2:-1] if raw.startswith("${") and raw.endswith("}") else raw[1:]
    value = params.get(name)
    if value is None or name_end(raw, 1 if raw[1] != "{" else 2) != len(raw) - (raw[1] == "{"):
        return None
    if _plain_value(value):
        return None
    return value.split()


def tokenize(text: str, params: dict[str, str] | None = None) -> list[Token]:
    """Split ``text`` into tokens. Raises LexError on unterminated quoting."""
    tokens: list[Token] = []
    pending: list[tuple[int, str, bool, bool]] = []  # token index, delimiter, strip tabs, quoted
    i, n = 0, len(text)
    marks = text.translate(MARK_SPECIAL)
    while i < n:
        c = text[i]
        if c in " \t":
            i += 1
            continue
        if c in TOKEN_SPECIAL or c.isdigit():  # anything else starts a word
            if c == "\\" and text.startswith("\n", i + 1):
                i += 2
                continue
            if c == "\n":
                tokens.append(Token("op", "\n", i, i + 1))
                i += 1
                if pending:
                    i = _read_heredocs(text, i, tokens, pending)
                    pending = []
                continue
            if c == "#":
                j = text.find("\n", i)
                i = n if j < 0 else j
                continue
            if c in "<>" and text.startswith("(", i + 1):
                end = find_close(text, i + 2)
                word = Word(text[i:end], dynamic=True, subs=(text[i + 2 : end - 1],))
                tokens.append(Token("word", text[i:end], i, end, word=word))
                i = end
                continue
            if c == "(" and text.startswith("((", i) and _at_command_start(tokens):
                try:
                    end = find_close(text, i + 2)
                except LexError:
                    end = -1
                if end > 0 and text.startswith(")", end):
                    inner = text[i + 2 : end - 1]
                    tokens.append(Token("arith", text[i : end + 1], i, end + 1, subs=tuple(find_subs(inner))))
                    i = end + 1
                    continue
            fd: int | None = None
            j = i
            if c.isdigit():
                while j < n and text[j].isdigit():
                    j += 1
                if j < n and text[j] in "<>":
                    fd = int(text[i:j])
                else:
                    j = i
            if text[j] in "<>&":
                op = next((o for o in REDIRECTS_BY_FIRST[text[j]] if text.startswith(o, j)), None)
                if op is not None and not (op in ("<", ">") and text.startswith("(", j + 1)):
                    i = _read_redirect(text, i, j, op, fd, tokens, pending, params)
                    continue
            if c in ";&|()":
                op = next((o for o in OPERATORS_BY_FIRST[c] if text.startswith(o, i)), None)
                if op is not None:
                    tokens.append(Token("op", op, i, i + len(op)))
                    i += len(op)
                    continue
        end = marks.find("\0", i)
        if end < 0:
            end = n
        if end > i and (end == n or (text[end] in METACHARS and text[end] != "(")):
            # ordinary characters only (read_word's first case, inline: most words are so); no
            # positional parameter either, which needs a "$"
            raw = text[i:end]
            tokens.append(Token("word", raw, i, end, Word(raw, False, False, (), c == "~")))
            i = end
            continue
        word, end = read_word(text, i, params, marks)
        raw = text[i:end]
        expanded = None
        if params is not None:
            expanded = _expand_all_params(raw, params)
            if expanded is None:
                expanded = _split_param(raw, params)
        if expanded is not None:
            for value in expanded:
                tokens.append(Token("word", raw, i, end, Word(value)))
        else:
            tokens.append(Token("word", raw, i, end, word))
        i = end
    if pending:
        # A here-document with no newline after its operator: bash reads an empty body.
        for index, _delim, _strip, quoted in pending:
            tok = tokens[index]
            assert tok.redirect is not None
            tok.redirect = Redirect(tok.redirect.op, tok.redirect.fd, None, "", quoted)
    return tokens


def _at_command_start(tokens: list[Token]) -> bool:
    if not tokens:
        return True
    last = tokens[-1]
    if last.kind == "op":
        return last.raw in COMMAND_START_OPS
    return last.kind == "word" and last.raw in ("then", "do", "else", "if", "while", "until", "elif", "{", "!", "for")


def _read_redirect(
    text: str,
    start: int,
    j: int,
    op: str,
    fd: int | None,
    tokens: list[Token],
    pending: list[tuple[int, str, bool, bool]],
    params: dict[str, str] | None,
) -> int:
    n = len(text)
    k = j + len(op)
    while k < n and text[k] in " \t":
        k += 1
    if k >= n or text[k] in "\n;&|()" or (text[k] in "<>" and not text.startswith("(", k + 1)):
        raise LexError(f"redirection {op!r} has no target")
    if op in ("<<", "<<-"):
        word, end = read_word(text, k, params)
        raw = text[k:end]
        quoted = any(q in raw for q in "'\"\\")
        tokens.append(Token("redir", text[start:end], start, end, redirect=Redirect(op, fd, None, None, quoted)))
        pending.append((len(tokens) - 1, word.value, op == "<<-", quoted))
        return end
    if text[k] in "<>" and text.startswith("(", k + 1):
        end = find_close(text, k + 2)
        word = Word(text[k:end], dynamic=True, subs=(text[k + 2 : end - 1],))
    else:
        word, end = read_word(text, k, params)
    if op == "<<<":
        redirect = Redirect(op, fd, word, word.value, False)
    elif op in (">&", "<&") and (word.value == "-" or word.value.rstrip("-").isdigit() and word.value.count("-") <= 1
                                 and not word.value.startswith("-")):
        redirect = Redirect(op, fd, None)
    else:
        redirect = Redirect(op, fd, word)
    tokens.append(Token("redir", text[start:end], start, end, redirect=redirect))
    return end


def _read_heredocs(text: str, i: int, tokens: list[Token], pending: list[tuple[int, str, bool, bool]]) -> int:
    for index, delim, strip, quoted in pending:
        lines: list[str] = []
        while i < len(text):
            j = text.find("\n", i)
            line = text[i:] if j < 0 else text[i:j]
            i = len(text) if j < 0 else j + 1
            check = line.lstrip("\t") if strip else line
            if check == delim:
                break
            lines.append(check)
        tok = tokens[index]
        assert tok.redirect is not None
        body = "\n".join(lines) + ("\n" if lines else "")
        tok.redirect = Redirect(tok.redirect.op, tok.redirect.fd, None, body, quoted)
        tok.end = i
    return i


