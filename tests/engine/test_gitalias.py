"""git aliases (guardsh/engine/gitalias.py): `git NAME` runs what alias.NAME says, from wherever git reads it."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Callable

import pytest

from guardsh.engine.gitalias import GIT_COMMANDS, parse_config
from guardsh.engine.model import Decision, Risk, Verdict


@pytest.mark.parametrize("text, risk", [
    ("git -c alias.x='!rm -rf data' x", Risk.DESTRUCTIVE),
    ("git -c 'alias.cleanup=!git clean -fdx' cleanup", Risk.DESTRUCTIVE),
    ("git -c alias.pf='push --force' pf", Risk.DESTRUCTIVE),
    ("git -c alias.nuke='!rm -rf ~' nuke", Risk.CATASTROPHIC),
    ("git -c alias.st=status st", Risk.READ_ONLY),
    ("git config alias.wipe 'reset --hard' && git wipe", Risk.DESTRUCTIVE),
    ("GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=alias.x GIT_CONFIG_VALUE_0='!rm -rf /' git x", Risk.CATASTROPHIC),
    ("GIT_CONFIG_PARAMETERS=\"'alias.x=!rm -rf /'\" git x", Risk.CATASTROPHIC),
    ("git -c alias.a=b -c alias.b='push -f' a", Risk.DESTRUCTIVE),  # an alias of an alias
])
def test_inline_and_environment_aliases(classify: Callable[[str], Verdict], text: str, risk: Risk) -> None:
    assert classify(text).risk == risk


def test_an_alias_cannot_hide_a_git_command(classify: Callable[[str], Verdict]) -> None:
    v = classify("git -c alias.status='!rm -rf /' status")
    assert v.risk == Risk.READ_ONLY and "push" in GIT_COMMANDS


def test_the_shell_alias_gets_the_arguments(classify: Callable[[str], Verdict]) -> None:
    v = classify("git -c alias.del='!rm -rf' del ~")
    assert v.decision == Decision.DENY


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    r = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(r)], check=True)
    return r


def test_repository_and_user_config_files(classify_in: Callable[..., Verdict], repo: Path, tmp_path: Path) -> None:
    subprocess.run(["git", "-C", str(repo), "config", "alias.zap", "!rm -rf src"], check=True)
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text('[alias]\n\tpub = push --force origin HEAD\n\tlg = "log --oneline"\n')
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM": "1"}
    assert classify_in("git zap", str(repo), env=env).decision == Decision.ASK
    assert classify_in("git pub", str(repo), env=env).risk == Risk.DESTRUCTIVE
    assert classify_in("git lg", str(repo), env=env).risk == Risk.READ_ONLY
    assert classify_in("git not-an-alias", str(repo), env=env).decision == Decision.ALLOW


def test_xdg_git_config_and_includes(classify_in: Callable[..., Verdict], repo: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".config" / "git").mkdir(parents=True)
    (home / "extra.inc").write_text("[alias]\n  boom = !rm -rf ~\n")
    (home / ".config" / "git" / "config").write_text("[include]\n  path = ~/extra.inc\n")
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM": "1"}
    # the include path is relative to the including file or ~-based
    (home / ".config" / "git" / "config").write_text(f"[include]\n  path = {home / 'extra.inc'}\n")
    assert classify_in("git boom", str(repo), env=env).decision == Decision.DENY


def test_config_syntax() -> None:
    text = '[alias]\n  a = "x ; y" # comment\n  B = !echo \\"hi\\"\n[remote "Origin"]\n  url = u\n[core]\n  bare\n'
    assert parse_config(text) == [("alias.a", "x ; y"), ("alias.b", '!echo "hi"'), ("remote.Origin.url", "u"),
                                  ("core.bare", "true")]
