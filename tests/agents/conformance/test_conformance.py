"""Real agents, really guarded: each pinned client runs a list of everyday commands once with the
real bash and once through guardsh in every mode the README recommends for it.  What the agent
shows its model (output and exit status) must be the same; a destructive command must be refused,
with its target intact and the refusal (quoting the agent's command) in front of the model.

The clients are installed from npm and PyPI on first use into a cache (agentclients.cache_root)
and driven by scripted model servers on 127.0.0.1 inside a network namespace of their own.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from agentclients import CLIENTS, TIMINGS, Client, InstallError

pytestmark = pytest.mark.conformance

EVERYDAY = [
    "ls",
    "cat README.md",
    # the files named in order: a walk of "." follows readdir order, which differs between copies
    "grep -rn TODO README.md src",
    "git status",
    "git diff",
    "git log --oneline",
    "python3 -c 'print(6 * 7)'",
    "touch t.tmp && rm t.tmp && echo removed",
    "cat README.md | wc -l",
    "ls | sort -r | head -n 2",
    "cat <<'EOF'\nline one\nline $HOME\nEOF",
    "false; echo status=$?",
    "sh -c 'exit 7'",
    "echo to-stderr >&2",
    "ls no-such-file",
    "mkdir -p build/out && echo x > build/out/a && rm -rf build && echo cleaned",
    "x=5; echo $((x * 2))",
    "cd src && pwd && ls",
    "cd .. && pwd",
]
# what must be refused: the user's own notes outside the project. (Inside the project guardsh saves
# what a deletion destroys and lets it through, issue 14; outside it, nothing is lowered.)
DESTRUCTIVE = ["find ~/notes -delete", "rm -rf ~/notes"]
REFUSED = "guardsh did not run this command"

MODES = [(name, mode) for name, cls in CLIENTS.items() for mode in cls.modes]
# modes the suite shows do not work yet; strict: they fail the run once they pass
KNOWN_GAPS: dict[tuple[str, str], str] = {
    ("aider-chat", "wrap-no-tty"): "aider's /run without a terminal is /bin/sh -c by its path: only the shimmed "
                                   "tools (rm, git, ...) reach guardsh, and find -delete runs",
}

_baselines: dict[str, list[Any]] = {}


@pytest.fixture(scope="module")
def conformance_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("conformance")


def client_for(name: str, guardsh_bin: Path, base: Path) -> Client:
    client = CLIENTS[name](guardsh_bin, base / name)
    try:
        client.install()
    except InstallError as e:
        if os.environ.get("CI") == "true" and shutil.which("npm"):
            raise
        pytest.skip(f"cannot install {name}: {e}")
    return client


def baseline(client: Client, mode: str) -> list[Any]:
    key = f"{client.name} {client.baseline_mode(mode)}"
    if key not in _baselines:
        run = client.run(client.baseline_mode(mode), EVERYDAY)
        if not run["netns"]:
            pytest.skip("cannot isolate the network here (no network namespace, not even in a user namespace)")
        outputs = client.outputs(run, len(EVERYDAY))
        assert None not in outputs, f"{client.name} with the real bash did not run every command: {run}"
        _baselines[key] = outputs
    return _baselines[key]


@pytest.mark.parametrize(("name", "mode"), MODES, ids=[f"{n}-{m}" for n, m in MODES])
def test_agent_through_guardsh(name: str, mode: str, guardsh_bin: Path, conformance_base: Path,
                               request: pytest.FixtureRequest) -> None:
    if (name, mode) in KNOWN_GAPS:
        request.applymarker(pytest.mark.xfail(reason=KNOWN_GAPS[(name, mode)], strict=True))
    client = client_for(name, guardsh_bin, conformance_base)
    expected = baseline(client, mode)
    started = time.monotonic()
    run = client.run(mode, EVERYDAY + DESTRUCTIVE)
    TIMINGS[f"run {name}-{mode}"] = time.monotonic() - started
    if not run["netns"]:
        pytest.skip("cannot isolate the network here (no network namespace, not even in a user namespace)")
    if run.get("login_shell_kept") is False:
        pytest.fail(f"{name} {mode}: /etc/passwd was replaced during the run (useradd or userdel elsewhere on this "
                    "machine), which drops the jail's bind mount of it: the client ran the real login shell, not "
                    "guardsh. Not a result about guardsh; run it again on a machine where users are not being added")
    got = client.outputs(run, len(EVERYDAY) + len(DESTRUCTIVE))
    for command, want, have in zip(EVERYDAY, expected, got):
        assert client.comparable(have) == client.comparable(want), \
            f"{name} {mode}: {command!r} differs from bash\n bash:    {want!r}\n guardsh: {have!r}"
    assert (client.home / "notes" / "keep.txt").exists(), f"{name} {mode}: a destructive command ran"
    for command, have in zip(DESTRUCTIVE, got[len(EVERYDAY):]):
        text = str(have)
        if name == "codex" and "rm -f style commands are not permitted" in text:
            continue  # Codex refuses rm -rf itself, before any shell or hook
        assert "guardsh approver" in text, f"{name} {mode}: {command!r}: no refusal saying how to get approval: {have!r}"
        if mode != "hook":
            assert REFUSED in text, f"{name} {mode}: {command!r} was not refused by guardsh: {have!r}"
            assert f"needs a human's approval): {command}" in text, \
                f"{name} {mode}: the refusal must quote the agent's command {command!r}: {have!r}"


def test_wrap_tells_codex_users_what_guards_it(guardsh_bin: Path, conformance_base: Path) -> None:
    """The real codex launcher (npm's bin link to codex.js): wrap refuses, naming the modes that work."""
    client = client_for("codex", guardsh_bin, conformance_base)
    r = subprocess.run([str(guardsh_bin), "wrap", "--", client.bin(), "exec", "hi"], capture_output=True, text=True,
                       env=client.prepare(), cwd=client.ws, timeout=60)
    assert r.returncode == 2 and "guardsh hook install codex" in r.stderr and "login shell" in r.stderr
