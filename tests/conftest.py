"""Shared fixtures: a real guardsh launcher, isolated HOME and caches, the packaged rules."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from guardsh.engine.classify import Classifier
from guardsh.engine.config import Config
from guardsh.engine.context import Context
from guardsh.engine.examples import example_context
from guardsh.engine.model import Verdict
from guardsh.engine.rules import load_rules, rule_dirs
from guardsh.engine.ruleset import RuleSet

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def ruleset() -> RuleSet:
    """The packaged rules only (no /etc or ~/.config rules), examples checked."""
    return load_rules([rule_dirs()[0]], use_cache=False)


@pytest.fixture(scope="session")
def classify(ruleset: RuleSet) -> Callable[[str], Verdict]:
    """Classify a text in the fixed example context (cwd /home/user/project, no file reads)."""
    classifier = Classifier(ruleset, Config())
    ctx = example_context()

    def run(text: str) -> Verdict:
        return classifier.classify(text, ctx)

    return run


@pytest.fixture(scope="session")
def classify_in(ruleset: RuleSet) -> Callable[..., Verdict]:
    """Classify in a real directory (files are read): classify_in(text, cwd, home=None)."""
    classifier = Classifier(ruleset, Config())

    def run(text: str, cwd: str, home: str | None = None, env: dict[str, str] | None = None) -> Verdict:
        env = dict(env or {"PATH": "/usr/bin:/bin"})
        env.setdefault("HOME", home or "/nonexistent-home")
        return classifier.classify(text, Context(cwd, env=env, home=env["HOME"]))

    return run


@pytest.fixture(scope="session")
def sandbox_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("home")
    (home / ".cache").mkdir()
    return home


@pytest.fixture(scope="session")
def guardsh_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A launcher like install.sh writes (python -IS), running guardsh from this checkout."""
    bindir = tmp_path_factory.mktemp("bin")
    launcher = bindir / "guardsh"
    site = [p for p in sys.path if p.endswith("site-packages")]
    launcher.write_text(
        f"#!{sys.executable} -IS\n"
        "# guardsh-launcher (tests)\n"
        "import sys\n"
        f"sys.path[0:0] = {[str(REPO)] + site!r}\n"
        "from guardsh.cli import main\n"
        "sys.exit(main())\n"
    )
    launcher.chmod(0o755)
    return launcher


@pytest.fixture()
def guardsh_env(sandbox_home: Path) -> dict[str, str]:
    """Environment for running guardsh: isolated HOME and cache, no BASH_ENV."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("BASH_ENV", "ENV", "GUARDSH_NESTED", "XDG_CONFIG_HOME", "XDG_STATE_HOME")}
    env["HOME"] = str(sandbox_home)
    env["XDG_CACHE_HOME"] = str(sandbox_home / ".cache")
    return env


@pytest.fixture()
def run_guardsh(guardsh_bin: Path, guardsh_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[bytes]]:
    """run_guardsh(*args, input=b'', cwd=None, env=None) -> CompletedProcess (bytes)."""

    def run(*args: str, input: bytes | None = None, cwd: str | None = None,
            env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([str(guardsh_bin), *args], input=input, cwd=cwd, env=env or guardsh_env,
                              capture_output=True, timeout=timeout)

    return run


@pytest.fixture()
def gitdir(tmp_path: Path) -> Path:
    """A throwaway git repository (the workspace) holding a file ``f``: `rm -rf .git` and
    `shred f` in it are refused."""
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "f").write_bytes(b"precious\n")
    return repo


@pytest.fixture()
def lowering_off(tmp_path_factory: pytest.TempPathFactory) -> Callable[[dict[str, str]], dict[str, str]]:
    """lowering_off(env) -> env whose config says ``undo: {lower: false}``.  By default a saved local
    deletion in the workspace runs (issue 14); tests about how a refusal reaches the agent use
    this to keep ``rm -rf DIR`` in their workspace a command that asks."""
    xdg = tmp_path_factory.mktemp("xdg-lowering-off")
    (xdg / "guardsh").mkdir()
    (xdg / "guardsh" / "config.yaml").write_text("undo: {lower: false}\n")

    def env_with(env: dict[str, str]) -> dict[str, str]:
        return dict(env, XDG_CONFIG_HOME=str(xdg))

    return env_with
