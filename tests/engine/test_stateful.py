"""The annotated corpus of stateful cases (tests/corpus/stateful.yaml, issue 12), each classified
in a real project directory, as ``guardsh -c`` classifies: the exact environment is known."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from guardsh.engine.classify import Classifier
from guardsh.engine.config import Config
from guardsh.engine.context import Context
from guardsh.engine.rules import RuleSet

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "stateful.yaml"
ENTRIES: list[dict[str, Any]] = yaml.safe_load(CORPUS.read_text())
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e",
           "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}


def project(home: Path, files: dict[str, str]) -> Path:
    proj = home / "proj"
    (proj / "src").mkdir(parents=True)
    (proj / "build").mkdir()
    (proj / "README.md").write_text("# readme\n")
    (proj / "src" / "app.py").write_text("print('app')\n")
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "init", "-q"], cwd=proj, check=True, env=env)
    subprocess.run(["git", "add", "."], cwd=proj, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "init"], cwd=proj, check=True, env=env)
    (proj / "build" / "out.o").write_text("obj\n")
    (proj / "notes.txt").write_text("untracked notes\n")
    (proj / "src" / "extra.py").write_text("untracked\n")
    for name, content in files.items():
        (proj / name).parent.mkdir(parents=True, exist_ok=True)
        (proj / name).write_text(content)
    return proj


@pytest.fixture(scope="module")
def classifier(ruleset: RuleSet) -> Classifier:
    return Classifier(ruleset, Config())


@pytest.mark.parametrize("entry", ENTRIES, ids=[f"{i}:{e['command'][:40]}" for i, e in enumerate(ENTRIES)])
def test_stateful_case(classifier: Classifier, tmp_path: Path, entry: dict[str, Any]) -> None:
    home = tmp_path / "home"
    proj = project(home, entry.get("files") or {})
    cwd = proj / entry.get("cwd", "")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), **GIT_ENV}
    ctx = Context(str(cwd), env=env, home=str(home))
    ctx.env_complete = not entry.get("login")  # guardsh -c: the environment bash gets is exactly this one
    verdict = classifier.classify(entry["command"], ctx)
    assert verdict.decision.label == entry["expect"], (
        f"{entry['note']}: got {verdict.decision.label} (risk {verdict.risk.label}, parse {verdict.parse}, "
        f"rules {[m.rule for m in verdict.matches]})")


def test_every_entry_is_annotated() -> None:
    for entry in ENTRIES:
        assert entry.get("note") and entry.get("expect") in ("allow", "ask", "deny"), entry
