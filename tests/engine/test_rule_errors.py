"""A bad rule file is an error that names the file, the line, the rule and the key."""
from __future__ import annotations

from pathlib import Path

import pytest

from guardsh.engine.rules import load_rules
from guardsh.engine.yamlfile import RuleError

GOOD = """\
rules:
  - id: demo-rm
    risk: destructive
    reason: demo
    match: {program: rm}
    examples: {hit: ["rm x"], miss: ["ls"]}
"""


def problems(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "demo.yaml").write_text(text)
    with pytest.raises(RuleError) as err:
        load_rules([str(tmp_path)], use_cache=False)
    return err.value.problems


def test_a_good_file_loads(tmp_path: Path) -> None:
    (tmp_path / "demo.yaml").write_text(GOOD)
    assert [r["id"] for r in load_rules([str(tmp_path)], use_cache=False).rules] == ["demo-rm"]


@pytest.mark.parametrize("change, line, key, words", [
    (("risk: destructive", "risk: dangerous"), 3, "risk", "dangerous"),
    (("match: {program: rm}", "match: {program: rm, colour: red}"), 5, "match.colour", "unknown"),
    (("match: {program: rm}", "match: {program: rm, paths: [nowhere]}"), 5, "match.paths", "unknown path class"),
    (("match: {program: rm}", "match: {program: rm, paths: [recoverable]}"), 5, "match.paths", "only for all_paths"),
    (("    reason: demo\n", "    reason: demo\n    colour: red\n"), 5, "colour", "unknown key"),
    (("examples: {hit: [\"rm x\"], miss: [\"ls\"]}", "examples: {hit: [\"ls\"], miss: [\"ls\"]}"), 0, None, "ls"),
])
def test_errors_name_file_line_rule_and_key(tmp_path: Path, change: tuple[str, str], line: int, key: str | None,
                                            words: str) -> None:
    found = problems(tmp_path, GOOD.replace(*change))
    assert len(found) == 1, found
    text = found[0]
    assert "demo.yaml" in text or "demo-rm" in text, text
    if line:
        assert f"demo.yaml:{line}" in text, text
    assert "demo-rm" in text, text
    if key:
        assert f"key {key!r}" in text, text
    assert words in text, text


def test_a_rule_without_examples_does_not_load(tmp_path: Path) -> None:
    found = problems(tmp_path, GOOD.replace('    examples: {hit: ["rm x"], miss: ["ls"]}\n', ""))
    assert any("demo-rm" in p and "example" in p for p in found), found


def test_yaml_syntax_errors_name_the_line(tmp_path: Path) -> None:
    found = problems(tmp_path, GOOD.replace("    risk: destructive", "    risk: [destructive"))
    assert any("demo.yaml" in p for p in found), found
