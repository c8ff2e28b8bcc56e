"""``guardsh audit``: the jsonl contract, formats, exit statuses, parallel order, colour."""
from __future__ import annotations

import csv
import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from guardsh.audit import trail
from guardsh.audit.dryrun import PARALLEL_MIN, DryRun, run
from guardsh.audit.inputs import Entry, read_input
from guardsh.engine.classify import Classifier
from guardsh.engine.config import Config
from guardsh.engine.context import Context

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "commands.txt"
ALL_FIXTURES = sorted(p.name for p in FIXTURES.iterdir())
Run = Callable[..., "subprocess.CompletedProcess[bytes]"]


def audit_cmd(run_guardsh: Run, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return run_guardsh("audit", *args, input=input, cwd=str(FIXTURES))


def jsonl(out: bytes) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.decode().splitlines()]


CHECK_ALL = r"""
import io, json, sys
from contextlib import redirect_stdout
from guardsh.cli.check import main
for item in json.load(sys.stdin):
    buf = io.StringIO()
    with redirect_stdout(buf):
        main(["--json", "--cwd", item["cwd"], "--", item["command"]])
    print(buf.getvalue().strip())
"""


def test_jsonl_is_check_json_plus_source_and_line(run_guardsh: Run, guardsh_env: dict[str, str]) -> None:
    out = audit_cmd(run_guardsh, "--format", "jsonl", *ALL_FIXTURES)
    assert out.returncode == 3  # the fixtures hold malformed lines on purpose
    rows = jsonl(out.stdout)
    expected_entries = [item for name in ALL_FIXTURES for item in read_input(str(FIXTURES / name))
                        if isinstance(item, Entry)]
    assert [(r["source"], r["line"]) for r in rows] == [(e.source.rsplit("/", 1)[-1], e.line) for e in expected_entries]
    assert all(list(r) == ["command", "decision", "risk", "matches", "parse", "source", "line"] for r in rows)
    # exactly what `guardsh check --json --cwd CWD -- CMD` says, in the same environment
    todo = [{"command": e.command, "cwd": e.cwd or str(FIXTURES)} for e in expected_entries]
    checked = subprocess.run([sys.executable, "-c", CHECK_ALL], input=json.dumps(todo).encode(), env=guardsh_env,
                             cwd=str(FIXTURES), capture_output=True, timeout=120)
    assert checked.returncode == 0, checked.stderr
    for row, line in zip(rows, checked.stdout.decode().splitlines(), strict=True):
        want = json.loads(line)
        assert {k: v for k, v in row.items() if k not in ("source", "line")} == want


def test_malformed_lines_are_reported_and_skipped(run_guardsh: Run) -> None:
    out = audit_cmd(run_guardsh, "--format", "jsonl", "commands.jsonl", "zsh_history")
    assert out.returncode == 3
    err = out.stderr.decode()
    for where in ("commands.jsonl:6:", "commands.jsonl:7:", "commands.jsonl:8:", "commands.jsonl:9:", "zsh_history:7:"):
        assert f"guardsh audit: {where} skipped: " in err
    assert len(jsonl(out.stdout)) == 6 + 7


def test_fail_on(run_guardsh: Run) -> None:
    safe = b"ls -la\ngit status\n"
    assert audit_cmd(run_guardsh, "-f", "jsonl", "--fail-on", "ask", "-", input=safe).returncode == 0
    risky = safe + b"rm -rf ~\n"
    for level in ("destructive", "catastrophic", "ask", "deny"):
        assert audit_cmd(run_guardsh, "-f", "summary", "--fail-on", level, "-", input=risky).returncode == 1, level
    # fail-on wins over skipped lines; errors win over both
    assert audit_cmd(run_guardsh, "-f", "jsonl", "--fail-on", "destructive", "plain.txt").returncode == 1
    missing = audit_cmd(run_guardsh, "-f", "jsonl", "--fail-on", "destructive", "plain.txt", "no-such-file")
    assert missing.returncode == 2 and b"no-such-file: cannot read" in missing.stderr
    bad = audit_cmd(run_guardsh, "--fail-on", "dangerous", "plain.txt")
    assert bad.returncode == 2 and b"unknown level" in bad.stderr


def test_stdin_and_input_format(run_guardsh: Run) -> None:
    data = (FIXTURES / "zsh_history").read_bytes()
    out = audit_cmd(run_guardsh, "-f", "jsonl", "-i", "zsh", "-", input=data)
    rows = jsonl(out.stdout)
    assert rows[2]["command"] == 'for f in *.txt; do\n  wc -l "$f"\ndone' and rows[2]["source"] == "-"
    as_plain = jsonl(audit_cmd(run_guardsh, "-f", "jsonl", "-i", "plain", "-", input=data).stdout)
    assert as_plain[0]["command"] == ": 1714557600:0;cd ~/src/api"


def test_table_and_summary(run_guardsh: Run) -> None:
    out = audit_cmd(run_guardsh, "--format", "table", "plain.txt", "bash_history", "zsh_history")
    text = out.stdout.decode()
    assert "\033[" not in text  # not a terminal: no colour
    assert text.index("DENY · catastrophic") < text.index("ALLOW · read-only")
    assert "×3 rm -rf ~  plain.txt:5" in text  # repeats collapsed, first location shown
    summary = text[text.index("Summary:"):]
    assert "from 3 inputs, 3 malformed lines skipped" in summary
    assert "deny 3" in summary and "rm-protected-path 3" in summary and "top programs" in summary
    only = audit_cmd(run_guardsh, "--format", "summary", "plain.txt").stdout.decode()
    assert only.startswith("Summary: 8 commands from 1 input, 1 malformed line skipped")


def test_csv(run_guardsh: Run) -> None:
    out = audit_cmd(run_guardsh, "--format", "csv", "claude_session.jsonl")
    rows = list(csv.reader(io.StringIO(out.stdout.decode())))
    assert rows[0] == ["source", "line", "decision", "risk", "parse", "rules", "command"]
    assert [r[1] for r in rows[1:]] == ["3", "6", "6", "8"]
    assert rows[3][6].startswith("git add -A &&\n  git commit")


def test_audit_of_guardsh_own_log(run_guardsh: Run, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    for command in ("ls", "rm -rf ~"):
        trail.append(str(log), [("time", "2026-01-01T00:00:00.000Z"), ("cwd", str(tmp_path)),
                                ("command", command), ("decision", "allow")])
    rows = jsonl(run_guardsh("audit", "-f", "jsonl", str(log)).stdout)
    assert [(r["command"], r["decision"]) for r in rows] == [("ls", "allow"), ("rm -rf ~", "deny")]


def test_default_format_is_jsonl_when_piped_and_colour_table_on_a_terminal(guardsh_bin: Path,
                                                                            guardsh_env: dict[str, str]) -> None:
    piped = subprocess.run([str(guardsh_bin), "audit", "plain.txt"], env=guardsh_env, cwd=str(FIXTURES),
                           capture_output=True, timeout=60)
    assert json.loads(piped.stdout.splitlines()[0])["command"] == "ls -la"

    def on_terminal(env: dict[str, str]) -> str:
        master, slave = pty.openpty()
        proc = subprocess.Popen([str(guardsh_bin), "audit", "plain.txt"], env=env, cwd=str(FIXTURES),
                                stdout=slave, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        os.close(master)
        assert proc.wait(timeout=60) == 3
        return b"".join(chunks).decode()

    env = {k: v for k, v in guardsh_env.items() if k != "NO_COLOR"}
    coloured = on_terminal(env)
    assert "DENY · catastrophic" in coloured and "\033[1;31m" in coloured
    plain = on_terminal(dict(env, NO_COLOR="1"))
    assert "DENY · catastrophic" in plain and "\033[" not in plain


def corpus(n: int) -> list[str]:
    if SHARED_CORPUS.exists():
        lines = [x for x in SHARED_CORPUS.read_text(encoding="utf-8").splitlines() if x.strip()]
        if len(lines) >= n:
            return lines[:n]
    verbs = ["ls -la {}", "rm -rf {}", "git -C {} status", "find {} -name '*.log' -delete", "cat {} | grep -c x",
             "cp -r {} /tmp/x", "for f in {}/*; do echo \"$f\"; done", "[[ -d {} ]] && du -sh {}"]
    return [verbs[i % len(verbs)].replace("{}", f"dir{i}") for i in range(n)]


def test_parallel_run_keeps_input_order(ruleset: object, tmp_path: Path) -> None:
    commands = corpus(PARALLEL_MIN + 700)
    commands += commands[:300]  # repeats: served from the cache
    entries = [Entry("c", i + 1, text, str(tmp_path) if i % 3 else None) for i, text in enumerate(commands)]
    serial = [(e.line, r) for e, r in run(DryRun(ruleset, cwd="/home/user/project"), entries, jobs=1)]  # type: ignore[arg-type]
    parallel = [(e.line, r) for e, r in run(DryRun(ruleset, cwd="/home/user/project"), entries, jobs=2)]  # type: ignore[arg-type]
    assert [line for line, _ in parallel] == list(range(1, len(commands) + 1))
    assert parallel == serial
    # the engine's shared contexts and cache give what a fresh classification gives
    classifier = Classifier(ruleset, Config())  # type: ignore[arg-type]
    for (line, result), entry in list(zip(serial, entries))[::11]:
        fresh = classifier.classify(entry.command, Context(entry.cwd or "/home/user/project", Config()))
        assert json.loads(result[0]) == fresh.to_json(), entry.command


def test_skipped_items_reach_the_callback(ruleset: object) -> None:
    items = list(read_input(str(FIXTURES / "commands.jsonl")))
    skipped: list[object] = []
    results = list(run(DryRun(ruleset), items, jobs=1, on_skip=skipped.append))  # type: ignore[arg-type]
    assert len(results) == 6 and [s.line for s in skipped] == [6, 7, 8, 9]  # type: ignore[attr-defined]
