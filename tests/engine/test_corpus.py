"""Corpora: real commands (robustness of the parser) and hand-labelled commands (accuracy).

* ``../shared/corpus/commands.txt`` (NL2Bash, unlabelled): nothing may crash, few may be opaque,
  and the lexer's tolerant extractor must agree with the grammar on lists and pipelines wherever both can read a command, and the grammar
  with the real bash (bash -n) on every command with structure.
* ``tests/corpus/tricky.yaml`` (expected decision) and ``tests/corpus/docs.yaml`` (expected risk):
  written without reading the rules, so they measure them.  An entry that fails because its rule
  pack is not written yet stays failing on purpose; only confirmed engine gaps are marked xfail.

Each part is skipped when its file is absent.
"""
from __future__ import annotations

import collections
import subprocess
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from guardsh.engine import tree
from guardsh.engine.extract import extract_tolerant
from guardsh.engine.lex import RESERVED, tokenize
from guardsh.engine.model import Decision, Verdict
from guardsh.engine.scan import LexError

REPO = Path(__file__).resolve().parents[2]
COMMANDS = REPO.parent / "shared" / "corpus" / "commands.txt"
TRICKY = REPO / "tests" / "corpus" / "tricky.yaml"
DOCS = REPO / "tests" / "corpus" / "docs.yaml"

MAX_OPAQUE_FRACTION = 0.05


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _entries(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return [e for e in data if isinstance(e, dict) and isinstance(e.get("command"), str)]


def _params(entries: list[dict[str, Any]], path: Path, gaps: dict[str, str] | None = None) -> list[Any]:
    if not entries:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{path} is absent or empty"), id="absent")]
    params = []
    for i, e in enumerate(entries):
        marks = []
        if gaps and e["command"] in gaps:
            marks.append(pytest.mark.xfail(strict=True, reason=gaps[e["command"]]))
        short = " ".join(e["command"].split())[:60]
        params.append(pytest.param(e, marks=marks, id=f"{i:03d}:{short}"))
    return params


# --- commands.txt: robustness -------------------------------------------------------------

needs_commands = pytest.mark.skipif(not COMMANDS.exists(), reason=f"{COMMANDS} is absent")


@needs_commands
def test_every_corpus_command_is_classified(classify: Callable[[str], Verdict]) -> None:
    counts: collections.Counter[str] = collections.Counter()
    crashes: list[str] = []
    lines = _lines(COMMANDS)
    for line in lines:
        try:
            verdict = classify(line)
        except Exception as e:  # noqa: BLE001 - every crash is reported, with its command
            crashes.append(f"{line!r}: {type(e).__name__}: {e}")
            continue
        counts[verdict.parse] += 1
    summary = (f"{len(lines)} commands: full {counts['full']}, fallback {counts['fallback']}, "
               f"opaque {counts['opaque']}, crashed {len(crashes)}")
    print(summary)
    assert not crashes, "\n".join([summary] + crashes[:20])
    assert counts["opaque"] <= MAX_OPAQUE_FRACTION * len(lines), summary
    assert counts["full"] >= 0.9 * len(lines), summary


def _flat(tokens: list[Any]) -> bool:
    """Only lists and pipelines of simple commands: no reserved word starts a command, no grouping."""
    start = True
    for tok in tokens:
        if tok.kind == "op":
            if tok.raw in ("(", ")", ";;", ";&", ";;&"):
                return False
            start = True
        elif tok.kind == "arith":
            return False
        else:
            if start and tok.kind == "word" and tok.raw in RESERVED and tok.raw != "time":
                return False
            start = False
    return True


@needs_commands
def test_fallback_and_grammar_agree_on_the_corpus() -> None:
    """Where the text is lists and pipelines only, the tolerant extractor (the fallback) and the
    grammar find the same commands."""
    compared = 0
    disagree: list[str] = []
    for line in _lines(COMMANDS):
        try:
            tokens = tokenize(line)
        except LexError:
            continue
        if not _flat(tokens) or any(t.raw == "time" for t in tokens):
            continue  # (the extractor reads the `time` keyword as a word; the grammar as a keyword)
        fast = extract_tolerant(tokens)
        compared += 1
        simple = tree.simple_commands(tree.parse_tokens(tokens))
        if [(c.start, c.end) for c in fast.commands] != [(n.start, n.end) for n in simple]:
            disagree.append(line)
    print(f"fallback and grammar compared on {compared} commands, {len(disagree)} disagree")
    assert compared > 2000
    assert disagree == []


@needs_commands
def test_the_grammar_accepts_what_bash_accepts() -> None:
    """The real bash (bash -n, extglob on as guardsh's lexer reads it) is the oracle: every corpus
    command with structure (the fast path declines it) parses in guardsh's grammar exactly when it
    parses in bash; a text bash rejects falls back to the tolerant extractor."""
    checked = 0
    disagree: list[str] = []
    for line in _lines(COMMANDS):
        try:
            tokens = tokenize(line)
        except LexError:
            continue
        if _flat(tokens):
            continue
        try:
            tree.parse_tokens(tokens)
            ours = True
        except tree.GrammarError:
            ours = False
        theirs = subprocess.run(["bash", "-O", "extglob", "-n", "-c", line], capture_output=True).returncode == 0
        checked += 1
        if ours != theirs:
            disagree.append(f"guardsh {'accepts' if ours else 'rejects'}, bash {'accepts' if theirs else 'rejects'}: "
                            f"{line[:120]}")
    assert checked > 50
    assert disagree == []


# --- tricky.yaml: decisions -----------------------------------------------------------------

# Entries that fail because the engine cannot do what they need, whatever the rules say.
# (Entries waiting for a rule pack - git, kubectl, terraform, aws... - are NOT listed: they fail.)
TRICKY_ENGINE_GAPS = {
    "for b in $(aws s3 ls | awk '{print $3}'); do aws s3 rb \"s3://$b\" --force; done":
        "engine gap: a loop variable does not carry where its values came from ($(aws s3 ls)), so the "
        "bulk-delete rule cannot see that every bucket goes",
    "find . -type d -name node_modules -prune -exec rm -rf {} +":
        "engine gap: find -exec targets are the start paths and everything under them; find's tests "
        "(-name node_modules) do not narrow them, so no rule can see that only regenerable dirs go",
    "echo rm -rf / | sh":
        "engine gap: a pipe into a shell is opaque (ask) even when the feeding command's output is a literal; "
        "deny would need the engine to classify echo's arguments as the shell's script",
}

TRICKY_ENTRIES = _entries(TRICKY)


@pytest.mark.parametrize("entry", _params(TRICKY_ENTRIES, TRICKY, TRICKY_ENGINE_GAPS))
def test_tricky_decision(classify: Callable[[str], Verdict], entry: dict[str, Any]) -> None:
    verdict = classify(entry["command"])
    got = verdict.decision.label
    assert got == entry["expect"], (
        f"expected {entry['expect']}, got {got} (risk {verdict.risk.label}, parse {verdict.parse}, "
        f"rules {[m.rule for m in verdict.matches]}); note: {entry.get('note')}")


def test_tricky_engine_gaps_are_still_in_the_corpus() -> None:
    if not TRICKY_ENTRIES:
        pytest.skip(f"{TRICKY} is absent")
    commands = {e["command"] for e in TRICKY_ENTRIES}
    assert set(TRICKY_ENGINE_GAPS) <= commands, "an xfail above names a command the corpus no longer holds"


# --- docs.yaml: destructive is gated, read-only is not ---------------------------------------

DOCS_ENTRIES = [e for e in _entries(DOCS) if e.get("expect") in ("read-only", "destructive", "catastrophic")]


@pytest.mark.parametrize("entry", _params(DOCS_ENTRIES, DOCS))
def test_docs_risk(classify: Callable[[str], Verdict], entry: dict[str, Any]) -> None:
    verdict = classify(entry["command"])
    detail = (f"labelled {entry['expect']} ({entry.get('tool')}; {entry.get('source')}), got {verdict.decision.label} "
              f"(risk {verdict.risk.label}, parse {verdict.parse}, rules {[m.rule for m in verdict.matches]})")
    if entry["expect"] == "read-only":
        assert verdict.decision == Decision.ALLOW, detail
    else:
        assert verdict.decision >= Decision.ASK, detail
