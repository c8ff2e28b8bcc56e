"""One module knows every path guardsh uses, and honours the XDG base directories everywhere."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from guardsh import paths

HOME = "/home/alice"


def env(**xdg: str) -> dict[str, str]:
    return {"HOME": HOME, **xdg}


def test_defaults_follow_home() -> None:
    e = env()
    assert paths.config_dir(e) == f"{HOME}/.config/guardsh"
    assert paths.config_files(e) == ["/etc/guardsh/config.yaml", f"{HOME}/.config/guardsh/config.yaml"]
    assert paths.rule_dirs(e)[1:] == ["/etc/guardsh/rules.d", f"{HOME}/.config/guardsh/rules.d"]
    assert paths.state_dir(e) == f"{HOME}/.local/state/guardsh"
    assert paths.audit_log(e) == f"{HOME}/.local/state/guardsh/audit.jsonl"
    assert paths.approvals_log(e) == f"{HOME}/.local/state/guardsh/approvals.jsonl"
    assert paths.history_file(e) == f"{HOME}/.local/state/guardsh/history"
    assert paths.cache_dir(e) == f"{HOME}/.cache/guardsh"
    assert paths.rules_cache(e) == f"{HOME}/.cache/guardsh/rules.marshal"
    assert paths.config_cache(e) == f"{HOME}/.cache/guardsh/config.marshal"
    assert paths.wrap_dir("k", e) == f"{HOME}/.cache/guardsh/wrap/k"
    assert paths.install_dir(e) == f"{HOME}/.local/share/guardsh"


def test_xdg_variables_move_each_kind() -> None:
    e = env(XDG_CONFIG_HOME="/x/config", XDG_STATE_HOME="/x/state", XDG_CACHE_HOME="/x/cache")
    assert paths.config_dir(e) == "/x/config/guardsh"
    assert paths.config_files(e)[1] == "/x/config/guardsh/config.yaml"
    assert paths.rule_dirs(e)[2] == "/x/config/guardsh/rules.d"
    assert paths.audit_log(e) == "/x/state/guardsh/audit.jsonl"
    assert paths.approvals_log(e) == "/x/state/guardsh/approvals.jsonl"
    assert paths.rules_cache(e) == "/x/cache/guardsh/rules.marshal"
    assert paths.user_cache_root(e) == "/x/cache"


@pytest.mark.parametrize("value", ["", "relative/dir", "~/config"])
def test_a_value_that_is_not_absolute_is_ignored(value: str) -> None:
    """The XDG specification: relative paths are invalid and are to be ignored."""
    e = env(XDG_CONFIG_HOME=value, XDG_STATE_HOME=value, XDG_CACHE_HOME=value)
    assert paths.config_dir(e) == f"{HOME}/.config/guardsh"
    assert paths.state_dir(e) == f"{HOME}/.local/state/guardsh"
    assert paths.cache_dir(e) == f"{HOME}/.cache/guardsh"


def test_runtime_dir_needs_a_directory_of_our_own(tmp_path: Path) -> None:
    uid = os.getuid()
    assert paths.runtime_dir({"XDG_RUNTIME_DIR": str(tmp_path)}) == str(tmp_path / "guardsh")
    assert paths.runtime_dir({"XDG_RUNTIME_DIR": str(tmp_path / "missing")}) == f"/tmp/guardsh-{uid}"
    assert paths.runtime_dir({}) == f"/tmp/guardsh-{uid}"
    assert paths.runtime_dir({"XDG_RUNTIME_DIR": "relative"}) == f"/tmp/guardsh-{uid}"
    assert paths.agent_socket_dir(1234) == "/tmp/guardsh-requests-1234"


def test_packaged_rules_are_found() -> None:
    assert os.path.isfile(os.path.join(paths.packaged_rules_dir(), "git.yaml"))


def test_own_dirs_cover_every_kind(tmp_path: Path) -> None:
    e = env(XDG_CONFIG_HOME="/x/config", XDG_STATE_HOME="/x/state", XDG_CACHE_HOME="/x/cache",
            XDG_RUNTIME_DIR=str(tmp_path))
    own = paths.own_dirs(e, "~/logs/audit.jsonl")
    for d in ("/x/config/guardsh", f"{HOME}/.config/guardsh", "/x/state/guardsh", "/x/cache/guardsh",
              f"{HOME}/.local/share/guardsh", "/etc/guardsh", str(tmp_path / "guardsh"),
              f"/tmp/guardsh-{os.getuid()}", f"/tmp/guardsh-requests-{os.getuid()}",
              os.path.expanduser("~/logs")):
        assert d in own, d
    assert len(own) == len(set(own))


def test_no_other_module_works_out_an_xdg_directory() -> None:
    """Only paths.py reads the XDG variables (the runtime dir aside, which the socket code names)."""
    package = Path(paths.__file__).parent
    offenders = [str(p.relative_to(package)) for p in package.rglob("*.py")
                 if p.name != "paths.py" and any(v in p.read_text() for v in
                                                 ('"XDG_CONFIG_HOME"', '"XDG_STATE_HOME"', '"XDG_CACHE_HOME"'))]
    assert offenders == []
