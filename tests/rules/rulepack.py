"""Shared pieces of the rule-pack test files (test_rules_<pack>.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import yaml

from guardsh.engine.model import Decision, Verdict

DOCS_MORE = Path(__file__).resolve().parents[1] / "corpus" / "docs_more.yaml"
WANTED = {"read-only": Decision.ALLOW, "reversible": Decision.ALLOW,
          "destructive": Decision.ASK, "catastrophic": Decision.DENY}


def case_ids(cases: list[tuple[str, str]]) -> list[str]:
    return [f"{i:03d}:{' '.join(c.split())[:70]}" for i, (c, _) in enumerate(cases)]


def docs_more(tool: str) -> list[dict[str, str]]:
    """The entries of tests/corpus/docs_more.yaml for one tool (labelled before the rules)."""
    entries = yaml.safe_load(DOCS_MORE.read_text(encoding="utf-8")) or []
    return [e for e in entries if isinstance(e, dict) and e.get("tool") == tool]


def check_docs_entry(classify: Callable[[str], Verdict], entry: dict[str, str]) -> None:
    """Read-only and reversible are allowed, destructive asks, catastrophic is denied."""
    verdict = classify(entry["command"])
    assert verdict.decision == WANTED[entry["expect"]], (entry, verdict.risk.label, [m.rule for m in verdict.matches])
