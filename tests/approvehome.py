"""Shared by the approver tests: a HOME holding test rules, and a fixture that makes it."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

TEST_RULES = """\
rules:
  - id: test-destructive
    risk: destructive
    reason: Test rule; touching a destructive marker stands for a destructive command.
    suggest: touch a-safe-marker
    match: {program: touch, args: ["*destructive*"]}
    examples: {hit: [touch destructive-1], miss: [touch other]}
  - id: test-catastrophic
    risk: catastrophic
    reason: Test rule; touching a catastrophic marker stands for a catastrophic command.
    match: {program: touch, args: ["*catastrophic*"]}
    examples: {hit: [touch catastrophic-1], miss: [touch other]}
"""


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """homes(config_yaml) -> a HOME with the test rules and that config.  One HOME per module,
    so the rule cache is built once; the config is rewritten per test (and its cache dropped)."""
    home = tmp_path_factory.mktemp("approver-home")
    rules = home / ".config" / "guardsh" / "rules.d"
    rules.mkdir(parents=True)
    (rules / "test.yaml").write_text(TEST_RULES)

    def get(config: str = "") -> Path:
        (home / ".config" / "guardsh" / "config.yaml").write_text(config or "{}\n")
        (home / ".cache" / "guardsh" / "config.marshal").unlink(missing_ok=True)
        return home

    return get
