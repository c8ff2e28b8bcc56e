"""Classify: every simple command against the rules, in the context it runs in.

``Classifier.classify`` is the whole pipeline short of running anything: parse, look inside
wrappers, match each simple command's normalised words against the rules, take the
strictest risk, and let the config's policy turn it into a decision.
"""
from __future__ import annotations

from guardsh.engine import fallback, production
from guardsh.engine.config import Config
from guardsh.engine.context import Context
from guardsh.engine.expansion import Expansion, Reader
from guardsh.engine.globs import any_match
from guardsh.engine.match import check
from guardsh.engine.model import Command, Match, Risk, Verdict
from guardsh.engine.ruleset import RuleSet
from guardsh.engine.state import State
from guardsh.engine.unwrap import expand_one
from guardsh.engine.view import View
from guardsh.engine.walk import walk_script

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

CANNOT_ANALYSE = "cannot-analyse"
FORK_BOMB = "fork-bomb"
FORK_BOMB_REASON = ("A function that pipes into itself multiplies processes until the machine "
                    "runs out of them: a fork bomb.")
CANNOT_ANALYSE_SUGGEST = "spell the command out literally (no eval of variables, no pipes into shells), or ask the user to run it"


class Classifier:
    """Rules + config, ready to classify many texts (one per agent command, or a whole log)."""

    def __init__(self, rules: RuleSet, config: Config | None = None) -> None:
        self.rules = rules
        self.config = config or Config()
        disabled = self.config.disabled_rules
        self._disabled = disabled
        self._any_rules: dict[tuple[bool, bool], list[dict[str, Any]]] = {}  # see _rules_on_any
        self._any_of = rules

    def classify(self, text: str, ctx: Context, params: dict[str, str] | None = None,
                 state: State | None = None) -> Verdict:
        """The verdict on one shell text; ``params`` are its positional parameters if known;
        ``state`` the shell's state it starts in (the interactive session's, carried from line
        to line), which the walk changes as bash would."""
        out = Expansion(expand_one, walk_script)
        ctx.forget_disk()
        out.rules = self.rules
        reader = Reader(ctx.cwd, ctx.read_files, ctx.stdin_is_tty, ctx.home)
        if state is None:
            state = initial_state(ctx, params)
        walk_script(text, state, reader, out)
        mode = "opaque" if out.problems else out.mode
        matches: list[Match] = []
        risk = Risk.READ_ONLY
        unknown: list[str] = []
        prod_notes: list[str] = []
        for cmd in out.commands:
            cmd_risk, cmd_matches, known = self.evaluate(cmd, ctx)
            if production.wanted(cmd) and production.RULE_ID not in self._disabled:  # issue 6: production context
                cmd_risk, prod, note = production.escalate(cmd, View(cmd, self.rules.program(cmd.program)), ctx,
                                                           cmd_risk, cmd_matches, cmd.cwd)
                if prod is not None and note is not None:
                    cmd_matches.append(prod)
                    prod_notes.append(note)
            risk = max(risk, cmd_risk)
            matches.extend(cmd_matches)
            if not known:
                unknown.append(cmd.program)
        budget = out.budget
        for at in (budget.fork_bombs if budget is not None else ()):
            matches.append(Match(FORK_BOMB, Risk.CATASTROPHIC, FORK_BOMB_REASON, None, at))
            risk = Risk.CATASTROPHIC
        for reason, at in out.problems:
            matches.append(Match(CANNOT_ANALYSE, Risk.DESTRUCTIVE, reason, CANNOT_ANALYSE_SUGGEST, at))
            risk = max(risk, Risk.DESTRUCTIVE)
        matches = _dedupe(matches)
        decision = self.config.decide(Risk(risk), mode == "opaque", bool(unknown))
        notes = tuple([f"unknown program: {p}" for p in dict.fromkeys(unknown)]) if unknown else ()
        if prod_notes:
            notes += tuple(dict.fromkeys(prod_notes))
        return Verdict(text, decision, Risk(risk), tuple(matches), mode, tuple(out.commands), notes,
                       (text,) + tuple(out.texts))

    def evaluate(self, cmd: Command, ctx: Context) -> tuple[Risk, list[Match], bool]:
        """Risk of one simple command: the strictest matching rule, else the program's default."""
        rules = self.rules
        prog = cmd.program
        spec = rules.program(prog)
        view = View(cmd, spec)
        found: list[Match] = []
        known = True
        program_risk = Risk.READ_ONLY
        if not cmd.words:
            for rule in rules.for_program(""):
                if self._applies(rule, cmd, view, ctx):
                    found.append(_match(rule, cmd))
            if found:
                program_risk = max(m.risk for m in found)
        else:
            if view.help:
                program_risk = Risk.READ_ONLY
            else:
                first = view.positionals[0].value if view.positionals else None
                for rule in rules.for_subcommand(prog, first):
                    if self._applies(rule, cmd, view, ctx):
                        found.append(_match(rule, cmd))
                for rule in rules.glob_for(prog):
                    if self._applies(rule, cmd, view, ctx):
                        found.append(_match(rule, cmd))
                if view.positionals and view.positionals[0].dynamic and prog in rules.with_subcommands:
                    found.append(Match(CANNOT_ANALYSE, Risk.DESTRUCTIVE,
                                       f"the {prog} subcommand is built at run time ({view.positionals[0].value}): "
                                       "guardsh cannot tell which rules apply", CANNOT_ANALYSE_SUGGEST, cmd.text))
                if found:
                    program_risk = max(m.risk for m in found)
                else:
                    default = rules.default_risk(prog)
                    if default is None:
                        known = rules.is_known(prog)
                        default = Risk.REVERSIBLE
                        if not known and rules.fallback and fallback.RULE_ID not in self._disabled:  # issue 13
                            verb = fallback.destruction(cmd, view, rules.fallback)
                            if verb is not None:
                                found.append(verb)
                                default = verb.risk
                    program_risk = default
        on_any = self._rules_on_any(cmd)
        if not on_any:  # (most commands: no redirection, no assignment)
            return Risk(program_risk), found, known
        extra = [_match(rule, cmd) for rule in on_any if self._applies(rule, cmd, view, ctx)]
        risk = max([program_risk] + [m.risk for m in extra])
        return Risk(risk), found + extra, known

    def _rules_on_any(self, cmd: Command) -> list[dict[str, Any]]:
        """The rules on every program that ``_could_apply`` to a command of this shape (with or
        without redirections, with or without assignments), in file order."""
        shape = (bool(cmd.redirects), bool(cmd.assignments))
        found = self._any_rules.get(shape)
        if found is None or self._any_of is not self.rules:
            if self._any_of is not self.rules:
                self._any_rules.clear()
                self._any_of = self.rules
            probe = Command((), cmd.assignments[:1], cmd.redirects[:1])
            found = self._any_rules[shape] = [r for r in self.rules.any_rules if _could_apply(r["match"], probe)]
        return found

    def _applies(self, rule: dict[str, Any], cmd: Command, view: View, ctx: Context) -> bool:
        if rule["id"] in self._disabled:
            return False
        match = rule["match"]
        if not check(match, cmd, view, ctx):
            return False
        skip = len(match.get("subcommand", ()))  # an unless entry reads args after the rule's subcommand
        for cond in rule["unless"]:
            if "program" in cond and not any_match(cond["program"], cmd.program):
                continue  # an unless entry for other programs (the rule's own program is indexed)
            if check(cond, cmd, view, ctx, skip):
                return False
        return True


def _could_apply(match: dict[str, Any], cmd: Command) -> bool:
    """Cheap pre-check for rules on every program: redirection rules need a redirection,
    assignment rules an assignment (most commands have neither)."""
    if not cmd.redirects and ("redirects" in match or "redirect_paths" in match or "all_redirect_paths" in match):
        return False
    return bool(cmd.assignments) or "assigns" not in match


def _match(rule: dict[str, Any], cmd: Command) -> Match:
    at = cmd.text or " ".join(cmd.argv)
    return Match(rule["id"], Risk(rule["risk"]), rule["reason"], rule["suggest"], at)


def _dedupe(matches: list[Match]) -> list[Match]:
    seen: set[tuple[str, str]] = set()
    out: list[Match] = []
    for m in sorted(matches, key=lambda m: -m.risk):
        key = (m.rule, m.at)
        if key not in seen:
            seen.add(key)
            out.append(m)
    return out


def initial_state(ctx: Context, params: dict[str, str] | None = None) -> State:
    """The state a text starts in: the context's cwd and environment, and its positional
    parameters when known (``guardsh -c CMD NAME ARGS``)."""
    positional = None
    if params is not None:
        count = int(params.get("#", "0"))
        positional = [params.get("0", "bash")] + [params.get(str(k), "") for k in range(1, count + 1)]
    return State(ctx.cwd, ctx.env, ctx.home, env_complete=ctx.env_complete, params=positional)


__all__ = ["Classifier", "initial_state"]
