"""The ``selects`` match key: an argument read as the regular expression pkill/killall -r take."""
from __future__ import annotations

import pytest

from guardsh.engine.match import selects

NAMES = ("guardsh",)


@pytest.mark.parametrize("pattern, hit", [
    ("guardsh", True), ("gua", True), ("^g.*h$", True), ("sh$", True), ("[gG]uard", True), ("a|zzz", True),
    ("node", False), ("^sh", False), ("guardsh2", False), ("x{2}", False),
])
def test_a_pattern_selects_what_its_regex_finds(pattern: str, hit: bool) -> None:
    assert selects(pattern, NAMES) is hit


@pytest.mark.parametrize("pattern", ["(", "[a-", "*x", "a{2,1}"])
def test_a_pattern_python_cannot_read_selects_everything(pattern: str) -> None:
    assert selects(pattern, NAMES) is True  # fail closed: guardsh cannot tell what pkill would kill


def test_several_texts() -> None:
    assert selects("daemon run", ("sshd", "python -IS /usr/local/bin/guardsh daemon run"))
    assert not selects("runserver", ("sshd", "python -IS /usr/local/bin/guardsh daemon run"))


def test_whole_text_as_pkill_x_reads_it() -> None:
    assert selects("guardsh", NAMES, whole=True) and selects("g.*h", NAMES, whole=True)
    assert not selects("gua", NAMES, whole=True)
