"""The daemon's answer mirrors guardsh -c: it allows exactly what the Python path runs at once,
in the client's cwd and environment, and falls back for everything else."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from guardsh.daemon import protocol
from guardsh.daemon.answer import ALLOW, FALLBACK, Classifier, Request
from guardsh.engine.config import Config
from guardsh.engine.model import Decision
from guardsh.shell.main import classify_for_shell

REPO = Path(__file__).resolve().parents[2]


def commands() -> list[str]:
    lines = (REPO / "benchmarks" / "corpus.txt").read_text().splitlines()
    return [ln for ln in lines if ln.strip() and not ln.startswith("#") and "<<" not in ln][:400]


@pytest.fixture()
def env(sandbox_home: Path) -> dict[str, str]:
    return {"HOME": str(sandbox_home), "PATH": "/usr/bin:/bin", "XDG_CACHE_HOME": str(sandbox_home / ".cache")}


def test_allows_exactly_what_guardsh_runs_at_once(env: dict[str, str], tmp_path: Path) -> None:
    daemon = Classifier()
    saved = dict(os.environ)
    mismatches = []
    seen = {ALLOW: 0, FALLBACK: 0}
    for text in commands():
        answer = daemon.answer(Request("/usr/local/bin/guardsh", ["-c", text], str(tmp_path), env, False, os.getpid(),
                                       os.getppid()))
        os.environ.clear()
        os.environ.update(env)
        cwd = os.getcwd()
        os.chdir(tmp_path)
        try:
            verdict = classify_for_shell(text, Config(), {"0": "/usr/local/bin/guardsh", "#": "0"}, False,
                                         exact_env=True, rules=daemon.rules())
        finally:
            os.chdir(cwd)
            os.environ.clear()
            os.environ.update(saved)
        expected = ALLOW if verdict is not None and verdict.decision == Decision.ALLOW else FALLBACK
        seen[answer.verdict] += 1
        if answer.verdict != expected:
            mismatches.append((text, answer.verdict, answer.why, expected))
    assert not mismatches, mismatches[:10]
    assert seen[ALLOW] > 200 and seen[FALLBACK] > 10, seen
    assert os.environ == saved and os.getcwd() != str(tmp_path)  # the worker's own state is restored


@pytest.mark.parametrize("name, args, why", [
    ("/x/rm", ["-rf", "/"], "not a shell name"),
    ("/x/guardsh", ["check", "--", "ls"], "not a -c command"),
    ("/x/bash", ["script.sh"], "not a -c command"),
    ("/x/bash", ["--version"], "not a -c command"),
    ("/x/bash", ["-n", "-c", "ls"], "not a -c command"),
])
def test_falls_back_for_other_forms(name: str, args: list[str], why: str, env: dict[str, str], tmp_path: Path) -> None:
    answer = Classifier().answer(Request(name, args, str(tmp_path), env, False, os.getpid(), os.getppid()))
    assert answer.verdict == FALLBACK and answer.why.startswith(why)


def test_missing_cwd_falls_back(env: dict[str, str], tmp_path: Path) -> None:
    answer = Classifier().answer(Request("/x/bash", ["-c", "ls"], str(tmp_path / "gone"), env, False, os.getpid(),
                                         os.getppid()))
    assert answer.verdict == FALLBACK


@pytest.mark.parametrize("payload", [b"", b"q\0", b"x\0n\0/\x000\x000\x000\0", b"q\0n\0relative\x000\x000\x000\0",
                                     b"q\0n\0/\x002\x000\x000\0", b"q\0n\0/\x000\x002\0a\0", b"q\0n\0/\x000\x000\x000"])
def test_malformed_requests_are_rejected(payload: bytes) -> None:
    with pytest.raises(protocol.ProtocolError):
        protocol.parse_request(payload)


def test_request_round_trip() -> None:
    wire = protocol.encode_request("q", "/x/bash", ["-c", "ls é"], "/tmp", True, {"A": "1=2", "B": ""})
    n = protocol.header_length(wire[:8])
    assert protocol.parse_request(wire[8:8 + n]) == ("q", "/x/bash", ["-c", "ls é"], "/tmp", True, {"A": "1=2", "B": ""}, b"")


def test_hook_request_round_trip() -> None:
    wire = protocol.encode_request("h", "/x/guardsh", ["hook", "codex"], "/", False, {}, b'{"a": 1}')
    n = protocol.header_length(wire[:8])
    assert protocol.parse_request(wire[8:8 + n])[-1] == b'{"a": 1}'
