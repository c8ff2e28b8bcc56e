"""Blast radius: from a classified command, the read-only commands that show what it would do.

Pure, like the rest of the engine: it derives *plans* (plain data) from the verdict's simple
commands and the specs of previews.d/ (see :mod:`guardsh.engine.previewspec`); the preview stage
(:mod:`guardsh.preview`) runs them.  Every derived argv is classified again before it runs
(:func:`read_only_reason`): a preview runs only if guardsh itself finds it read-only.
"""
from __future__ import annotations

import shlex

from guardsh.engine.classify import Classifier
from guardsh.engine.context import Context
from guardsh.engine.globs import any_match
from guardsh.engine.match import check
from guardsh.engine.model import Command, Risk, Verdict, Word
from guardsh.engine.previewsql import sql_plan
from guardsh.engine.view import View

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAX_PLANS = 4  # simple commands previewed per request (the riskiest first)
MAX_EACH = 8  # steps a {each} placeholder expands to


class Unresolved(Exception):
    """A word the preview needs is only known when bash runs (a variable, a command's output)."""


def plan_previews(verdict: Verdict, classifier: Classifier, specs: list[dict[str, Any]], ctx: Context) -> list[dict[str, Any]]:
    """One plan per (risky simple command, matching spec), riskiest commands first."""
    found: list[tuple[int, dict[str, Any]]] = []
    for cmd in verdict.commands:
        if not cmd.words:
            continue
        risk, _matches, _known = classifier.evaluate(cmd, ctx)
        if risk == Risk.READ_ONLY:
            continue
        view = View(cmd, classifier.rules.program(cmd.program))
        for spec in specs:
            if _applies(spec, cmd, view, ctx):
                found.append((-int(risk), derive(spec, cmd, view, classifier, ctx, verdict)))
    found.sort(key=lambda item: item[0])
    return [plan for _risk, plan in found[:MAX_PLANS]]


def _applies(spec: dict[str, Any], cmd: Command, view: View, ctx: Context) -> bool:
    if not any_match(spec["match"]["program"], cmd.program) or not check(spec["match"], cmd, view, ctx):
        return False
    skip = len(spec["match"].get("subcommand", ()))
    return not any(check(cond, cmd, view, ctx, skip) for cond in spec["unless"])


def derive(spec: dict[str, Any], cmd: Command, view: View, classifier: Classifier, ctx: Context,
           verdict: Verdict) -> dict[str, Any]:
    plan: dict[str, Any] = {"command": cmd.text or shlex.join(cmd.argv), "spec": spec["id"], "what": spec["what"],
                            "cwd": cmd.cwd or ctx.cwd, "steps": [], "problem": None, "notes": []}
    if cmd.cwd is None:  # after a cd to a computed directory: previewing here would show the wrong place
        plan["problem"] = "no preview: the directory it runs in is only known when the command runs"
        return plan
    try:
        if "transform" in spec:
            plan["steps"] = [_step(transform(spec["transform"], cmd, view, classifier), "", spec["show"])]
        elif "run" in spec:
            for step in spec["run"]:
                for argv, each in expand_template(step["argv"], cmd, view, spec):
                    plan["steps"].append(_step(argv, step["label"].replace("{each}", each), step["show"]))
        elif spec["local"]["name"] == "sql":
            plan.update(sql_plan(cmd, verdict, classifier))
        else:
            args = [w for argv, _each in expand_template(spec["local"]["args"], cmd, view, spec) for w in argv]
            step = _step(args, "", spec["show"])
            step["kind"], step["name"] = "local", spec["local"]["name"]
            step["flags"] = sorted(view.flags)
            step["prefix"] = _words(_prefix(cmd, view))
            plan["steps"] = [step]
    except Unresolved as e:
        plan["problem"] = f"no preview: {e} is only known when the command runs"
    return plan


def _step(argv: list[tuple[str, bool]], label: str, show: str) -> dict[str, Any]:
    return {"kind": "run", "argv": [w for w, _g in argv], "globs": [i for i, (_w, g) in enumerate(argv) if g],
            "label": label, "show": show}


def describe(step: dict[str, Any]) -> str:
    """A step as one line of text (the form examples are written in)."""
    if step.get("kind") == "local":
        return f"{step['name']}: {shlex.join(step['argv'])}"
    return shlex.join(step["argv"])


# --- words --------------------------------------------------------------------------------------

def _value(word: Word) -> tuple[str, bool]:
    if word.dynamic:
        raise Unresolved(repr(word.value))
    return word.value, word.glob


def _words(words: list[Word]) -> list[tuple[str, bool]]:
    return [_value(w) for w in words]


def _index(cmd: Command, word: Word) -> int:
    return next(i for i, w in enumerate(cmd.words) if w is word)


def _prefix(cmd: Command, view: View) -> list[Word]:
    """The words between the program and its first positional (git -C DIR, terraform -chdir=X)."""
    end = _index(cmd, view.positionals[0]) if view.positionals else len(cmd.words)
    return list(cmd.words[1:end])


def _after_subcommand(view: View, spec: dict[str, Any]) -> list[Word]:
    return list(view.positionals[len(spec["match"].get("subcommand", ())):])


def expand_template(template: list[str], cmd: Command, view: View,
                    spec: dict[str, Any]) -> list[tuple[list[tuple[str, bool]], str]]:
    """The argv(s) a template stands for, each with its ``{each}`` word (one per positional)."""
    args = _after_subcommand(view, spec)
    each = [a for a in args][:MAX_EACH] if any("{each}" in t for t in template) else [None]
    out = []
    for item in each:
        argv: list[tuple[str, bool]] = []
        for t in template:
            if t == "{program}":
                argv.append(_value(cmd.words[0]))
            elif t == "{prefix}":
                argv += _words(_prefix(cmd, view))
            elif t == "{args}":
                argv += _words(args)
            elif t.startswith("{option:") and t.endswith("}"):
                names = t[len("{option:"):-1].split("|")
                value = next((v for n, v in view.options if n in names), None)
                if value is None:
                    raise Unresolved(f"the option {names[0]}")
                argv.append((value, False))
            elif "{each}" in t and item is not None:
                word, glob = _value(item)
                argv.append((t.replace("{each}", word), glob))
            else:
                argv.append((t, False))
        out.append((argv, item.value if item is not None else ""))
    return out


def transform(spec: dict[str, Any], cmd: Command, view: View, classifier: Classifier) -> list[tuple[str, bool]]:
    """The command itself, changed as the spec says (drop, replace, rename, append)."""
    program = classifier.rules.program(cmd.program)
    words = list(cmd.words)
    sub_words = {id(w) for w in view.positionals[:4]}
    out: list[tuple[str, bool]] = [_value(words[0])]
    renamed = False
    i = 1
    ended = False
    while i < len(words):
        word = words[i]
        w = word.value
        i += 1
        if w == "--":
            ended = True
        if not ended and w.startswith("-") and len(w) > 1 and not word.dynamic:
            name = w.partition("=")[0]
            if any_match(spec["drop"], name):
                if "=" not in w and name in program.value_options and name not in program.flag_options and i < len(words):
                    i += 1  # its value goes with it
                continue
            if not w.startswith("--") and not program.single_dash_long and len(w) > 2 and w[1:].isalpha():
                kept = "".join(c for c in w[1:] if not any_match(spec["drop"], "-" + c))
                if not kept:
                    continue
                w = "-" + kept
        if not renamed and id(word) in sub_words and w in spec["rename"]:
            out += [(r, False) for r in spec["rename"][w]]
            renamed = True
            continue
        if w in spec["replace"]:
            out += [(r, False) for r in spec["replace"][w]]
            continue
        out.append((w, word.glob) if w != word.value else _value(word))
    extra = [(a, False) for a in spec["append"]]
    end = next((k for k, (w, _g) in enumerate(out) if w == "--"), len(out))
    return out[:end] + extra + out[end:]


# --- the read-only check --------------------------------------------------------------------------

def read_only_reason(classifier: Classifier, argv: list[str], ctx: Context) -> str | None:
    """None if guardsh classifies ``argv`` (run in ``ctx``) as read-only; else why it will not run."""
    if not argv:
        return "there is no command to run"
    verdict = classifier.classify(shlex.join(argv), ctx)
    if verdict.parse == "opaque":
        return "guardsh cannot analyse it"
    if verdict.risk != Risk.READ_ONLY:
        rules = ", ".join(dict.fromkeys(m.rule for m in verdict.matches)) or "the program's default"
        return f"guardsh classifies it {verdict.risk.label} ({rules}), and previews only read"
    return None


# --- examples ----------------------------------------------------------------------------------------

def check_spec_examples(specs: list[dict[str, Any]], classifier: Classifier, ctx: Context) -> list[str]:
    """Each example must derive exactly its preview, and each derived run step must be read-only."""
    failures = []
    for spec in specs:
        where = f"{spec['file']}:{spec['line']}: preview {spec['id']}"
        for command, want in spec["examples"]:
            verdict = classifier.classify(command, ctx)
            plans = [p for p in plan_previews(verdict, classifier, [spec], ctx) if p["spec"] == spec["id"]]
            if not plans:
                failures.append(f"{where}: example {command!r} derives no preview")
                continue
            plan = plans[0]
            got = plan["problem"] or " ; ".join(describe(s) for s in plan["steps"])
            if got != want:
                failures.append(f"{where}: example {command!r} derives {got!r}, not {want!r}")
            for step in plan["steps"]:
                why = read_only_reason(classifier, step["argv"], ctx) if step["kind"] == "run" else None
                if why:
                    failures.append(f"{where}: example {command!r}: {describe(step)!r} would not run: {why}")
    return failures
