"""Simple commands from a token stream, without the grammar.

``extract_tolerant`` accepts anything, skipping reserved words, ``[[ ]]``, ``(( ))``, ``case``
patterns and ``for`` lists.  It is the fallback for a text the grammar (``guardsh.engine.tree``)
rejects, as bash would: every simple command is still found, without the structure.
"""
from __future__ import annotations

from guardsh.engine.lex import RESERVED, Token, assignment_end
from guardsh.engine.model import Redirect, Word


class Extracted:
    """A simple command found in a token stream, before wrappers are looked at."""

    __slots__ = ("words", "assignments", "redirects", "start", "end", "piped", "piped_from")

    def __init__(
        self,
        words: list[Word],
        assignments: list[tuple[str, Word]],
        redirects: list[Redirect],
        start: int,
        end: int,
        piped: bool = False,
    ) -> None:
        self.words, self.assignments, self.redirects = words, assignments, redirects
        self.start, self.end = start, end
        self.piped = piped
        self.piped_from: str | None = None  # program of the command feeding this one by a pipe


class ExtractResult:
    __slots__ = ("commands", "subs", "functions")

    def __init__(self) -> None:
        self.commands: list[Extracted] = []
        self.subs: list[str] = []  # command texts found outside simple commands
        self.functions: list[str] = []  # names of functions defined in the text


def _program_of(words: list[Word]) -> str:
    return words[0].value.rsplit("/", 1)[-1] if words else ""


class _Builder:
    def __init__(self) -> None:
        self.result = ExtractResult()
        self.cur: Extracted | None = None
        self.pipe_next = False
        self.last_program: str | None = None

    def add_word(self, tok: Token) -> None:
        assert tok.word is not None
        if self.cur is None:
            self.cur = Extracted([], [], [], tok.start, tok.end, piped=self.pipe_next)
            if self.pipe_next:
                self.cur.piped_from = self.last_program
        cur = self.cur
        if not cur.words and assignment_end(tok.raw) > 0:
            name = tok.raw.partition("=")[0]
            w = tok.word
            value = w.value.partition("=")[2]
            value_word = Word(value, w.dynamic, w.glob, w.subs, value.startswith("~"))
            cur.assignments.append((name.rstrip("+"), value_word))
        else:
            cur.words.append(tok.word)
        cur.end = tok.end

    def add_redirect(self, tok: Token) -> None:
        if self.cur is None:
            self.cur = Extracted([], [], [], tok.start, tok.end, piped=self.pipe_next)
        assert tok.redirect is not None
        self.cur.redirects.append(tok.redirect)
        self.cur.end = max(self.cur.end, tok.end)

    def finish(self, op: str | None) -> None:
        if self.cur is not None:
            self.result.commands.append(self.cur)
            self.last_program = _program_of(self.cur.words) or None
            self.cur = None
        self.pipe_next = op in ("|", "|&")


def extract_tolerant(tokens: list[Token]) -> ExtractResult:
    """Best-effort simple commands of any text: reserved words and patterns are skipped."""
    b = _Builder()
    i, n = 0, len(tokens)
    case_patterns = 0  # >0 while reading case patterns
    while i < n:
        tok = tokens[i]
        at_start = b.cur is None or (not b.cur.words and not b.cur.assignments)
        if tok.kind == "arith":
            b.result.subs.extend(tok.subs)
            i += 1
            continue
        if tok.kind == "op":
            if tok.raw == ")" and case_patterns:
                case_patterns -= 1
            elif tok.raw in (";;", ";&", ";;&"):
                b.finish(tok.raw)
                if not (i + 1 < n and tokens[i + 1].raw == "esac"):
                    case_patterns += 1
                i += 1
                continue
            b.finish(tok.raw)
            i += 1
            continue
        if case_patterns:
            if tok.word is not None:
                b.result.subs.extend(tok.word.subs)
            if tok.raw == "esac":
                case_patterns -= 1
            i += 1
            continue
        if tok.kind == "word" and at_start and b.cur is None:
            raw = tok.raw
            if raw in ("for", "select"):
                i += 1
                while i < n and not (tokens[i].kind == "op" and tokens[i].raw in (";", "\n")) and tokens[i].raw != "do":
                    if tokens[i].word is not None:
                        b.result.subs.extend(tokens[i].word.subs)  # type: ignore[union-attr]
                    elif tokens[i].kind == "arith":
                        b.result.subs.extend(tokens[i].subs)
                    i += 1
                continue
            if raw == "case":
                i += 1
                while i < n and tokens[i].raw != "in":
                    if tokens[i].word is not None:
                        b.result.subs.extend(tokens[i].word.subs)  # type: ignore[union-attr]
                    i += 1
                i += 1
                case_patterns += 1
                continue
            if raw == "[[":
                i += 1
                while i < n and tokens[i].raw != "]]":
                    t = tokens[i]
                    if t.word is not None:
                        b.result.subs.extend(t.word.subs)
                    elif t.redirect is not None and t.redirect.target is not None:
                        b.result.subs.extend(t.redirect.target.subs)
                    i += 1
                i += 1
                continue
            if raw == "function":
                if i + 1 < n and tokens[i + 1].word is not None:
                    b.result.functions.append(tokens[i + 1].raw)
                i += 2
                if i + 1 < n and tokens[i].raw == "(" and tokens[i + 1].raw == ")":
                    i += 2
                continue
            if raw in RESERVED:
                i += 1
                if raw == "time" and i < n and tokens[i].raw == "-p":
                    i += 1
                continue
            if i + 2 < n and tokens[i + 1].raw == "(" and tokens[i + 2].raw == ")":
                b.result.functions.append(raw)
                i += 3  # name() { ...; }
                continue
        if tok.kind == "word":
            b.add_word(tok)
        elif tok.kind == "redir":
            b.add_redirect(tok)
        i += 1
    b.finish(None)
    return b.result
