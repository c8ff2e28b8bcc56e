"""Check every rule's examples: each ``hit`` must match the rule, each ``miss`` must not.

Examples are classified in a fixed, synthetic context so that they mean the same on every
machine: cwd and workspace ``/home/user/project``, home ``/home/user``, no file is read.
"""
from __future__ import annotations

from guardsh.engine.classify import Classifier
from guardsh.engine.config import Config
from guardsh.engine.context import Context
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
    return failures
