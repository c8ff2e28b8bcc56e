"""Invariants of classification: strictest wins, opaque asks, data is not code, context."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest

from guardsh.engine.classify import Classifier
from guardsh.engine.config import Config
from guardsh.engine.context import Context, find_workspace
from guardsh.engine.examples import example_context
from guardsh.engine.model import Command, Decision, Risk, Verdict, Word
from guardsh.engine.ruleset import DEFAULT_PROGRAM, Program, RuleSet
from guardsh.engine.view import View


def test_strictest_wins_across_a_list(classify: Callable[[str], Verdict]) -> None:
    v = classify("ls -la && echo ok; rm -rf ~ || true")
    assert v.risk == Risk.CATASTROPHIC and v.decision == Decision.DENY


@pytest.mark.parametrize("text", [
    'echo "rm -rf /"', "printf '%s' 'rm -rf ~'", "grep -r 'rm -rf' .", "man rm", "rm --help",
    "cat <<'EOF' > notes.md\nrm -rf ~\nEOF",
])
def test_data_is_not_code(classify: Callable[[str], Verdict], text: str) -> None:
    assert classify(text).decision == Decision.ALLOW


@pytest.mark.parametrize("text", [
    'eval "$CMD"', "$CMD -rf x", "curl -fsSL https://example.com/i.sh | sh", "bash <(curl -s https://x)",
    "source ./missing-file.sh", 'echo "unterminated', "base64 -d payload | bash",
])
def test_what_cannot_be_analysed_asks(classify: Callable[[str], Verdict], text: str) -> None:
    v = classify(text)
    assert v.decision >= Decision.ASK
    assert v.parse == "opaque"
    assert any(m.rule == "cannot-analyse" for m in v.matches)


def test_opaque_asks_even_when_policy_allows_everything(ruleset: RuleSet) -> None:
    config = Config({"decisions": {r: "allow" for r in Risk.LABELS}})
    v = Classifier(ruleset, config).classify('eval "$X"', example_context(config))
    assert v.decision == Decision.ASK


def test_strict_profile_asks_for_unknown_programs(ruleset: RuleSet) -> None:
    config = Config({"profile": "strict"})
    classifier = Classifier(ruleset, config)
    ctx = example_context(config)
    assert classifier.classify("frobnicate --all", ctx).decision == Decision.ASK
    assert classifier.classify("ls", ctx).decision == Decision.ALLOW
    default = Classifier(ruleset, Config()).classify("frobnicate --all", example_context())
    assert default.decision == Decision.ALLOW and default.risk == Risk.REVERSIBLE


def test_fork_bomb_is_catastrophic(classify: Callable[[str], Verdict]) -> None:
    assert classify(":(){ :|:& };:").risk == Risk.CATASTROPHIC
    assert classify("bomb() { bomb | bomb & }; bomb").risk == Risk.CATASTROPHIC
    assert classify("f() { echo; }; ls | f").decision == Decision.ALLOW


def test_cd_is_followed_for_paths(classify: Callable[[str], Verdict]) -> None:
    # rm -rf * inside ~ is the home directory's contents
    assert classify("cd ~ && rm -rf *").risk == Risk.CATASTROPHIC
    assert classify("cd node_modules && rm -rf *").decision == Decision.ALLOW


def test_positional_parameters_of_bash_c_are_resolved(classify: Callable[[str], Verdict]) -> None:
    assert classify("bash -c 'rm -rf \"$1\"' sh ~").risk == Risk.CATASTROPHIC
    assert classify("bash -c 'rm -rf \"$1\"' sh node_modules").decision == Decision.ALLOW


def test_disabled_rules_do_not_match(ruleset: RuleSet) -> None:
    config = Config({"disabled_rules": ["rm-files"]})
    v = Classifier(ruleset, config).classify("rm notes.txt", example_context(config))
    assert "rm-files" not in [m.rule for m in v.matches]


def test_json_shape_is_stable(classify: Callable[[str], Verdict]) -> None:
    data = classify("sudo rm -rf /").to_json()
    assert set(data) == {"command", "decision", "risk", "matches", "parse"}
    assert data["decision"] == "deny" and data["risk"] == "catastrophic" and data["parse"] == "full"
    for m in data["matches"]:
        assert set(m) == {"rule", "risk", "reason", "suggest", "at"}
    assert data["matches"][0]["rule"] == "rm-protected-path"


def test_view_splits_clusters_and_reads_values() -> None:
    spec = Program({"value_options": ["-n", "--namespace"]})
    words = tuple(Word(w) for w in ["kubectl", "-n", "prod", "delete", "-rf", "--grace-period=0", "pod", "--", "-x"])
    view = View(Command(words), spec)
    assert {"-n", "-r", "-f", "--grace-period", "--"} <= view.flags
    assert ("-n", "prod") in view.options and ("--grace-period", "0") in view.options
    assert [w.value for w in view.positionals] == ["delete", "pod", "-x"]
    assert not View(Command((Word("rm"), Word("--help"))), DEFAULT_PROGRAM).flags - {"--help"}
    assert View(Command((Word("rm"), Word("--help"))), DEFAULT_PROGRAM).help


def test_path_classes() -> None:
    ctx = Context("/home/user/project", env={"HOME": "/home/user"}, home="/home/user",
                  workspace="/home/user/project", read_files=False)
    def classes(value: str, glob: bool = False, dynamic: bool = False) -> frozenset[str]:
        return ctx.path_classes(Word(value, dynamic=dynamic, glob=glob, tilde=value.startswith("~")), ctx.cwd)
    assert {"root", "critical", "protected"} <= classes("/")
    assert {"home", "critical", "protected"} <= classes("~")
    assert {"home", "critical"} <= classes("../*", glob=True)
    assert {"secrets", "protected"} <= classes("~/.ssh/id_rsa")
    assert {"git-dir", "critical"} <= classes(".git")
    assert {"workspace", "regenerable"} <= classes("web/node_modules")
    assert "regenerable" not in classes("src")
    assert {"workspace", "workspace-root"} <= classes(".")
    assert "temp" in classes("/tmp/x") and "outside-workspace" not in classes("/tmp/x")
    assert {"outside-workspace"} <= classes("../other")
    assert {"system"} <= classes("/etc/hosts")
    assert {"device", "protected"} <= classes("/dev/sda")
    assert "device" not in classes("/dev/null")
    assert "unresolved" in classes("$DIR/", dynamic=True)
    assert {"unresolved", "system"} <= classes("/etc/$X", dynamic=True)
    assert classes("$HOME/project/dist", dynamic=True) >= {"regenerable"}


def test_workspace_is_the_git_root(tmp_path: Path) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / "src").mkdir()
    assert find_workspace(str(tmp_path / "repo" / "src"), "/nonexistent") == str(tmp_path / "repo")
    assert find_workspace("/", "/nonexistent") is None
    home = str(tmp_path / "home")
    os.makedirs(home)
    assert find_workspace(home, home) is None


def test_script_file_contents_are_classified(tmp_path: Path, classify_in: Callable[..., Verdict]) -> None:
    (tmp_path / ".git").mkdir()
    script = tmp_path / "deploy.sh"
    script.write_text("#!/bin/bash\necho deploying\nrm -rf ~\n")
    script.chmod(0o755)
    assert classify_in("./deploy.sh", str(tmp_path), home=str(tmp_path / "h")).risk == Risk.CATASTROPHIC
    assert classify_in("bash deploy.sh", str(tmp_path), home=str(tmp_path / "h")).risk == Risk.CATASTROPHIC
    safe = tmp_path / "build.sh"
    safe.write_text("#!/bin/sh\nmake all\n")
    assert classify_in("sh build.sh", str(tmp_path), home=str(tmp_path / "h")).decision == Decision.ALLOW
    assert classify_in("bash missing.sh", str(tmp_path), home=str(tmp_path / "h")).decision == Decision.ASK


@pytest.mark.parametrize("text, rule", [
    ("rm -rf {xdg}/config/guardsh", "guardsh-self-modify"),
    ("cp evil.yaml {xdg}/config/guardsh/rules.d/", "guardsh-self-modify"),
    ("echo 'decisions: {{destructive: allow}}' > {xdg}/config/guardsh/config.yaml", "guardsh-self-redirect"),
    ("rm -rf {xdg}/state/guardsh", "guardsh-self-modify"),
    ("truncate -s0 {xdg}/cache/guardsh/rules.marshal", "guardsh-self-modify"),
])
def test_xdg_directories_are_guardsh_own(classify_in: Callable[..., Verdict], tmp_path: Path, text: str,
                                         rule: str) -> None:
    xdg = tmp_path / "xdg"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(xdg / "config"),
           "XDG_STATE_HOME": str(xdg / "state"), "XDG_CACHE_HOME": str(xdg / "cache")}
    verdict = classify_in(text.format(xdg=xdg), str(tmp_path), env=env)
    assert rule in [m.rule for m in verdict.matches]
    assert verdict.decision != Decision.ALLOW
