"""Check every rule's examples: each ``hit`` must match the rule, each ``miss`` must not.

Examples are classified in a fixed, synthetic context so that they mean the same on every
machine: cwd and workspace ``/home/user/project``, home ``/home/user``, no file is read.
"""
from __future__ import annotations

from guardsh.engine import fallback
from guardsh.engine.classify import Classifier
from guardsh.engine.config import Config
from guardsh.engine.context import Context
from guardsh.engine.model import Verdict
from guardsh.engine.ruleset import RuleSet

EXAMPLE_HOME = "/home/user"
EXAMPLE_CWD = "/home/user/project"
EXAMPLE_ENV = {"HOME": EXAMPLE_HOME, "USER": "user", "PATH": "/usr/local/bin:/usr/bin:/bin"}


def example_context(config: Config | None = None) -> Context:
    return Context(
        EXAMPLE_CWD, config=config, env=EXAMPLE_ENV, home=EXAMPLE_HOME,
        workspace=EXAMPLE_CWD, read_files=False, stdin_is_tty=True,
    )


def check_examples(rules: RuleSet) -> list[str]:
    """Failures as messages naming file, line, rule and example; empty when all behave."""
    classifier = Classifier(rules, Config())
    ctx = example_context()
    failures: list[str] = []
    for rule in rules.rules:
        where = f"{rule['file']}:{rule['line']}: rule {rule['id']}"
        for text in rule["hit"]:
            verdict = classifier.classify(text, ctx)
            ids = [m.rule for m in verdict.matches]
            if rule["id"] not in ids:
                failures.append(f"{where}: examples.hit: {text!r} does not match this rule (matched: {', '.join(ids) or 'nothing'})")
        for text in rule["miss"]:
            verdict = classifier.classify(text, ctx)
            if any(m.rule == rule["id"] for m in verdict.matches):
                failures.append(f"{where}: examples.miss: {text!r} matches this rule but must not")
    for entry in rules.other_examples:
        where = f"{entry['file']}:{entry['line']}: {entry['what']}"
        for expected, texts in ((True, entry["hit"]), (False, entry["miss"])):
            for text in texts:
                if _other_applies(entry["kind"], classifier.classify(text, ctx)) != expected:
                    failures.append(f"{where}: examples.{'hit' if expected else 'miss'}: {text!r} "
                                    f"{'is not' if expected else 'is'} {_other_meaning(entry['kind'])}")
    return failures


def _other_applies(kind: str, verdict: Verdict) -> bool:
    """A runner example hits when a command found inside the runner is classified; an env
    loader's when code from the variable is; the fallback's when its rule matches."""
    if kind == "fallback":
        return any(m.rule == fallback.RULE_ID for m in verdict.matches)
    what, _, name = kind.partition(":")
    if what == "env":
        label = f"{name} for "
        return any(any(v.startswith(label) for v in c.via) for c in verdict.commands) or any(
            name in reason for _, reason, _ in ((m.rule, m.reason, m.at) for m in verdict.matches))
    return any(any(v == name or v.startswith(name + " ") for v in c.via) for c in verdict.commands) or any(
        m.rule == "cannot-analyse" and m.reason.startswith(name) for m in verdict.matches)


def _other_meaning(kind: str) -> str:
    if kind == "fallback":
        return "caught by the destruction-verb fallback"
    what, _, name = kind.partition(":")
    if what == "env":
        return f"read as code that {name} loads"
    return f"a command that {name} runs"
