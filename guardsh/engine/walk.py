"""The walk: a script's structure (``guardsh.engine.tree``), with the shell's state
(``guardsh.engine.state``) evolved through it the way bash would evolve it.

Every simple command that may run is expanded with the values known at that point (variables,
positional parameters, the cwd, brace and tilde expansion) and handed to the wrapper dispatch
(``guardsh.engine.unwrap``), which classifies what it runs.  Subshells, pipeline parts, ``$( )``
and background jobs get a copy of the state (their changes do not leak out); ``&&``, ``||``,
``if``, ``case`` and loops follow both ways where the condition is not known and merge what they
agree on; code behind a constant condition (``false && ...``, ``if false``) runs nothing.
Functions are classified where they are called, with their arguments; one that is never
called runs nothing.  What the command creates and writes is tracked (``State.fs``) so that a
later delete of its own file, or a script it wrote and then runs, is seen for what it is.
"""
from __future__ import annotations

import os

from guardsh.engine import tree as T
from guardsh.engine.expansion import MAX_DEPTH, Expansion, Reader, expand_one
from guardsh.engine.extract import extract_tolerant
from guardsh.engine.globs import gmatch
from guardsh.engine.lex import Token, assignment_end, tokenize
from guardsh.engine.model import Command, Redirect, Word
from guardsh.engine.scan import LexError
from guardsh.engine.state import UNKNOWN, GlobValue, State
from guardsh.engine.wordexp import expand_heredoc, expand_text, expand_word, needs_expansion

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

MAX_TEXT = 512 * 1024
# Simple commands walked for one classification, loops and calls included: each text parsed adds
# FAN_OUT times its own simple commands, plus a margin, so only multiplication is bounded.
FAN_OUT = 4
MARGIN = 500
MAX_CALL_DEPTH = 16
MAX_CALLS = 256
MAX_LOOP_VALUES = 32
DECLARATIONS = frozenset({"export", "declare", "typeset", "local", "readonly"})
STATUS_TRUE = frozenset({"true", ":"})
DIRECTORY_CHANGES = frozenset({"cd", "pushd", "popd"})
EMPTY: frozenset[str] = frozenset()


class Budget:
    """Shared by every walk of one classification: what bounds recursion and fan-out."""

    __slots__ = ("commands", "allowed", "calls", "stack", "fork_bombs", "effected", "exceeded")

    def __init__(self) -> None:
        self.commands = 0
        self.allowed = 0
        self.calls = 0
        self.stack: list[str] = []  # functions being walked
        self.fork_bombs: list[str] = []
        self.effected: set[int] = set()  # ids of commands whose file effects were recorded
        self.exceeded = False


def walk_script(text: str, state: State, reader: Reader, out: Expansion, via: tuple[str, ...] = (),
                depth: int = 0, args_from_stdin: bool = False, run_traps: bool = True) -> None:
    """Walk ``text`` in ``state`` (mutated as bash would mutate it); the commands go to ``out``."""
    budget = out.budget if out.budget is not None else Budget()
    out.budget = budget
    if depth > MAX_DEPTH:
        out.problems.append(("nesting too deep to analyse", text[:200]))
        out.worsen("opaque")
        return
    if len(text) > MAX_TEXT:
        out.problems.append((f"command text too large to analyse ({len(text)} bytes)", text[:200]))
        out.worsen("opaque")
        return
    try:
        tokens = tokenize(text)
    except LexError as e:
        out.problems.append((f"cannot parse: {e}", text))
        out.worsen("opaque")
        return
    walker = Walker(text, out, reader, via, depth, args_from_stdin)
    budget.allowed += FAN_OUT * [t.kind for t in tokens].count("word") + MARGIN
    try:
        script = T.parse_tokens(tokens)
    except T.GrammarError:
        out.worsen("fallback")
        walker.tolerant(tokens, state)
        return
    walker.node(script, state)
    if run_traps:
        walker.end_shell(state)  # an EXIT trap runs last, with the state the command ends in


def expand_script(text: str, reader: Reader, state: State | None = None) -> Expansion:
    """Every command ``text`` runs, as the rules will see them (without classifying them)."""
    from guardsh.engine.unwrap import expand_one as dispatch

    out = Expansion(dispatch, walk_script)
    walk_script(text, state if state is not None else State(reader.cwd, {}, reader.home), reader, out)
    return out


def session_state(ctx: Any, definitions: str) -> State:
    """The state of an interactive bash, from what it prints of itself (``declare -p; declare -f;
    alias -p; shopt -p expand_aliases``): bash's own syntax, read as a script that runs nothing."""
    state = State(ctx.cwd, ctx.env, ctx.home, env_complete=True, params=["bash"])
    state.expand_aliases = True  # an interactive shell expands aliases unless told not to
    out = Expansion(lambda cmd, reader, out, depth: None, walk_script)
    try:
        walk_script(definitions, state, Reader(ctx.cwd, read_files=False), out)
    except Exception:  # noqa: BLE001 - definitions guardsh cannot read: nothing known of them
        state = State(ctx.cwd, ctx.env, ctx.home, env_complete=False, params=["bash"])
        state.expand_aliases = True
    if out.problems:
        state.forget_all_vars()
    state.fs = State(None, {}, "").fs  # what earlier lines wrote is on the disk now, not in this command
    return state


class Walker:
    """Walks one text (node offsets refer to it)."""

    def __init__(self, text: str, out: Expansion, reader: Reader, via: tuple[str, ...], depth: int,
                 args_from_stdin: bool) -> None:
        self.text = text
        self.out = out
        self.reader = reader
        self.via = via
        self.depth = depth
        self.args_from_stdin = args_from_stdin
        self.budget: Budget = out.budget
        self.uncertain = 0  # >0 inside code that may or may not run (a branch, a loop, a job)
        # what the last simple command writes to stdout, for a pipe that follows: "" (nothing),
        # a (command, its input, state) to work out when a pipe needs it, or UNKNOWN
        self.last_output: Any = UNKNOWN
        self.aliasing: tuple[str, ...] = ()
        self.locals: list[dict[str, Any]] = []
        self.jobs = 0  # >0 inside a background job (a recursive call there is a fork bomb)
        self.pipe: tuple[str | None, Any] | None = None  # what feeds the command being dispatched
        self.returned = False
        self.failed_state: State | None = None  # the state if the last builtin failed, when it differs

    # --- structure

    def node(self, n: Any, st: State, pipe: tuple[str | None, Any] | None = None) -> int | None:
        kind = type(n)
        if kind is T.Simple:
            return self.simple(n, st, pipe)
        if kind is T.Sequence:
            return self.sequence(n, st, pipe)
        if kind is T.AndOr:
            return self.and_or(n, st, pipe)
        if kind is T.Pipeline:
            return self.pipeline(n, st, pipe)
        if kind is T.Group:
            self.compound_redirects(n.redirects, st, n)
            return self.node(n.body, st, pipe)
        if kind is T.Subshell:
            self.compound_redirects(n.redirects, st, n)
            return self.subshell(n.body, st, pipe)
        if kind is T.If:
            return self.if_clause(n, st, pipe)
        if kind is T.Loop:
            return self.loop(n, st, pipe)
        if kind is T.For:
            return self.for_loop(n, st, pipe)
        if kind is T.ArithFor:
            return self.arith_for(n, st, pipe)
        if kind is T.Case:
            return self.case(n, st, pipe)
        if kind is T.FuncDef:
            st.functions[n.name] = (n.body, self.text)
            return 0
        if kind is T.Arith:
            self.compound_redirects(n.redirects, st, n)
            self.arith(n.token, st)
            return None
        if kind is T.Test:
            self.compound_redirects(n.redirects, st, n)
            return self.test(n, st)
        if kind is T.Coproc:
            self.uncertain += 1
            self.jobs += 1
            self.subshell(n.body, st, pipe)
            self.jobs -= 1
            self.uncertain -= 1
            return 0
        raise TypeError(f"unknown node {kind.__name__}")

    def subshell(self, n: Any, st: State, pipe: tuple[str | None, Any] | None) -> int | None:
        """``n`` in a subshell of ``st``: nothing flows back; its traps run when it ends."""
        sub = st.copy()
        sub.traps = {}
        status = self.node(n, sub, pipe)
        if sub.traps:  # (end_shell has nothing to do otherwise)
            self.end_shell(sub)
        return status

    def end_shell(self, st: State) -> None:
        """A shell ends: its traps (EXIT, and the signals it may get) run with its final state."""
        if not st.traps:
            return
        bodies = list(dict.fromkeys(st.traps.values()))  # one body set for several signals runs once here
        st.traps.clear()
        st.exited = False
        for body in bodies:
            walk_script(body, st, self.reader, self.out, self.via + ("trap",), self.depth + 1,
                        self.args_from_stdin, run_traps=False)

    def sequence(self, n: T.Sequence, st: State, pipe: tuple[str | None, Any] | None) -> int | None:
        status: int | None = 0
        for item, background in zip(n.items, n.background):
            if st.exited or self.budget.exceeded:
                break
            if background:
                self.uncertain += 1
                self.jobs += 1
                self.subshell(item, st, pipe)
                self.jobs -= 1
                self.uncertain -= 1
                status = 0
            else:
                status = self.node(item, st, pipe)
        return status

    def and_or(self, n: T.AndOr, st: State, pipe: tuple[str | None, Any] | None) -> int | None:
        success, failure = self.and_or_outcomes(n, st, pipe)
        final = _join(success, failure)
        if final is not None and final is not st:
            st.become(final)
        if failure is None:
            return 0
        return 1 if success is None else None

    def outcomes(self, n: Any, st: State, pipe: tuple[str | None, Any] | None) -> tuple[State | None, State | None]:
        """(the state if ``n`` succeeds, the state if it fails); None where that cannot happen.
        ``st`` is used up: it becomes one of the two."""
        if type(n) is T.AndOr:
            return self.and_or_outcomes(n, st, pipe)
        self.failed_state = None
        status = self.node(n, st, pipe)
        if st.exited or status == 0:
            return st, None
        if status == 1:
            return None, st
        failed, self.failed_state = self.failed_state, None
        return st, failed if failed is not None else st.copy()

    def and_or_outcomes(self, n: T.AndOr, st: State,
                        pipe: tuple[str | None, Any] | None) -> tuple[State | None, State | None]:
        """``a && b || c``: each part runs in the state of the outcome it follows (b only where a
        succeeded, c only where what came before failed); the rest is skipped, not merged in."""
        success, failure = self.outcomes(n.first, st, pipe)
        for op, part in n.rest:
            runner, other = (success, failure) if op == "&&" else (failure, success)
            if runner is None or runner.exited:
                continue  # false && x, true || x: the part cannot run
            maybe = other is not None
            self.uncertain += maybe
            s2, f2 = self.outcomes(part, runner, pipe)
            self.uncertain -= maybe
            if op == "&&":
                success, failure = s2, _join(failure, f2)
            else:
                success, failure = _join(success, s2), f2
        return success, failure

    def pipeline(self, n: T.Pipeline, st: State, pipe: tuple[str | None, Any] | None) -> int | None:
        if len(n.parts) == 1:
            status = self.node(n.parts[0], st, pipe)
        else:
            feed = pipe
            status = None
            for part in n.parts:
                self.last_output = UNKNOWN
                status = self.subshell(part, st, feed)
                program = _program_of(part) if type(part) is T.Simple else None
                feed = (program, _resolve_output(self.last_output))
        if n.bang and status is not None:
            return 1 - status if status in (0, 1) else None
        return status if not n.bang else None

    def if_clause(self, n: T.If, st: State, pipe: tuple[str | None, Any] | None) -> int | None:
        """Each body runs where its condition succeeds; the next clause where it fails."""
        self.compound_redirects(n.redirects, st, n)
        ends: list[State] = []
        current: State | None = st
        for cond, body in n.clauses:
            assert current is not None
            success, failure = self.outcomes(cond, current, pipe)
            if success is not None:
                maybe = failure is not None or bool(ends)
                self.uncertain += maybe
                if not success.exited:
                    self.node(body, success, pipe)
                self.uncertain -= maybe
                ends.append(success)
            current = failure
            if current is None:
                break
        if current is not None:
            maybe = bool(ends)
            self.uncertain += maybe
            if n.orelse is not None:
                self.node(n.orelse, current, pipe)
            self.uncertain -= maybe
            ends.append(current)
        final = ends[0]
        for other in ends[1:]:
            final = _join(final, other)  # type: ignore[assignment]
        if final is not st:
            st.become(final)
        return 0 if len(ends) == 1 else None

    def loop(self, n: T.Loop, st: State, pipe: tuple[str | None, Any] | None) -> int | None:
        self.compound_redirects(n.redirects, st, n)
        status = self.node(n.cond, st, pipe)
        if status is not None and (status == 1) != n.until:
            return 0  # the condition ends the loop before the body ever runs
        self.repeat(lambda s: (self.node(n.body, s, pipe), self.node(n.cond, s, pipe)), st)
        return None

    def repeat(self, once: Callable[[State], object], st: State) -> None:
        """A body that runs zero or more times: walked once, and again with what changed merged in."""
        self.uncertain += 1
        for _ in range(2):
            body = st.copy()
            once(body)
            if body.exited:
                break  # the body ends the shell on this path: after the loop, only the other paths
            changed = _differs(st, body)
            st.merge(body)
            if not changed or self.budget.exceeded:
                break
        self.uncertain -= 1

    def for_loop(self, n: T.For, st: State, pipe: tuple[str | None, Any] | None) -> int | None:
        self.compound_redirects(n.redirects, st, n)
        name = n.name.raw
        values: Any
        if n.words is None:
            values = st.get_array("@")
        else:
            words = []
            for tok in n.words:
                words.extend(self.expand(tok, st))
            values = UNKNOWN if any(w.dynamic for w in words) else [
                GlobValue(w.value) if w.glob else w.value for w in words]
        if n.select or values is UNKNOWN or values is None or len(values) > MAX_LOOP_VALUES:
            st.set(name, UNKNOWN)
            self.repeat(lambda s: self.node(n.body, s, pipe), st)
            return None
        for value in values:
            if st.exited or self.budget.exceeded:
                break
            st.set(name, value)
            self.node(n.body, st, pipe)
        return None

    def arith_for(self, n: T.ArithFor, st: State, pipe: tuple[str | None, Any] | None) -> int | None:
        self.compound_redirects(n.redirects, st, n)
        self.arith(n.arith, st)
        self.repeat(lambda s: (self.node(n.body, s, pipe), self.arith(n.arith, s)), st)
        return None

    def case(self, n: T.Case, st: State, pipe: tuple[str | None, Any] | None) -> int | None:
        self.compound_redirects(n.redirects, st, n)
        subject = self.expand_one_word(n.word, st)
        others: list[State] = []
        falling = False
        for patterns, body, terminator in n.items:
            if st.exited:
                break
            if falling:
                match: bool | None = True
            else:
                match = False
                for tok in patterns:
                    pattern = self.expand_one_word(tok, st)
                    if subject.dynamic or pattern.dynamic:
                        match = None
                        break
                    if gmatch(pattern.value, subject.value):
                        match = True
                        break
            if match is False:
                continue
            if match is None:
                branch = st.copy()
                self.uncertain += 1
                self.node(body, branch, pipe)
                self.uncertain -= 1
                others.append(branch)
                falling = False
                continue
            self.node(body, st, pipe)
            falling = terminator == ";&"
            if terminator in (";;", ""):
                break
        for other in others:
            st.merge(other)
        return None

    def arith(self, tok: Token, st: State) -> None:
        """``(( ))``: its substitutions run, and the names it assigns are no longer known."""
        for sub in tok.subs:
            self.substitution(sub, st)
        expr = tok.raw.strip("()")
        for name in _assigned_names(expr):
            st.set(name, UNKNOWN)

    def test(self, n: T.Test, st: State) -> int | None:
        words: list[Word] = []
        for tok in n.tokens:
            if tok.kind == "word":
                words.append(self.expand_one_word(tok, st))
            elif tok.kind == "redir" and tok.redirect is not None and tok.redirect.target is not None:
                for sub in tok.redirect.target.subs:
                    self.substitution(sub, st)
                words.append(Word("<" if tok.redirect.op.startswith("<") else ">"))
                words.append(tok.redirect.target)
            else:
                words.append(Word(tok.raw))
        return _test_status([w for w in words], double=True)

    def tolerant(self, tokens: list[Token], st: State) -> None:
        """A text the grammar rejects: every simple command the tolerant extractor finds, in the
        state as it stands (bash stops at the syntax error; guardsh classifies all of them)."""
        extracted = extract_tolerant(tokens)
        for ex in extracted.commands:
            cmd = Command(words=tuple(ex.words), assignments=tuple(ex.assignments), redirects=tuple(ex.redirects),
                          text=self.text[ex.start : ex.end].strip(), via=self.via,
                          stdin="pipe" if ex.piped else None, stdin_from=ex.piped_from, cwd=st.cwd,
                          args_from_stdin=self.args_from_stdin, created=self.created(st), as_found=not st.fs.changed)
            for sub in _subs_of(cmd):
                self.substitution(sub, st)
            self.dispatch(cmd, st)
        for sub in extracted.subs:
            self.substitution(sub, st)

    # --- simple commands

    def simple(self, n: T.Simple, st: State, pipe: tuple[str | None, Any] | None) -> int | None:
        budget = self.budget
        budget.commands += 1
        if budget.commands > budget.allowed:
            if not budget.exceeded:
                budget.exceeded = True
                self.out.problems.append(("too many commands to analyse (loops or calls multiply them)",
                                          self.text[n.start : n.end]))
                self.out.worsen("opaque")
            return None
        assigns: list[Token] = []
        word_toks: list[Token] = []
        redirect_toks: list[Token] = []
        for tok in n.tokens:
            if tok.kind == "redir":
                redirect_toks.append(tok)
            elif not word_toks and "=" in tok.raw and assignment_end(tok.raw) > 0:  # (no "=", no assignment)
                assigns.append(tok)
            else:
                word_toks.append(tok)
        if word_toks and st.expand_aliases and st.aliases:
            name = word_toks[0].raw
            if name in st.aliases and name not in self.aliasing:
                return self.alias(n, word_toks[0], st.aliases[name], st, pipe)
        declaration = bool(word_toks) and word_toks[0].raw in DECLARATIONS
        words: list[Word] = []
        for k, tok in enumerate(word_toks):
            if declaration and k and assignment_end(tok.raw) > 0:
                words.append(self.declared(tok, st))
            elif tok.word is not None and not tok.word.subs and not needs_expansion(tok.raw):
                words.append(tok.word)  # what expand gives such a word, without the call
            else:
                words.extend(self.expand(tok, st))
        assignments = [self.assignment(tok, st) for tok in assigns] if assigns else []
        redirects = [self.redirect(tok, st) for tok in redirect_toks] if redirect_toks else []
        text = self.text[n.start : n.end].strip()
        if not words:
            status: int | None = 0
            for (name, value), tok in zip(assignments, assigns):
                self.assign(tok, name, value, st)
                if value.subs:
                    status = None
            if redirects:
                self.dispatch(self.command((), (), redirects, text, st, pipe), st)
            self.last_output = ""
            return status
        first = words[0]
        if not first.dynamic and not first.glob and first.value in st.functions:
            return self.call(first.value, words, redirects, text, st, pipe)
        cmd = self.command(words, assignments, redirects, text, st, pipe)
        self.pipe = pipe
        self.dispatch(cmd, st)
        self.pipe = None
        before = st.copy() if first.value in DIRECTORY_CHANGES else None
        status = builtin_effects(self, cmd, st)
        if status is None and before is not None:
            self.failed_state = before  # a cd that fails changes nothing
        self.last_output = (cmd, pipe, st) if len(words) < 256 else UNKNOWN
        return status

    def command(self, words: Any, assignments: Any, redirects: Any, text: str, st: State,
                pipe: tuple[str | None, Any] | None) -> Command:
        created = self.created(st)
        if redirects:
            fresh = self.fresh_targets(redirects, st)
            if fresh:
                created = created | fresh
        return Command(tuple(words), tuple(assignments), tuple(redirects), text, self.via,
                       "pipe" if pipe is not None else None, pipe[0] if pipe is not None else None,
                       self.args_from_stdin, st.cwd, created, not st.fs.changed)

    def created(self, st: State) -> frozenset[str]:
        return frozenset(st.fs.created) if st.fs.created else EMPTY

    def fresh_targets(self, redirects: Any, st: State) -> frozenset[str]:
        """Write redirections whose target does not exist: the write creates the file and replaces
        nothing (an agent's snapshot, cwd and pid files).  Only while nothing ran whose effects on
        the disk guardsh does not follow (it could have put a file or a link there), and never in
        the home directory itself or its ~/.config and ~/.local (startup and autostart files)."""
        if not self.reader.read_files or st.fs.foreign or not redirects:
            return EMPTY
        home = (self.reader.home or "").rstrip("/")
        fresh = set()
        for r in redirects:
            if not r.writes or r.target is None or r.op in (">&", "<>"):
                continue
            path = _path(r.target, st.cwd)
            if path is None or path.startswith("/dev/") or path in st.fs.created:
                continue
            parent = os.path.dirname(path)
            if not home or not path.startswith(home + "/") or parent == home or any(
                    path.startswith(f"{home}/{d}/") for d in FRESH_EXCLUDED_HOME_DIRS):
                continue
            if os.path.isdir(parent) and not os.path.lexists(path):
                fresh.add(path)
        return frozenset(fresh) if fresh else EMPTY

    def dispatch(self, cmd: Command, st: State) -> None:
        """Classify one command (and what it wraps); record what it does to the filesystem."""
        out = self.out
        before = len(out.commands)
        out.state = st
        reader = self.reader
        reader.cwd = st.cwd
        reader.fs = st.fs
        expand_one(cmd, reader, out, self.depth)
        out.state = st
        reader.cwd = st.cwd
        reader.fs = st.fs
        for done in out.commands[before:]:
            if id(done) not in self.budget.effected:
                self.budget.effected.add(id(done))
                file_effects(self, done, st)

    def expand(self, tok: Token, st: State) -> list[Word]:
        if not needs_expansion(tok.raw):
            assert tok.word is not None
            word = tok.word
            for sub in word.subs:  # process substitution <( )
                self.substitution(sub, st)
            return [word]
        words = expand_word(tok.raw, st, known_output=self.known_output(st))
        subs = words[0].subs if words else _subs_in(tok.raw)
        for sub in subs:
            self.substitution(sub, st)
        return words

    def expand_one_word(self, tok: Token, st: State) -> Word:
        if not needs_expansion(tok.raw):
            assert tok.word is not None
            return tok.word
        word = expand_text(tok.raw, st, self.known_output(st))
        for sub in word.subs:
            self.substitution(sub, st)
        return word

    def substitution(self, text: str, st: State) -> None:
        """A command substitution (or process substitution) runs in a subshell of its own."""
        walk_script(text, st.copy(), self.reader, self.out, self.via + ("$( )",), self.depth + 1,
                    self.args_from_stdin)
        self.reader.cwd = st.cwd
        self.reader.fs = st.fs

    def known_output(self, st: State) -> Callable[[str], str | None]:
        return lambda inner: _known_output(inner, st, self.reader)

    # --- assignments

    def assignment(self, tok: Token, st: State) -> tuple[str, Word]:
        raw = tok.raw
        end = assignment_end(raw)
        name = raw[: end - 1].rstrip("+")
        value_raw = raw[end:]
        if "[" in name and ("$(" in name or "`" in name):  # a[$(cmd)]=1: the subscript runs too
            for sub in _subs_in(name[name.index("["):]):
                self.substitution(sub, st)
        if value_raw.startswith("(") and value_raw.endswith(")"):
            return name, Word(value_raw, dynamic=True, subs=())  # an array: see assign()
        word = expand_text(value_raw, st, self.known_output(st)) if needs_expansion(value_raw) else Word(
            tok.word.value.partition("=")[2] if tok.word is not None else value_raw)
        for sub in word.subs:
            self.substitution(sub, st)
        return name, word

    def assign(self, tok: Token, name: str, value: Word, st: State) -> None:
        raw = tok.raw
        end = assignment_end(raw)
        append = raw[end - 2 : end] == "+="
        subscript = None
        if "[" in name:
            name, _, subscript = name.partition("[")
            subscript = subscript.rstrip("]")
        value_raw = raw[end:]
        if value_raw.startswith("(") and value_raw.endswith(")") and subscript is None:
            elements = self.array_literal(value_raw[1:-1], st)
            if append:
                before = st.get_array(name)
                elements = before + elements if isinstance(before, list) and isinstance(elements, list) else UNKNOWN
            st.set_array(name, elements)
            return
        known: Any = UNKNOWN if value.dynamic else value.value
        if subscript is not None:
            arr = st.arrays.get(name)
            if isinstance(arr, list) and subscript.isdigit() and known is not UNKNOWN:
                k = int(subscript)
                arr = list(arr) + [""] * max(0, k + 1 - len(arr))
                arr[k] = known
                st.set_array(name, arr)
            else:
                st.set_array(name, UNKNOWN)
            return
        if append:
            before = st.get(name)
            known = before + known if isinstance(before, str) and isinstance(known, str) else (
                known if before is None else UNKNOWN)
        st.set(name, known)

    def array_literal(self, inner: str, st: State) -> Any:
        try:
            toks = tokenize(inner)
        except LexError:
            return UNKNOWN
        values: list[str] = []
        for tok in toks:
            if tok.kind != "word":
                if tok.kind == "op" and tok.raw == "\n":
                    continue
                return UNKNOWN
            if assignment_end(tok.raw) > 0 and tok.raw.startswith("["):
                return UNKNOWN  # [key]=value: an associative or sparse array
            for w in self.expand(tok, st):
                if w.dynamic:
                    return UNKNOWN
                values.append(GlobValue(w.value) if w.glob else w.value)
        return values

    def declared(self, tok: Token, st: State) -> Word:
        """``export X=$v``: a declaration's assignment argument is not split (bash reads it as an assignment)."""
        raw = tok.raw
        end = assignment_end(raw)
        value_raw = raw[end:]
        if value_raw.startswith("(") and value_raw.endswith(")"):
            return Word(raw[:end] + value_raw, dynamic=False)
        word = expand_text(value_raw, st, self.known_output(st))
        for sub in word.subs:
            self.substitution(sub, st)
        return Word(raw[:end] + word.value, dynamic=word.dynamic, glob=False, subs=word.subs)

    def redirect(self, tok: Token, st: State) -> Redirect:
        r = tok.redirect
        assert r is not None
        if r.target is None:
            if r.heredoc is not None and not r.heredoc_quoted and ("$" in r.heredoc or "`" in r.heredoc):
                body, dynamic, subs = expand_heredoc(r.heredoc, st)
                for sub in subs:
                    self.substitution(sub, st)
                return Redirect(r.op, r.fd, None, body if not dynamic else r.heredoc, r.heredoc_quoted)
            return r
        raw = _redirect_target_raw(tok.raw, r.op)
        if raw is None or not needs_expansion(raw):
            for sub in r.target.subs:
                self.substitution(sub, st)
            return r
        target = expand_text(raw, st, self.known_output(st))
        for sub in target.subs:
            self.substitution(sub, st)
        heredoc = r.heredoc
        if r.op == "<<<":
            heredoc = target.value
        return Redirect(r.op, r.fd, target, heredoc, r.heredoc_quoted)

    def compound_redirects(self, redirect_toks: list[Token], st: State, n: Any) -> None:
        if not redirect_toks:
            return
        redirects = [self.redirect(tok, st) for tok in redirect_toks]
        text = " ".join(tok.raw for tok in redirect_toks)
        self.dispatch(self.command((), (), redirects, text, st, None), st)

    # --- aliases and functions

    def alias(self, n: T.Simple, first: Token, value: str, st: State, pipe: tuple[str | None, Any] | None) -> int | None:
        text = self.text[n.start : first.start] + value + self.text[first.end : n.end]
        inner = Walker(text, self.out, self.reader, self.via + (f"alias {first.raw}",), self.depth + 1,
                       self.args_from_stdin)
        inner.aliasing = self.aliasing + (first.raw,)
        inner.uncertain = self.uncertain
        inner.locals = self.locals
        try:
            script = T.parse_tokens(tokenize(text))
        except (T.GrammarError, LexError) as e:
            self.out.problems.append((f"alias {first.raw} expands to text guardsh cannot parse ({e})", text))
            self.out.worsen("opaque")
            return None
        status = inner.node(script, st, pipe)
        self.last_output = inner.last_output
        return status

    def call(self, name: str, words: list[Word], redirects: list[Redirect], text: str, st: State,
             pipe: tuple[str | None, Any] | None) -> int | None:
        budget = self.budget
        recursive = budget.stack.count(name)
        if recursive and (pipe is not None or self.jobs):
            budget.fork_bombs.append(text)  # it multiplies itself through pipes or jobs
            return None
        if recursive >= 2 or len(budget.stack) >= MAX_CALL_DEPTH or budget.calls >= MAX_CALLS:
            self.out.problems.append((f"function {name} recurses, or calls too many functions, to analyse", text))
            self.out.worsen("opaque")
            return None
        budget.calls += 1
        if redirects:
            self.dispatch(self.command((), (), redirects, text, st, pipe), st)
        body, fn_text = st.functions[name]
        saved_params = st.params
        zero = saved_params[0] if isinstance(saved_params, list) and saved_params else "bash"
        st.params = [zero] + [UNKNOWN if w.dynamic else (GlobValue(w.value) if w.glob else w.value) for w in words[1:]]
        if any(p is UNKNOWN for p in st.params):
            st.params = UNKNOWN
        budget.stack.append(name)
        frame: dict[str, Any] = {}
        walker = Walker(fn_text, self.out, self.reader, self.via + (f"function {name}",), self.depth,
                        self.args_from_stdin)
        walker.uncertain = self.uncertain
        walker.jobs = self.jobs
        walker.locals = self.locals + [frame]
        try:
            status = walker.node(body, st, pipe)
        finally:
            budget.stack.pop()
        for var, saved in frame.items():  # `local` variables end with the call
            if saved is _UNSET:
                st.vars.pop(var, None)
            else:
                st.vars[var] = saved
        st.params = saved_params
        if walker.returned:
            st.exited = False  # `return` ends the function, not the shell
        self.last_output = walker.last_output
        return status


class _Unset:
    __slots__ = ()


_UNSET = _Unset()


# --- what builtins do to the state ------------------------------------------------------------

def builtin_effects(w: Walker, cmd: Command, st: State) -> int | None:
    """Apply a builtin's effect on the shell's state; the command's exit status when known."""
    words = cmd.words
    name = words[0].value
    if name in STATUS_TRUE:
        return 0
    if name == "false":
        return 1
    if name in ("test", "["):
        args = list(words[1:])
        if name == "[":
            if not args or args[-1].value != "]":
                return None
            args = args[:-1]
        return _test_status(args, double=False)
    handler = BUILTINS.get(name)
    if handler is None:
        if name == "git" or name.endswith("/git"):
            _git_config(cmd, st)
        return None
    return handler(w, cmd, st)


def _cd(w: Walker, cmd: Command, st: State) -> int | None:
    args = [x for x in cmd.words[1:]]
    while args and args[0].value.startswith("-") and args[0].value not in ("-",) and not args[0].dynamic:
        if args[0].value == "--":
            args = args[1:]
            break
        args = args[1:]
    if not args:
        target: Any = st.get("HOME")
    elif args[0].dynamic:
        target = UNKNOWN
    elif args[0].value == "-":
        target = st.oldpwd
    else:
        target = args[0].value
    return _change_dir(w, target, st, cdpath=bool(args) and not args[0].dynamic and args[0].value != "-")


def _change_dir(w: Walker, target: Any, st: State, cdpath: bool = False) -> int | None:
    old = st.cwd
    if not isinstance(target, str) or not target:
        st.oldpwd = old if old is not None else UNKNOWN
        st.cwd = None
        return None
    if not target.startswith("/"):
        if cdpath and not target.startswith(("./", "../")) and target not in (".", ".."):
            # CDPATH as the command or its environment sets it (a profile that sets it is not followed)
            cd_path = st.vars["CDPATH"] if "CDPATH" in st.vars else st.env.get("CDPATH")
            if cd_path is UNKNOWN or cd_path:
                st.oldpwd = old if old is not None else UNKNOWN
                st.cwd = None  # CDPATH may send it elsewhere
                return None
        if old is None:
            st.oldpwd = UNKNOWN
            return None
        target = os.path.join(old, target)
    new = os.path.normpath(target)
    if new.startswith("//"):
        new = "/" + new.lstrip("/")
    reader = w.reader
    if reader.read_files and not os.path.isdir(new) and new not in st.fs.created and not any(
            new.startswith(c.rstrip("/") + "/") for c in st.fs.created):
        return 1  # bash: no such directory; the cwd does not change
    st.oldpwd = old if old is not None else UNKNOWN
    st.cwd = new
    return None


def _pushd(w: Walker, cmd: Command, st: State) -> int | None:
    args = [x for x in cmd.words[1:] if not (x.value.startswith("-") and len(x.value) > 1 and not x.dynamic)]
    stack = st.dirstack
    if args and args[0].value.startswith("+") and not args[0].dynamic:
        st.dirstack = UNKNOWN
        st.cwd = None
        return None
    old = st.cwd
    if not args:
        if stack is UNKNOWN or not stack:
            st.cwd = None if stack is UNKNOWN else old
            return None
        top = stack[0]
        st.dirstack = [old if old is not None else UNKNOWN] + stack[1:]
        return _change_dir(w, top, st)
    status = _change_dir(w, UNKNOWN if args[0].dynamic else args[0].value, st)
    if status != 1:
        st.dirstack = [old if old is not None else UNKNOWN] + stack if stack is not UNKNOWN else UNKNOWN
    return status


def _popd(w: Walker, cmd: Command, st: State) -> int | None:
    stack = st.dirstack
    if len(cmd.words) > 1 or stack is UNKNOWN:
        st.dirstack = UNKNOWN
        st.cwd = None
        return None
    if not stack:
        return 1
    top = stack[0]
    st.dirstack = stack[1:]
    return _change_dir(w, top, st)


def _declare(w: Walker, cmd: Command, st: State) -> int | None:
    name = cmd.words[0].value
    export = name == "export"
    local = name == "local"
    unexport = False
    for arg in cmd.words[1:]:
        v = arg.value
        if v.startswith(("-", "+")) and "=" not in v and len(v) > 1:
            if "x" in v:
                export = v.startswith("-")
            if "n" in v and export:
                unexport = True
            if "f" in v or "F" in v:
                return 0  # functions: nothing to do with variables
            continue
        var, eq, value = v.partition("=")
        var = var.rstrip("+")
        if not var or not all(c.isalnum() or c == "_" for c in var):
            continue
        if local and w.locals:
            frame = w.locals[-1]
            if var not in frame:
                frame[var] = st.vars[var] if var in st.vars else _UNSET
        if eq:
            if value.startswith("(") and value.endswith(")"):
                st.set_array(var, w.array_literal(value[1:-1], st) if not arg.dynamic else UNKNOWN)
            else:
                st.set(var, UNKNOWN if arg.dynamic else value)
        elif local or (name in ("declare", "typeset") and not export):
            if var not in st.vars and var not in st.arrays:
                st.set(var, None)
        if unexport:
            st.exported.discard(var)
        elif export:
            st.exported.add(var)
    return 0


def _unset(w: Walker, cmd: Command, st: State) -> int | None:
    functions = False
    for arg in cmd.words[1:]:
        if arg.value in ("-f",):
            functions = True
            continue
        if arg.value.startswith("-"):
            continue
        if arg.dynamic:
            st.forget_all_vars()
            continue
        if functions:
            st.functions.pop(arg.value, None)
        else:
            st.unset(arg.value)
    return 0


def _read(w: Walker, cmd: Command, st: State) -> int | None:
    names: list[str] = []
    array: str | None = None
    words = cmd.words[1:]
    i = 0
    while i < len(words):
        v = words[i].value
        if v.startswith("-") and len(v) > 1:
            if v in ("-a",) and i + 1 < len(words):
                array = words[i + 1].value
                i += 2
                continue
            if v[-1] in "dinNpstu" and len(v) == 2 and i + 1 < len(words):
                i += 2
                continue
            i += 1
            continue
        names.append(v)
        i += 1
    if not names and array is None:
        names = ["REPLY"]
    data: Any = UNKNOWN
    for r in cmd.redirects:
        if r.op == "<<<" and r.fd in (None, 0) and r.target is not None and not r.target.dynamic:
            data = r.target.value
        elif r.heredoc is not None and r.op != "<<<" and r.fd in (None, 0):
            data = r.heredoc.split("\n", 1)[0]
    if isinstance(data, str):
        parts = data.split()
        if array is not None:
            st.set_array(array, parts)
        for k, var in enumerate(names):
            if k == len(names) - 1:
                st.set(var, " ".join(parts[k:]))
            else:
                st.set(var, parts[k] if k < len(parts) else "")
        return 0
    for var in names:
        st.set(var, UNKNOWN)
    if array is not None:
        st.set_array(array, UNKNOWN)
    return None


def _shift(w: Walker, cmd: Command, st: State) -> int | None:
    n = 1
    if len(cmd.words) > 1:
        if cmd.words[1].dynamic or not cmd.words[1].value.isdigit():
            st.params = UNKNOWN
            return None
        n = int(cmd.words[1].value)
    if isinstance(st.params, list):
        if n > len(st.params) - 1:
            return 1
        st.params = st.params[:1] + st.params[1 + n:]
    return 0


def _set(w: Walker, cmd: Command, st: State) -> int | None:
    args = cmd.words[1:]
    k = 0
    while k < len(args):
        v = args[k].value
        if args[k].dynamic:
            st.params = UNKNOWN
            return None
        if v == "--" or not v.startswith(("-", "+")) or v in ("-", "+"):
            rest = args[k + 1:] if v in ("--", "-") else args[k:]
            zero = st.params[0] if isinstance(st.params, list) and st.params else "bash"
            st.params = UNKNOWN if any(a.dynamic for a in rest) else [zero] + [a.value for a in rest]
            return 0
        on = v[0] == "-"
        for letter in v[1:]:
            if letter == "f":
                st.noglob = on
            elif letter == "o" and k + 1 < len(args):
                k += 1
                if args[k].value == "noglob":
                    st.noglob = on
        k += 1
    return 0


def _shopt(w: Walker, cmd: Command, st: State) -> int | None:
    values = [x.value for x in cmd.words[1:]]
    if "expand_aliases" in values:
        if "-s" in values:
            st.expand_aliases = True
        elif "-u" in values:
            st.expand_aliases = False
    return 0


def _alias(w: Walker, cmd: Command, st: State) -> int | None:
    for arg in cmd.words[1:]:
        name, eq, value = arg.value.partition("=")
        if not eq:
            continue
        if arg.dynamic:
            st.aliases[name] = "$__guardsh_unknown_alias"  # expands to a program named at run time
        else:
            st.aliases[name] = value
    return 0


def _unalias(w: Walker, cmd: Command, st: State) -> int | None:
    for arg in cmd.words[1:]:
        if arg.value == "-a":
            st.aliases.clear()
        else:
            st.aliases.pop(arg.value, None)
    return 0


def _exit(w: Walker, cmd: Command, st: State) -> int | None:
    """Nothing after it runs on this path (where paths meet, an exited one drops out)."""
    st.exited = True
    return None


def _return(w: Walker, cmd: Command, st: State) -> int | None:
    if w.budget.stack:
        st.exited = True
        w.returned = True
    return None


BUILTINS: dict[str, Callable[[Walker, Command, State], int | None]] = {
    "cd": _cd, "pushd": _pushd, "popd": _popd,
    "export": _declare, "declare": _declare, "typeset": _declare, "local": _declare, "readonly": _declare,
    "unset": _unset, "read": _read, "shift": _shift, "set": _set, "shopt": _shopt,
    "alias": _alias, "unalias": _unalias, "exit": _exit, "return": _return,
}


def _git_config(cmd: Command, st: State) -> None:
    """``git config [--global|--local] alias.NAME VALUE``: later ``git NAME`` runs VALUE."""
    values = [x.value for x in cmd.words[1:]]
    try:
        k = values.index("config")
    except ValueError:
        return
    rest = [v for v in values[k + 1:] if not v.startswith("--") or v in ("--unset",)]
    if len(rest) >= 2 and rest[0].startswith("alias."):
        st.git_aliases[rest[0][len("alias."):]] = UNKNOWN if any(x.dynamic for x in cmd.words) else rest[1]
    elif len(rest) >= 2 and rest[0] == "--unset" and rest[1].startswith("alias."):
        st.git_aliases[rest[1][len("alias."):]] = None


# --- what commands do to the filesystem ------------------------------------------------------

def _path(word: Word, cwd: str | None) -> str | None:
    if word.dynamic or word.glob or not word.value:
        return None
    value = word.value
    if value.startswith("~"):
        return None
    if not value.startswith("/"):
        if cwd is None:
            return None
        value = os.path.join(cwd, value)
    return os.path.normpath(value)


def _maybe(w: Walker, path: str, content: Any) -> Any:
    """Content written where the write may not happen: only known if nothing was there before."""
    if not w.uncertain or content is UNKNOWN:
        return content
    if w.reader.read_files and os.path.lexists(path):
        return UNKNOWN
    return content


# Programs that never write a file themselves (their redirections are recorded as created): while
# only these have run, the disk is as the command found it (FileView.changed). Anything else, a
# program guardsh does not know included, may have written something.
NO_DISK_WRITES = frozenset({
    "", "echo", "printf", "cat", "ls", "pwd", "cd", "pushd", "popd", "dirs", "true", "false", ":", "test", "[",
    "[[", "grep", "egrep", "fgrep", "rg", "head", "tail", "wc", "cut", "tr", "sort", "uniq", "date", "whoami", "id",
    "printenv", "env", "which", "type", "command", "builtin", "stat", "file", "du", "df", "basename", "dirname",
    "realpath", "readlink", "sleep", "export", "declare", "typeset", "local", "readonly", "unset", "set", "shopt",
    "alias", "unalias", "read", "shift", "hash", "trap", "return", "exit", "source", ".", "eval", "exec", "wait",
    "jobs", "uname", "hostname", "tree", "diff", "cmp", "md5sum", "sha256sum", "sha1sum", "less", "more",
    # what start-up files run: they print, and write no file
    "dircolors", "lesspipe", "lessfile", "tput", "locale", "groups", "tty", "getconf", "umask", "ulimit",
    "complete", "compgen", "bind", "stty",
})
GIT_READS = frozenset({"status", "log", "diff", "show", "rev-parse", "ls-files", "blame", "grep", "describe",
                       "shortlog", "cat-file", "ls-tree", "remote", "branch", "tag"})
# Programs that write files, whose effects the walk follows (file_effects): after them guardsh still
# knows what is on the disk; after any other writer it does not (FileView.foreign).
EFFECTS_FOLLOWED = frozenset({"touch", "mkdir", "rm", "rmdir", "tee", "cp", "mv", "install", "mktemp", "bash", "sh"})


def leaves_disk_alone(cmd: Command) -> bool:
    """Whether ``cmd`` is known to write no file (a writing redirection is recorded as created)."""
    if not cmd.words:
        return True
    if cmd.program not in ("git", "sort"):
        return cmd.program in NO_DISK_WRITES
    argv = cmd.argv
    if cmd.program == "git":
        sub = next((a for a in argv[1:] if not a.startswith("-")), "")
        if sub not in GIT_READS:
            return False
        return sub not in ("branch", "tag", "remote") or len([a for a in argv[1:] if not a.startswith("-")]) == 1
    if cmd.program == "sort" and any(a == "-o" or a.startswith(("-o", "--output")) for a in argv[1:]):
        return False
    return cmd.program in NO_DISK_WRITES


# Directories under HOME where a new file is configuration that runs later (startup, autostart,
# credentials): a new file there is not "the command's own".
FRESH_EXCLUDED_HOME_DIRS = (".config", ".local", ".ssh", ".aws", ".kube", ".gnupg", ".docker", ".git")


# the programs whose own effects on files file_effects follows (beyond their redirections)
FILE_EFFECT_PROGRAMS = frozenset({"touch", "mkdir", "cp", "install", "ln", "mv", "rsync", "rm", "rmdir", "unlink",
                                  "shred", "tee", "curl", "wget", "git", "tar", "bsdtar"})


def file_effects(w: Walker, cmd: Command, st: State) -> None:
    if not leaves_disk_alone(cmd):
        st.fs.changed = True
        if cmd.program not in EFFECTS_FOLLOWED or cmd.program == "cp" and _links(cmd.words[1:]):
            st.fs.foreign = True
    if cmd.via and any(v.startswith(("ssh ", "kubectl ", "oc ", "docker ", "podman ", "nerdctl ")) for v in cmd.via):
        return  # on another machine or in a container: not this filesystem
    cwd = cmd.cwd
    fs = st.fs
    for r in cmd.redirects:
        if r.writes and r.target is not None and r.op != ">&" and r.op != "<>":
            path = _path(r.target, cwd)
            if path is None or path.startswith("/dev/"):
                continue
            stdout = r.fd in (None, 1) and r.op in (">", ">|", ">>")
            content = output_of(cmd, None, st) if stdout and cmd.words else ("" if not cmd.words else UNKNOWN)
            fs.write(path, _maybe(w, path, content), append=r.op in (">>", "&>>"))
    prog = cmd.program
    if prog not in FILE_EFFECT_PROGRAMS:  # (a command with no words has no program)
        return
    args = [a for a in cmd.words[1:]]
    positional = [a for a in args if not a.value.startswith("-") or a.value == "-"]
    if prog in ("touch", "mkdir"):
        for a in positional:
            path = _path(a, cwd)
            if path is not None:
                fs.create(path)
                if prog == "mkdir" and any(x.value in ("-p", "--parents") for x in args):
                    parent = os.path.dirname(path)
                    while parent not in ("/", "") and parent != cwd:
                        fs.create(parent)
                        parent = os.path.dirname(parent)
    elif prog in ("cp", "install", "ln", "mv", "rsync"):
        _copy_effects(w, prog, args, positional, cwd, st)
    elif prog in ("rm", "rmdir", "unlink", "shred"):
        for a in positional:
            path = _path(a, cwd)
            if path is not None:
                fs.remove(path)
    elif prog == "tee":
        append = any(a.value in ("-a", "--append") for a in args)
        for a in positional:
            path = _path(a, cwd)
            if path is not None:
                fs.write(path, _maybe(w, path, _stdin_content(cmd, st, w.pipe)), append=append)
    elif prog in ("curl", "wget"):
        for target in _download_targets(prog, args):
            path = _path(target, cwd) if target.value != "-" else None
            if path is not None:
                fs.write(path, UNKNOWN)
    elif prog == "git":
        _git_effects(args, cwd, st)
    elif prog in ("tar", "bsdtar"):
        _tar_effects(w, args, cwd, st)


def _download_targets(prog: str, args: list[Word]) -> list[Word]:
    """The files curl -o / wget -O write: ``-o F``, ``-oF``, ``-sSo F``, ``--output[=]F``."""
    short, long = ("o", ("--output",)) if prog == "curl" else ("O", ("--output-document",))
    found: list[Word] = []
    k = 0
    while k < len(args):
        v = args[k].value
        if v == "--":
            break
        if v in long and k + 1 < len(args):
            found.append(args[k + 1])
            k += 2
            continue
        if any(v.startswith(f + "=") for f in long):
            found.append(Word(v.split("=", 1)[1]))
        elif v.startswith("-") and not v.startswith("--") and short in v[1:]:
            rest = v[v.index(short, 1) + 1:]
            if rest:
                found.append(Word(rest))
            elif k + 1 < len(args):
                found.append(args[k + 1])
                k += 1
        k += 1
    return found


def _copy_effects(w: Walker, prog: str, args: list[Word], positional: list[Word], cwd: str | None,
                  st: State) -> None:
    fs = st.fs
    target_dir: Word | None = None
    for k, a in enumerate(args):
        if a.value in ("-t", "--target-directory") and k + 1 < len(args):
            target_dir = args[k + 1]
            positional = [p for p in positional if p is not args[k + 1]]
        elif a.value.startswith("--target-directory="):
            target_dir = Word(a.value.partition("=")[2], a.dynamic)
    if target_dir is not None:
        sources, dest = positional, target_dir
        into_dir = True
    else:
        if len(positional) < 2:
            return
        sources, dest = positional[:-1], positional[-1]
        dest_path = _path(dest, cwd)
        into_dir = len(sources) > 1 or (dest_path is not None and (
            (w.reader.read_files and os.path.isdir(dest_path)) or dest.value.endswith("/")))
    dest_path = _path(dest, cwd)
    if dest_path is None:
        return
    source_paths = [_path(s, cwd) for s in sources]
    if prog == "mv":
        # mv carries what existed into the destination: it is the command's own only when
        # what was moved was
        own = all(p is not None and p in fs.created and not (w.reader.read_files and os.path.lexists(p))
                  for p in source_paths)
        for p in source_paths:
            if p is not None:
                fs.remove(p)
        if not own:
            return
    if prog == "ln" or prog == "cp" and _links(args):
        return  # a link: writing through it writes what it points to, which the command did not make
    for src, p in zip(sources, source_paths):
        path = os.path.join(dest_path, os.path.basename(src.value.rstrip("/"))) if into_dir else dest_path
        content = fs.files.get(p, UNKNOWN) if p is not None and prog in ("cp", "install") else UNKNOWN
        fs.write(path, _maybe(w, path, content))


def _links(args: list[Word]) -> bool:
    """cp -s / -l: links, not copies."""
    return any(a.value in ("--symbolic-link", "--link") or a.value.startswith("-") and not a.value.startswith("--")
               and ("s" in a.value or "l" in a.value) for a in args)


def _git_effects(args: list[Word], cwd: str | None, st: State) -> None:
    values = [a.value for a in args]
    try:
        k = values.index("clone")
    except ValueError:
        return
    rest = [a for a in args[k + 1:] if not a.value.startswith("-")]
    if not rest:
        return
    if len(rest) >= 2:
        dest = rest[1]
    else:
        base = rest[0].value.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        base = base[:-4] if base.endswith(".git") else base
        dest = Word(base, rest[0].dynamic)
    path = _path(dest, cwd)
    if path is not None:
        st.fs.create(path)


def _tar_effects(w: Walker, args: list[Word], cwd: str | None, st: State) -> None:
    values = [a.value for a in args]
    first = values[0] if values else ""
    extract = any(v in ("-x", "--extract", "--get") for v in values) or (
        first and not first.startswith("-") and "x" in first) or any(
        v.startswith("-") and not v.startswith("--") and "x" in v for v in values)
    if not extract:
        return
    archive: Word | None = None
    directory: str | None = cwd
    for k, a in enumerate(args):
        v = a.value
        if v in ("-f", "--file") and k + 1 < len(args):
            archive = args[k + 1]
        elif v.startswith("--file="):
            archive = Word(v.partition("=")[2], a.dynamic)
        elif v.startswith("-") and not v.startswith("--") and v.endswith("f") and k + 1 < len(args):
            archive = args[k + 1]
        elif k == 0 and not v.startswith("-") and "f" in v and k + 1 < len(args):
            archive = args[k + 1]
        elif v in ("-C", "--directory") and k + 1 < len(args):
            directory = _path(args[k + 1], cwd)
        elif v.startswith("--directory="):
            directory = _path(Word(v.partition("=")[2], a.dynamic), cwd)
    if archive is None or directory is None or not w.reader.read_files:
        return
    path = _path(archive, cwd)
    if path is None:
        return
    for name in _archive_members(path):
        st.fs.create(os.path.normpath(os.path.join(directory, name)))


def _archive_members(path: str, limit: int = 2000) -> list[str]:
    """The top-level names a tar archive will create (read, never extracted)."""
    try:
        import tarfile

        names: set[str] = set()
        with tarfile.open(path, "r:*") as archive:
            for k, member in enumerate(archive):
                if k >= limit:
                    return []
                name = member.name.lstrip("./")
                if name.startswith("/") or ".." in name.split("/"):
                    return []
                top = name.split("/", 1)[0]
                if top:
                    names.add(top)
        return sorted(names)
    except Exception:  # noqa: BLE001 - not a readable archive: nothing is known
        return []


# --- what commands print (for files written from them) ---------------------------------------

def _resolve_output(last: Any) -> Any:
    if isinstance(last, tuple):
        return output_of(*last)
    return last


def output_of(cmd: Command, pipe: tuple[str | None, Any] | None, st: State) -> Any:
    """What a command writes to stdout, when it is known text (echo, printf, cat of known text)."""
    if not cmd.words or any(wd.dynamic for wd in cmd.words):
        return UNKNOWN
    prog = cmd.words[0].value
    args = [wd.value for wd in cmd.words[1:]]
    if prog == "echo":
        newline, escapes = True, False
        while args and len(args[0]) > 1 and args[0][0] == "-" and all(c in "neE" for c in args[0][1:]):
            newline = newline and "n" not in args[0]
            escapes = "e" in args[0] or (escapes and "E" not in args[0])
            args = args[1:]
        text: str | None = " ".join(args)
        if escapes and text is not None:
            text = _escapes(text)
        if text is None:
            return UNKNOWN
        return text + ("\n" if newline else "")
    if prog == "printf":
        if not args or args[0] in ("-v",):
            return UNKNOWN
        return _printf(args[0], args[1:])
    if prog == "cat":
        files = [a for a in args if a != "-"]
        if not files:
            return _stdin_content(cmd, st, pipe)
        parts = []
        for a in files:
            path = _path(Word(a), cmd.cwd)
            content = st.fs.files.get(path, UNKNOWN) if path is not None else UNKNOWN
            if not isinstance(content, str):
                return UNKNOWN
            parts.append(content)
        return "".join(parts)
    if prog in STATUS_TRUE:
        return ""
    return UNKNOWN


def _stdin_content(cmd: Command, st: State, pipe: tuple[str | None, Any] | None = None) -> Any:
    for r in cmd.redirects:
        if r.fd in (None, 0) and r.heredoc is not None:
            if r.op == "<<<":
                return r.heredoc + "\n" if r.target is not None and not r.target.dynamic else UNKNOWN
            if not r.heredoc_quoted and ("$" in r.heredoc or "`" in r.heredoc):
                return UNKNOWN
            return r.heredoc
        if r.fd in (None, 0) and r.op == "<" and r.target is not None:
            path = _path(r.target, cmd.cwd)
            content = st.fs.files.get(path, UNKNOWN) if path is not None else UNKNOWN
            return content if isinstance(content, str) else UNKNOWN
    if pipe is not None:
        return pipe[1]
    return UNKNOWN


def _escapes(text: str) -> str | None:
    out: list[str] = []
    i = 0
    simple = {"n": "\n", "t": "\t", "\\": "\\", "a": "\a", "r": "\r", "0": "\0"}
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            e = text[i + 1]
            if e not in simple:
                return None
            out.append(simple[e])
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _printf(fmt: str, args: list[str]) -> Any:
    """printf with %s, %d, %% and the simple escapes; UNKNOWN for anything else."""
    pieces: list[str] = []
    k = 0
    while True:
        i = 0
        used = 0
        while i < len(fmt):
            c = fmt[i]
            if c == "\\":
                if i + 1 >= len(fmt):
                    pieces.append("\\")
                    i += 1
                    continue
                e = _escapes(fmt[i:i + 2])
                if e is None:
                    return UNKNOWN
                pieces.append(e)
                i += 2
                continue
            if c == "%":
                if fmt[i + 1:i + 2] == "%":
                    pieces.append("%")
                    i += 2
                    continue
                spec = fmt[i + 1:i + 2]
                if spec not in ("s", "d"):
                    return UNKNOWN
                value = args[k] if k < len(args) else ""
                if spec == "d" and value and not value.lstrip("-").isdigit():
                    return UNKNOWN
                pieces.append(value if value or spec == "s" else "0")
                k += 1
                used += 1
                i += 2
                continue
            pieces.append(c)
            i += 1
        if k >= len(args) or not used:
            break
    return "".join(pieces)


# --- known outputs of command substitutions -----------------------------------------------------

PURE_OUTPUT = frozenset({"pwd", "mktemp", "dirname", "basename", "realpath", "readlink", "git", "echo", "printf"})


def _known_output(inner: str, st: State, reader: Reader) -> str | None:
    """What a command substitution prints, for the few commands whose output guardsh can work out
    without running anything: ``mktemp`` (a new path the command owns), ``pwd``, ``dirname``,
    ``basename``, ``realpath``/``readlink -f``, ``git rev-parse --show-toplevel``, ``echo`` and
    ``printf`` of known words.  Everything else a substitution prints is unknown."""
    text = inner.strip()
    if text.split(" ", 1)[0] not in PURE_OUTPUT:
        return None
    try:
        toks = tokenize(text)
    except LexError:
        return None
    argv: list[str] = []
    for tok in toks:
        if tok.kind != "word" or tok.word is None:
            return None  # a list, a pipe or a redirection: not one plain command
        words = expand_word(tok.raw, st) if needs_expansion(tok.raw) else [tok.word]
        if any(w.dynamic or w.glob for w in words):
            return None
        argv.extend(w.value for w in words)
    if not argv:
        return None
    printed = _pure_output(argv, st, reader)
    return printed.rstrip("\n") if printed is not None else None


def _pure_output(argv: list[str], st: State, reader: Reader) -> str | None:
    prog, args = argv[0], argv[1:]
    if prog == "pwd":
        return st.cwd if not args or args == ["-L"] else None
    if prog == "dirname" and len(args) == 1:
        return _dirname(args[0])
    if prog == "basename" and args and len(args) <= 2 and not args[0].startswith("-"):
        base = args[0].rstrip("/").rsplit("/", 1)[-1] or ("/" if args[0].startswith("/") else "")
        if len(args) == 2 and base.endswith(args[1]) and base != args[1]:
            base = base[: -len(args[1])]
        return base
    if prog in ("realpath", "readlink") and reader.read_files and st.cwd is not None:
        paths = [a for a in args if not a.startswith("-")]
        flags = [a for a in args if a.startswith("-")]
        if len(paths) != 1 or (prog == "readlink" and not ({"-f", "-e", "-m"} & set(flags))):
            return None
        return os.path.realpath(os.path.join(st.cwd, paths[0]))
    if prog == "git" and args == ["rev-parse", "--show-toplevel"] and reader.read_files and st.cwd is not None:
        path = st.cwd
        while True:
            if os.path.exists(os.path.join(path, ".git")):
                return path
            parent = os.path.dirname(path)
            if parent == path:
                return None
            path = parent
    if prog == "echo":
        cmd = Command(words=tuple(Word(a) for a in argv))
        out = output_of(cmd, None, st)
        return out if isinstance(out, str) else None
    if prog == "printf" and args:
        out = _printf(args[0], args[1:])
        return out if isinstance(out, str) else None
    if prog == "mktemp":
        return _mktemp(args, st)
    return None


def _dirname(path: str) -> str:
    stripped = path.rstrip("/")
    if not stripped:
        return "/" if path else "."
    head = stripped.rsplit("/", 1)[0] if "/" in stripped else "."
    return head.rstrip("/") or "/" if "/" in stripped else "."


def _mktemp(args: list[str], st: State) -> str | None:
    argv = ["mktemp"] + args
    directory = False
    base: str | None = None
    use_tmp = False
    template: str | None = None
    i = 1
    while i < len(argv):
        a = argv[i]
        if a in ("-d", "--directory"):
            directory = True
        elif a in ("-q", "--quiet", "-u", "--dry-run"):
            if a in ("-u", "--dry-run"):
                return None  # prints a name but creates nothing
        elif a == "-t":
            use_tmp = True
        elif a == "-p" and i + 1 < len(argv):
            base = argv[i + 1]
            i += 1
        elif a.startswith("--tmpdir"):
            base = a.partition("=")[2] or None
            use_tmp = base is None
        elif a.startswith("--suffix="):
            pass
        elif a.startswith("-") and len(a) > 1:
            flags = a[1:]
            if all(f in "dqt" for f in flags):
                directory = directory or "d" in flags
                use_tmp = use_tmp or "t" in flags
            else:
                return None
        else:
            template = a
        i += 1
    tmp = st.get("TMPDIR")
    tmpdir = tmp if isinstance(tmp, str) and tmp.startswith("/") else "/tmp"
    name = (template or "tmp.XXXXXXXXXX").replace("X", "G")
    if base is not None:
        folder = base if base.startswith("/") else (os.path.join(st.cwd, base) if st.cwd else None)
    elif use_tmp or template is None:
        folder = tmpdir
    elif "/" in name:
        folder = st.cwd if not name.startswith("/") else ""
    else:
        folder = st.cwd
    if folder is None:
        return None
    path = os.path.normpath(os.path.join(folder, name) if folder else name)
    if not path.startswith("/"):
        return None
    st.fs.create(path)
    if not directory:
        st.fs.files[path] = ""
    return path


# --- small helpers ----------------------------------------------------------------------------

def _program_of(node: T.Simple) -> str | None:
    for tok in node.tokens:
        if tok.kind == "word" and ("=" not in tok.raw or assignment_end(tok.raw) <= 0):
            value = tok.word.value if tok.word is not None else tok.raw
            return value.rsplit("/", 1)[-1]
    return None


def _redirect_target_raw(raw: str, op: str) -> str | None:
    i = 0
    while i < len(raw) and raw[i].isdigit():
        i += 1
    if not raw.startswith(op, i):
        return None
    return raw[i + len(op):].lstrip(" \t")


def _subs_in(raw: str) -> list[str]:
    from guardsh.engine.scan import find_subs

    try:
        return find_subs(raw)
    except LexError:
        return [raw]


def _subs_of(command: Command) -> list[str]:
    from guardsh.engine.scan import find_subs

    subs: list[str] = []
    for wd in command.words:
        subs.extend(wd.subs)
    for _name, wd in command.assignments:
        subs.extend(wd.subs)
    for r in command.redirects:
        if r.target is not None:
            subs.extend(r.target.subs)
        if r.heredoc is not None and not r.heredoc_quoted and r.op != "<<<":
            try:
                subs.extend(find_subs(r.heredoc))
            except LexError:
                subs.append(r.heredoc)
    return subs


def _join(a: State | None, b: State | None) -> State | None:
    """Where two control paths meet (either may be impossible: None)."""
    if a is None or (a.exited and b is not None):
        return b
    if b is None or b is a or b.exited:
        return a
    a.merge(b)
    return a


def _differs(a: State, b: State) -> bool:
    return a.vars != b.vars or a.arrays != b.arrays or a.cwd != b.cwd or a.params != b.params or \
        a.functions.keys() != b.functions.keys() or a.aliases != b.aliases


ASSIGNING = frozenset({"+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "++", "--"})


def _assigned_names(expr: str) -> list[str]:
    names: list[str] = []
    i, n = 0, len(expr)
    while i < n:
        c = expr[i]
        if c.isalpha() or c == "_":
            j = i
            while j < n and (expr[j].isalnum() or expr[j] == "_"):
                j += 1
            name = expr[i:j]
            k = j
            while k < n and expr[k] in " \t":
                k += 1
            after = expr[k:k + 3]
            before = expr[max(0, i - 2):i]
            assigns = (after[:1] == "=" and after[:2] != "==") or after[:2] in ASSIGNING or after in ("<<=", ">>=")
            if assigns or before in ("++", "--"):
                names.append(name)
            i = j
            continue
        i += 1
    return names


def _test_status(words: list[Word], double: bool) -> int | None:
    """The status of ``[ ... ]`` / ``[[ ... ]]`` over known strings (=, ==, !=, -z, -n, one word)."""
    if any(wd.dynamic for wd in words):
        return None
    values = [wd.value for wd in words]
    negate = False
    while values and values[0] == "!":
        negate = not negate
        values = values[1:]
    result: bool | None = None
    if len(values) == 1:
        result = values[0] != ""
    elif len(values) == 2 and values[0] in ("-z", "-n"):
        result = (values[1] == "") == (values[0] == "-z")
    elif len(values) == 3 and values[1] in ("=", "==", "!="):
        if double and words[2].glob:
            same = gmatch(values[2], values[0])
        else:
            same = values[0] == values[2]
        result = same == (values[1] != "!=")
    elif len(values) == 3 and values[1] in ("-eq", "-ne", "-lt", "-le", "-gt", "-ge"):
        try:
            a, b = int(values[0]), int(values[2])
        except ValueError:
            return None
        result = {"-eq": a == b, "-ne": a != b, "-lt": a < b, "-le": a <= b, "-gt": a > b, "-ge": a >= b}[values[1]]
    if result is None:
        return None
    return 0 if result != negate else 1
