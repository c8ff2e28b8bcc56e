"""Every rule in the packaged rule files: schema valid, every example behaves."""
from __future__ import annotations

from guardsh.engine.examples import check_examples
from guardsh.engine.ruleset import RuleSet


def test_rules_load_and_every_rule_has_examples(ruleset: RuleSet) -> None:
    assert ruleset.rules
    for rule in ruleset.rules:
        assert rule["hit"] and rule["miss"], rule["id"]


def test_every_example_behaves(ruleset: RuleSet) -> None:
    assert check_examples(ruleset) == []
