"""Parse shell text into simple commands.

Three ways, tried in order:

1. the lexer's exact fast path for lists and pipelines of simple commands (most agent commands);
2. bashlex, for everything with structure (if, for, while, functions, subshells, groups);
3. the lexer's tolerant extractor, for what bashlex rejects (``[[ ]]``, ``case``, ``(( ))``,
   arrays, ``select``, ``coproc``...): the parse is then reported as ``fallback``.

Command substitutions, process substitutions and unquoted here-document bodies are parsed
recursively; their commands are part of the result.  A text that cannot be tokenised at all
is ``opaque``: the caller must ask.
"""
from __future__ import annotations

import os
import sys
from types import SimpleNamespace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

from guardsh import paths
from guardsh.engine import caches
from guardsh.engine.extract import Extracted, ExtractResult, extract_simple, extract_tolerant
from guardsh.engine.lex import Token, tokenize
from guardsh.engine.model import Command
from guardsh.engine.scan import LexError, find_subs

MAX_DEPTH = 12
MAX_TEXT = 512 * 1024
MODES = ("full", "fallback", "opaque")


class Parsed:
    """Simple commands of a text; ``mode`` is 'full', 'fallback' or 'opaque'."""

    __slots__ = ("commands", "mode", "problems", "functions")

    def __init__(self) -> None:
        self.commands: list[Command] = []
        self.functions: set[str] = set()  # functions the text defines
        self.mode = "full"
        self.problems: list[str] = []

    def worsen(self, mode: str) -> None:
        if MODES.index(mode) > MODES.index(self.mode):
            self.mode = mode

    def absorb(self, other: Parsed) -> None:
        self.commands.extend(other.commands)
        self.problems.extend(other.problems)
        self.functions |= other.functions
        self.worsen(other.mode)


def parse_script(
    text: str,
    params: dict[str, str] | None = None,
    via: tuple[str, ...] = (),
    depth: int = 0,
) -> Parsed:
    """Every simple command in ``text``, however nested in substitutions."""
    result = Parsed()
    if depth > MAX_DEPTH:
        result.mode = "opaque"
        result.problems.append("nesting too deep to analyse")
        return result
    if len(text) > MAX_TEXT:
        result.mode = "opaque"
        result.problems.append(f"command text too large to analyse ({len(text)} bytes)")
        return result
    try:
        tokens = tokenize(text, params)
    except LexError as e:
        result.mode = "opaque"
        result.problems.append(f"cannot parse: {e}")
        return result
    extracted = extract_simple(tokens)
    if extracted is None:
        extracted = None if _bashlex_rejects(tokens) else _extract_bashlex(text, tokens)
        if extracted is None:
            extracted = extract_tolerant(tokens)
            result.mode = "fallback"
    result.functions.update(extracted.functions)
    for ex in extracted.commands:
        command = _to_command(text, ex, via)
        result.commands.append(command)
        for sub in _subs_of(command):
            result.absorb(parse_script(sub, params, via + ("$( )",), depth + 1))
    for sub in extracted.subs:
        result.absorb(parse_script(sub, params, via + ("$( )",), depth + 1))
    return result


def _subs_of(command: Command) -> list[str]:
    subs: list[str] = []
    for w in command.words:
        subs.extend(w.subs)
    for _name, w in command.assignments:
        subs.extend(w.subs)
    for r in command.redirects:
        if r.target is not None:
            subs.extend(r.target.subs)
        if r.heredoc is not None and not r.heredoc_quoted and r.op != "<<<":
            try:
                subs.extend(find_subs(r.heredoc))
            except LexError:
                subs.append(r.heredoc)  # unbalanced: let the recursive parse report it opaque
    return subs


def _to_command(text: str, ex: Extracted, via: tuple[str, ...]) -> Command:
    return Command(
        words=tuple(ex.words),
        assignments=tuple(ex.assignments),
        redirects=tuple(ex.redirects),
        text=text[ex.start : ex.end].strip(),
        via=via,
        stdin="pipe" if ex.piped else None,
        stdin_from=ex.piped_from,
    )


BASHLEX_REJECTS = frozenset({"[[", "case", "time", "select", "coproc"})


def _bashlex_rejects(tokens: list[Token]) -> bool:
    """Constructs bashlex cannot parse: go straight to the fallback instead of loading it."""
    for tok in tokens:
        if tok.kind == "arith":
            return True
        if tok.kind == "word" and (tok.raw in BASHLEX_REJECTS or "$((" in tok.raw or "=(" in tok.raw):
            return True
    return False


# --- bashlex ---------------------------------------------------------------------------

_BASHLEX: Any = None


def _extract_bashlex(text: str, tokens: list[Token]) -> ExtractResult | None:
    """Simple commands located by bashlex's grammar; None when bashlex rejects the text."""
    bashlex = load_bashlex()
    try:
        trees = bashlex.parse(text)
    except Exception:  # bashlex raises assorted errors (ParsingError, NotImplementedError...)
        return None
    spans: list[tuple[int, int, int | None]] = []  # start, end, index of the feeding command
    functions: list[str] = []
    for tree in trees:
        _visit(tree, spans, None, functions)
    spans.sort()
    result = ExtractResult()
    result.functions.extend(functions)
    used: set[int] = set()
    by_span: list[Extracted] = []
    for start, end, _feeder in spans:
        words: list[Token] = []
        for k, tok in enumerate(tokens):
            if start <= tok.start < end and k not in used:
                used.add(k)
                words.append(tok)
        simple = extract_simple(words)
        if simple is None or len(simple.commands) != 1:
            return None  # the lexer and bashlex disagree: let the fallback report it
        by_span.append(simple.commands[0])
    for k, (start, end, feeder) in enumerate(spans):
        ex = by_span[k]
        if feeder is not None:
            ex.piped = True
            src = by_span[feeder] if 0 <= feeder < len(by_span) else None
            ex.piped_from = (src.words[0].value.rsplit("/", 1)[-1] if src and src.words else None)
        result.commands.append(ex)
    # Tokens outside every simple command: redirections of compound commands become
    # commands of their own; words (for lists, function names) may hold substitutions.
    loose = [t for k, t in enumerate(tokens) if k not in used]
    for tok in loose:
        if tok.kind == "redir" and tok.redirect is not None:
            result.commands.append(Extracted([], [], [tok.redirect], tok.start, tok.end))
        elif tok.word is not None:
            result.subs.extend(tok.word.subs)
        elif tok.kind == "arith":
            result.subs.extend(tok.subs)
    return result


def _visit(node: Any, spans: list[tuple[int, int, int | None]], feeder: int | None, functions: list[str]) -> None:
    kind = node.kind
    if kind == "function":
        functions.append(node.name.word)
    if kind == "command":
        spans.append((node.pos[0], node.pos[1], feeder))
        return
    if kind == "pipeline":
        previous: int | None = None
        for part in node.parts:
            if part.kind == "pipe":
                continue
            before = len(spans)
            _visit(part, spans, previous, functions)
            if len(spans) > before:
                previous = len(spans) - 1
        return
    if kind in ("word", "reservedword", "operator", "pipe", "redirect", "parameter", "tilde", "heredoc"):
        return
    children = getattr(node, "parts", None) or getattr(node, "list", None) or []
    for child in children:
        _visit(child, spans, feeder, functions)


def load_bashlex() -> Any:
    """Import bashlex with its LALR tables read from a cache instead of rebuilt (~150 ms).

    ``import bashlex`` builds the tables in ``bashlex/parser.py`` at import time.  We load
    the package without running its ``__init__``, wrap ``bashlex.yacc.yacc`` so that it
    returns a parser made from cached tables, then run the package's ``__init__``.
    """
    global _BASHLEX
    if _BASHLEX is not None:
        return _BASHLEX
    if "bashlex" in sys.modules:  # already imported the slow way (tests, tools)
        _BASHLEX = sys.modules["bashlex"]
        return _BASHLEX
    from importlib import _bootstrap  # type: ignore[attr-defined]  # module_from_spec without importlib.util
    from importlib.machinery import PathFinder

    spec = PathFinder.find_spec("bashlex")
    if spec is None or spec.loader is None or not spec.submodule_search_locations:
        raise ImportError("bashlex is not installed: run ./install.sh")
    package = _bootstrap.module_from_spec(spec)
    sys.modules["bashlex"] = package
    real_inspect = sys.modules.get("inspect")
    if real_inspect is None:
        # bashlex.yacc imports inspect (~10 ms) only to build tables, which the cache skips.
        sys.modules["inspect"] = _LazyModule("inspect")  # type: ignore[assignment]
    try:
        yacc_module = _import("bashlex.yacc")
        original = yacc_module.yacc
        cache = _table_cache_path(list(spec.submodule_search_locations)[0])

        def cached_yacc(*args: Any, **kwargs: Any) -> Any:
            module = sys.modules["bashlex.parser"]
            tables = _read_tables(cache)
            if tables is None:
                parser = original(module=module, debug=False, write_tables=False)
                _write_tables(cache, parser)
                return parser
            action, goto, productions = tables
            prods = [
                SimpleNamespace(
                    name=name, len=length, func=func, str=name,
                    callable=getattr(module, func) if func else None,
                )
                for name, length, func in productions
            ]
            lrtab = SimpleNamespace(lr_productions=prods, lr_action=action, lr_goto=goto)
            return yacc_module.LRParser(lrtab, getattr(module, "p_error"))

        yacc_module.yacc = cached_yacc
        try:
            spec.loader.exec_module(package)
        finally:
            yacc_module.yacc = original
    except BaseException:
        for name in [m for m in sys.modules if m == "bashlex" or m.startswith("bashlex.")]:
            del sys.modules[name]
        raise
    finally:
        if real_inspect is None and isinstance(sys.modules.get("inspect"), _LazyModule):
            del sys.modules["inspect"]
    _BASHLEX = package
    return package


class _LazyModule:
    """Stands in for a module during an import; the real one is imported on first use."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):  # the import system probes __spec__ & co.: not a use
            raise AttributeError(attr)
        if isinstance(sys.modules.get(self._name), _LazyModule):
            del sys.modules[self._name]
        return getattr(_import(self._name), attr)


def _import(name: str) -> Any:
    __import__(name)
    return sys.modules[name]


def _table_cache_path(package_dir: str) -> str | None:
    try:
        st = os.stat(os.path.join(package_dir, "parser.py"))
    except OSError:
        return None
    tag = f"{sys.version_info[0]}{sys.version_info[1]}-{st.st_size}-{int(st.st_mtime)}"
    return paths.parser_tables_cache(tag)


def _read_tables(path: str | None) -> tuple[Any, Any, Any] | None:
    if path is None:
        return None
    import marshal

    try:
        with open(path, "rb") as f:
            data = marshal.load(f)
        action, goto, productions = data
        if not (isinstance(action, dict) and isinstance(goto, dict) and isinstance(productions, list)):
            return None
        return action, goto, productions
    except (OSError, EOFError, ValueError, TypeError):
        return None


def _write_tables(path: str | None, parser: Any) -> None:
    if path is None:
        return
    import marshal

    intern = sys.intern  # interned strings are written once and referenced: a 6x faster load
    data = (
        {k: {intern(t): a for t, a in v.items()} for k, v in parser.action.items()},
        {k: {intern(t): a for t, a in v.items()} for k, v in parser.goto.items()},
        [(intern(p.name), p.len, p.func and intern(p.func)) for p in parser.productions],
    )
    caches.offer(path, marshal.dumps(data))
