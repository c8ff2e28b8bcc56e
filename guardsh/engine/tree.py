"""Bash's grammar over the lexer's tokens: the structure of a script, for the walk that follows
the shell's state through it (``guardsh.engine.walk``).

Lists (``;``, ``&``, newlines), and-or lists (``&&``, ``||``), pipelines (``|``, ``|&``, ``!``,
``time``), simple commands, subshells ``( )``, groups ``{ }``, ``if``, ``while``/``until``,
``for`` (word lists and arithmetic), ``select``, ``case``, ``(( ))``, ``[[ ]]``, ``coproc`` and
function definitions (``f() ...``, ``function f ...``), with the redirections of compound
commands.  Reserved words count only where bash reads them as such (first word of a command).

A text bash would reject raises ``GrammarError``; the caller falls back to the tolerant
extractor, which finds every simple command without the structure.
"""
from __future__ import annotations

from guardsh.engine.lex import Token

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Union

    Node = Union["Simple", "Pipeline", "AndOr", "Sequence", "Subshell", "Group", "If", "Loop", "For",
                 "ArithFor", "Case", "FuncDef", "Arith", "Test", "Coproc"]

MAX_NESTING = 200


class GrammarError(ValueError):
    """The tokens are not a script bash would parse."""


class Simple:
    """A simple command: its word, assignment and redirection tokens, in order."""

    __slots__ = ("tokens", "start", "end")

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.start = tokens[0].start
        self.end = tokens[-1].end


class Pipeline:
    __slots__ = ("parts", "bang", "start", "end")

    def __init__(self, parts: list[Node], bang: bool, start: int, end: int) -> None:
        self.parts, self.bang, self.start, self.end = parts, bang, start, end


class AndOr:
    """``first && second || third``: ``rest`` holds (operator, pipeline) pairs."""

    __slots__ = ("first", "rest", "start", "end")

    def __init__(self, first: Node, rest: list[tuple[str, Node]], start: int, end: int) -> None:
        self.first, self.rest, self.start, self.end = first, rest, start, end


class Sequence:
    """Commands run one after another; ``background[i]`` when item ``i`` ends with ``&``."""

    __slots__ = ("items", "background", "start", "end")

    def __init__(self, items: list[Node], background: list[bool], start: int, end: int) -> None:
        self.items, self.background, self.start, self.end = items, background, start, end


class Subshell:
    __slots__ = ("body", "redirects", "start", "end")

    def __init__(self, body: Sequence, redirects: list[Token], start: int, end: int) -> None:
        self.body, self.redirects, self.start, self.end = body, redirects, start, end


class Group:
    __slots__ = ("body", "redirects", "start", "end")

    def __init__(self, body: Sequence, redirects: list[Token], start: int, end: int) -> None:
        self.body, self.redirects, self.start, self.end = body, redirects, start, end


class If:
    """``if c1; then b1; elif c2; then b2; else b3; fi``: clauses [(c1, b1), (c2, b2)], orelse b3."""

    __slots__ = ("clauses", "orelse", "redirects", "start", "end")

    def __init__(self, clauses: list[tuple[Sequence, Sequence]], orelse: Sequence | None, redirects: list[Token],
                 start: int, end: int) -> None:
        self.clauses, self.orelse, self.redirects, self.start, self.end = clauses, orelse, redirects, start, end


class Loop:
    """``while``/``until`` COND; do BODY; done."""

    __slots__ = ("until", "cond", "body", "redirects", "start", "end")

    def __init__(self, until: bool, cond: Sequence, body: Sequence, redirects: list[Token], start: int,
                 end: int) -> None:
        self.until, self.cond, self.body, self.redirects, self.start, self.end = until, cond, body, redirects, start, end


class For:
    """``for NAME [in WORDS]; do BODY; done`` (and ``select``); ``words`` None means ``"$@"``."""

    __slots__ = ("name", "words", "body", "select", "redirects", "start", "end")

    def __init__(self, name: Token, words: list[Token] | None, body: Sequence, select: bool, redirects: list[Token],
                 start: int, end: int) -> None:
        self.name, self.words, self.body, self.select = name, words, body, select
        self.redirects, self.start, self.end = redirects, start, end


class ArithFor:
    __slots__ = ("arith", "body", "redirects", "start", "end")

    def __init__(self, arith: Token, body: Sequence, redirects: list[Token], start: int, end: int) -> None:
        self.arith, self.body, self.redirects, self.start, self.end = arith, body, redirects, start, end


class Case:
    """``case WORD in PATTERNS) BODY ;; ... esac``: items are (pattern tokens, body, terminator)."""

    __slots__ = ("word", "items", "redirects", "start", "end")

    def __init__(self, word: Token, items: list[tuple[list[Token], Sequence, str]], redirects: list[Token],
                 start: int, end: int) -> None:
        self.word, self.items, self.redirects, self.start, self.end = word, items, redirects, start, end


class FuncDef:
    """A function definition: its name, its body (a compound command) and its source span."""

    __slots__ = ("name", "body", "start", "end")

    def __init__(self, name: str, body: Node, start: int, end: int) -> None:
        self.name, self.body, self.start, self.end = name, body, start, end


class Arith:
    """``(( EXPR ))`` as a command."""

    __slots__ = ("token", "redirects", "start", "end")

    def __init__(self, token: Token, redirects: list[Token], start: int, end: int) -> None:
        self.token, self.redirects, self.start, self.end = token, redirects, start, end


class Test:
    """``[[ EXPR ]]``: its tokens between the brackets."""

    __slots__ = ("tokens", "redirects", "start", "end")

    def __init__(self, tokens: list[Token], redirects: list[Token], start: int, end: int) -> None:
        self.tokens, self.redirects, self.start, self.end = tokens, redirects, start, end


class Coproc:
    __slots__ = ("body", "start", "end")

    def __init__(self, body: Node, start: int, end: int) -> None:
        self.body, self.start, self.end = body, start, end


# --- the parser ------------------------------------------------------------------------------

LIST_ENDS = frozenset({"then", "elif", "else", "fi", "do", "done", "esac", "}"})
SEPARATORS = frozenset({";", "&", "\n"})
CASE_ENDS = frozenset({";;", ";&", ";;&"})
NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
NAME_CHARS = NAME_START | frozenset("0123456789")


def _is_name(text: str) -> bool:
    return bool(text) and text[0] in NAME_START and all(c in NAME_CHARS for c in text)


def _function_name(raw: str) -> bool:
    """A word bash accepts as a function name in ``NAME ()`` (no quotes, no expansions)."""
    return bool(raw) and not any(c in raw for c in "'\"\\$`=") and raw not in LIST_ENDS


class Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.n = len(tokens)
        self.nesting = 0

    # --- token helpers

    def peek(self, k: int = 0) -> Token | None:
        j = self.i + k
        return self.tokens[j] if j < self.n else None

    def at_word(self, *words: str) -> bool:
        if self.i >= self.n:
            return False
        tok = self.tokens[self.i]
        return tok.kind == "word" and tok.raw in words

    def at_op(self, *ops: str) -> bool:
        if self.i >= self.n:
            return False
        tok = self.tokens[self.i]
        return tok.kind == "op" and tok.raw in ops

    def expect_word(self, word: str) -> Token:
        tok = self.peek()
        if tok is None or tok.kind != "word" or tok.raw != word:
            found = "end of text" if tok is None else repr(tok.raw)
            raise GrammarError(f"expected {word!r}, found {found}")
        self.i += 1
        return tok

    def expect_op(self, op: str) -> Token:
        tok = self.peek()
        if tok is None or tok.kind != "op" or tok.raw != op:
            found = "end of text" if tok is None else repr(tok.raw)
            raise GrammarError(f"expected {op!r}, found {found}")
        self.i += 1
        return tok

    def skip_newlines(self) -> None:
        tokens, n = self.tokens, self.n
        while self.i < n and tokens[self.i].kind == "op" and tokens[self.i].raw == "\n":
            self.i += 1

    # --- lists

    def script(self) -> Sequence:
        seq = self.sequence(top=True)
        if self.i < self.n:
            raise GrammarError(f"unexpected {self.tokens[self.i].raw!r}")
        return seq

    def sequence(self, top: bool = False) -> Sequence:
        """A compound list: and-or lists separated by ; & or newlines, up to a closing word."""
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise GrammarError("nested too deeply")
        items: list[Node] = []
        background: list[bool] = []
        start = self.tokens[self.i].start if self.i < self.n else 0
        self.skip_newlines()
        while self.i < self.n:
            tok = self.tokens[self.i]
            if tok.kind == "op" and tok.raw in (")", ";;", ";&", ";;&"):
                break
            if tok.kind == "word" and tok.raw in LIST_ENDS:
                break
            if tok.kind == "op" and tok.raw in SEPARATORS:
                raise GrammarError(f"unexpected {tok.raw!r}")
            items.append(self.and_or())
            background.append(False)
            if self.at_op(";", "&", "\n"):
                background[-1] = self.tokens[self.i].raw == "&"
                self.i += 1
                self.skip_newlines()
            else:
                break
        self.nesting -= 1
        end = self.tokens[self.i - 1].end if self.i else start
        if not items and not top:
            raise GrammarError("empty command list")
        return Sequence(items, background, start, end)

    def and_or(self) -> Node:
        first = self.pipeline()
        rest: list[tuple[str, Node]] = []
        while self.at_op("&&", "||"):
            op = self.tokens[self.i].raw
            self.i += 1
            self.skip_newlines()
            rest.append((op, self.pipeline()))
        if not rest:
            return first
        last = rest[-1][1]
        return AndOr(first, rest, first.start, last.end)

    def pipeline(self) -> Node:
        start_tok = self.peek()
        if start_tok is None:
            raise GrammarError("a command is missing")
        bang = False
        while start_tok.kind == "word" and start_tok.raw in ("time", "!"):  # (else neither is here)
            if self.at_word("time"):
                self.i += 1
                if self.at_word("-p"):
                    self.i += 1
                continue
            if self.at_word("!"):
                bang = not bang
                self.i += 1
                continue
            break
        parts = [self.command()]
        while self.at_op("|", "|&"):
            self.i += 1
            self.skip_newlines()
            parts.append(self.command())
        if len(parts) == 1 and not bang:
            return parts[0]
        return Pipeline(parts, bang, start_tok.start, parts[-1].end)

    # --- commands

    def command(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise GrammarError("a command is missing")
        if tok.kind == "op":
            if tok.raw == "(":
                return self.with_redirects(self.subshell())
            raise GrammarError(f"unexpected {tok.raw!r}")
        if tok.kind == "arith":
            self.i += 1
            return self.with_redirects(Arith(tok, [], tok.start, tok.end))
        if tok.kind == "word":
            raw = tok.raw
            if raw == "{":
                return self.with_redirects(self.group())
            if raw == "if":
                return self.with_redirects(self.if_clause())
            if raw in ("while", "until"):
                return self.with_redirects(self.loop())
            if raw in ("for", "select"):
                return self.with_redirects(self.for_clause())
            if raw == "case":
                return self.with_redirects(self.case_clause())
            if raw == "[[":
                return self.with_redirects(self.test())
            if raw == "function":
                return self.function_keyword()
            if raw == "coproc":
                return self.coproc()
            if raw in LIST_ENDS or raw in ("in", "!"):
                raise GrammarError(f"unexpected {raw!r}")
            j = self.i + 2
            nxt, after = (self.tokens[j - 1], self.tokens[j]) if j < self.n else (None, None)
            if nxt is not None and after is not None and nxt.kind == "op" and nxt.raw == "(" \
                    and after.kind == "op" and after.raw == ")" and _function_name(raw):
                self.i += 3
                self.skip_newlines()
                body = self.function_body()
                return FuncDef(raw, body, tok.start, body.end)
        return self.simple()

    def simple(self) -> Simple:
        toks: list[Token] = []
        while self.i < self.n:
            tok = self.tokens[self.i]
            if tok.kind == "op":
                break
            if tok.kind == "arith":
                if not toks:
                    break
                raise GrammarError("unexpected (( in a command")
            toks.append(tok)
            self.i += 1
        if not toks:
            tok = self.peek()
            raise GrammarError("a command is missing" if tok is None else f"unexpected {tok.raw!r}")
        if self.at_op("("):
            raise GrammarError(f"unexpected '(' after {toks[-1].raw!r}")
        return Simple(toks)

    def with_redirects(self, node: Node) -> Node:
        redirects: list[Token] = []
        while self.i < self.n and self.tokens[self.i].kind == "redir":
            redirects.append(self.tokens[self.i])
            self.i += 1
        if redirects:
            getattr(node, "redirects").extend(redirects)
            node.end = redirects[-1].end  # type: ignore[union-attr]
        return node

    def subshell(self) -> Subshell:
        start = self.expect_op("(")
        body = self.sequence()
        close = self.expect_op(")")
        return Subshell(body, [], start.start, close.end)

    def group(self) -> Group:
        start = self.expect_word("{")
        body = self.sequence()
        close = self.expect_word("}")
        return Group(body, [], start.start, close.end)

    def if_clause(self) -> If:
        start = self.expect_word("if")
        clauses = [(self.sequence(), self._then())]
        orelse: Sequence | None = None
        while True:
            if self.at_word("elif"):
                self.i += 1
                clauses.append((self.sequence(), self._then()))
                continue
            if self.at_word("else"):
                self.i += 1
                orelse = self.sequence()
            break
        close = self.expect_word("fi")
        return If(clauses, orelse, [], start.start, close.end)

    def _then(self) -> Sequence:
        self.expect_word("then")
        return self.sequence()

    def loop(self) -> Loop:
        start = self.tokens[self.i]
        self.i += 1
        cond = self.sequence()
        body = self.do_group()
        return Loop(start.raw == "until", cond, body, [], start.start, self.tokens[self.i - 1].end)

    def do_group(self) -> Sequence:
        if self.at_word("{"):  # bash also takes { ... } as a loop body
            group = self.group()
            return group.body
        self.expect_word("do")
        body = self.sequence()
        self.expect_word("done")
        return body

    def for_clause(self) -> Node:
        start = self.tokens[self.i]
        self.i += 1
        tok = self.peek()
        if tok is not None and tok.kind == "arith" and start.raw == "for":
            self.i += 1
            if self.at_op(";"):
                self.i += 1
            self.skip_newlines()
            body = self.do_group()
            return ArithFor(tok, body, [], start.start, self.tokens[self.i - 1].end)
        if tok is None or tok.kind != "word" or not _is_name(tok.raw):
            raise GrammarError(f"{start.raw}: a variable name is missing")
        self.i += 1
        self.skip_newlines()
        words: list[Token] | None = None
        if self.at_word("in"):
            self.i += 1
            words = []
            while self.i < self.n and self.tokens[self.i].kind == "word":
                words.append(self.tokens[self.i])
                self.i += 1
            if not self.at_op(";", "\n"):
                raise GrammarError(f"{start.raw} {tok.raw} in ...: expected ';' or a newline")
            self.i += 1
        elif self.at_op(";"):
            self.i += 1
        self.skip_newlines()
        body = self.do_group()
        return For(tok, words, body, start.raw == "select", [], start.start, self.tokens[self.i - 1].end)

    def case_clause(self) -> Case:
        start = self.expect_word("case")
        word = self.peek()
        if word is None or word.kind != "word":
            raise GrammarError("case: a word is missing")
        self.i += 1
        self.skip_newlines()
        self.expect_word("in")
        self.skip_newlines()
        items: list[tuple[list[Token], Sequence, str]] = []
        while not self.at_word("esac"):
            if self.at_op("("):
                self.i += 1
            patterns: list[Token] = []
            while True:
                tok = self.peek()
                if tok is None or tok.kind != "word":
                    raise GrammarError("case: a pattern is missing")
                patterns.append(tok)
                self.i += 1
                if self.at_op("|"):
                    self.i += 1
                    continue
                break
            self.expect_op(")")
            self.skip_newlines()
            if self.at_op(*CASE_ENDS) or self.at_word("esac"):
                body = Sequence([], [], self.tokens[self.i - 1].end, self.tokens[self.i - 1].end)
            else:
                body = self.sequence()
            terminator = ""
            if self.at_op(*CASE_ENDS):
                terminator = self.tokens[self.i].raw
                self.i += 1
                self.skip_newlines()
            items.append((patterns, body, terminator))
            if not terminator:
                break
        close = self.expect_word("esac")
        return Case(word, items, [], start.start, close.end)

    def test(self) -> Test:
        start = self.expect_word("[[")
        inner: list[Token] = []
        while True:
            tok = self.peek()
            if tok is None:
                raise GrammarError("[[: no closing ]]")
            self.i += 1
            if tok.kind == "word" and tok.raw == "]]":
                return Test(inner, [], start.start, tok.end)
            inner.append(tok)

    def function_keyword(self) -> FuncDef:
        start = self.expect_word("function")
        name = self.peek()
        if name is None or name.kind != "word" or not _function_name(name.raw):
            raise GrammarError("function: a name is missing")
        self.i += 1
        if self.at_op("("):
            self.i += 1
            self.expect_op(")")
        self.skip_newlines()
        body = self.function_body()
        return FuncDef(name.raw, body, start.start, body.end)

    def function_body(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise GrammarError("a function body is missing")
        if tok.kind == "op" and tok.raw == "(":
            return self.with_redirects(self.subshell())
        if tok.kind == "word" and tok.raw in ("{", "if", "while", "until", "for", "select", "case", "[["):
            return self.command()
        if tok.kind == "arith":
            return self.command()
        raise GrammarError(f"a function body must be a compound command, not {tok.raw!r}")

    def coproc(self) -> Coproc:
        start = self.expect_word("coproc")
        tok = self.peek()
        nxt = self.peek(1)
        if tok is not None and tok.kind == "word" and _is_name(tok.raw) and nxt is not None and (
                (nxt.kind == "word" and nxt.raw in ("{", "if", "while", "until", "for", "case", "[["))
                or (nxt.kind == "op" and nxt.raw == "(")):
            self.i += 1  # coproc NAME compound-command
        body = self.command()
        return Coproc(body, start.start, body.end)


def parse_tokens(tokens: list[Token]) -> Sequence:
    """The script's structure; raises GrammarError where bash would report a syntax error."""
    return Parser(tokens).script()


def simple_commands(node: Node) -> list[Simple]:
    """Every simple command anywhere in ``node``, in source order (function bodies included)."""
    return [n for n in nodes(node) if isinstance(n, Simple)]


def function_names(node: Node) -> list[str]:
    """The functions a script defines anywhere (whether or not that code runs)."""
    return [n.name for n in nodes(node) if isinstance(n, FuncDef)]


def nodes(node: Node) -> list[Node]:
    """``node`` and every node inside it, in source order."""
    out: list[Node] = []
    _collect(node, out)
    return out


def _collect(node: Node, out: list[Node]) -> None:
    out.append(node)
    if isinstance(node, Sequence):
        for item in node.items:
            _collect(item, out)
    elif isinstance(node, Pipeline):
        for part in node.parts:
            _collect(part, out)
    elif isinstance(node, AndOr):
        _collect(node.first, out)
        for _op, part in node.rest:
            _collect(part, out)
    elif isinstance(node, (Subshell, Group)):
        _collect(node.body, out)
    elif isinstance(node, If):
        for cond, body in node.clauses:
            _collect(cond, out)
            _collect(body, out)
        if node.orelse is not None:
            _collect(node.orelse, out)
    elif isinstance(node, Loop):
        _collect(node.cond, out)
        _collect(node.body, out)
    elif isinstance(node, (For, ArithFor)):
        _collect(node.body, out)
    elif isinstance(node, Case):
        for _pats, body, _term in node.items:
            _collect(body, out)
    elif isinstance(node, (FuncDef, Coproc)):
        _collect(node.body, out)
