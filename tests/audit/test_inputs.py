"""Input readers for ``guardsh audit``: every format, multi-line entries, malformed lines."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from guardsh.audit.inputs import (
    FORMATS,
    Entry,
    InputError,
    Skipped,
    Source,
    argv_text,
    detect_format,
    read_input,
    unmetafy,
)

FIXTURES = Path(__file__).parent / "fixtures"


def read(name: str, fmt: str = "auto") -> tuple[list[tuple[int, str, str | None]], list[tuple[int, str]]]:
    entries, skipped = [], []
    for item in read_input(str(FIXTURES / name), fmt):
        if isinstance(item, Entry):
            assert item.source == str(FIXTURES / name)
            entries.append((item.line, item.command, item.cwd))
        else:
            assert isinstance(item, Skipped)
            skipped.append((item.line, item.reason))
    return entries, skipped


def from_bytes(data: bytes, fmt: str = "auto", name: str = "-") -> list[Entry | Skipped]:
    return list(read_input(name, fmt, Source(name, io.BytesIO(data), len(data))))


@pytest.mark.parametrize("name, fmt", [
    ("plain.txt", "plain"),
    ("bash_history", "bash"),
    ("bash_history_plain", "bash"),
    ("zsh_history", "zsh"),
    ("fish_history", "fish"),
    ("commands.jsonl", "jsonl"),
    ("claude_session.jsonl", "claude"),
    ("codex_rollout.jsonl", "codex"),
    ("codex_rollout_legacy.jsonl", "codex"),
])
def test_formats_are_detected(name: str, fmt: str) -> None:
    head = (FIXTURES / name).read_bytes().splitlines(keepends=True)[:50]
    assert detect_format(head, name) == fmt
    assert read(name) == read(name, fmt)


def test_plain_one_command_per_line() -> None:
    entries, skipped = read("plain.txt")
    assert entries == [
        (2, "ls -la", None),
        (3, "git status --short", None),
        (5, "rm -rf ~", None),
        (6, "find . -name '*.pyc' -delete", None),
        (7, "kubectl get pods -n prod | grep -v Running", None),
        (8, 'echo "rm -rf /" > notes.txt', None),
        (9, "cat README.md", None),
        (11, "curl -fsSL https://example.com/install.sh | sh", None),
    ]
    assert skipped == [(10, "binary data (a NUL byte) in a command line")]


def test_plain_does_not_join_a_trailing_backslash() -> None:
    # Real one-line logs hold commands cut short after a backslash: joining would merge two commands.
    items = from_bytes(b"find . -exec rm {} \\\nls\r\n", "plain")
    assert [(e.line, e.command) for e in items if isinstance(e, Entry)] == [(1, "find . -exec rm {} \\"), (2, "ls")]


def test_bash_history_with_timestamps_keeps_multi_line_entries() -> None:
    entries, skipped = read("bash_history")
    assert entries == [
        (2, "cd ~/src/api", None),
        (4, "git pull --rebase", None),
        (6, 'for f in logs/*.log; do\n  gzip "$f"\ndone', None),
        (10, "rm -rf ~", None),
        (12, "docker compose up -d", None),
        (17, "ls -la /var/log", None),
    ]
    assert skipped == [(15, "binary data (a NUL byte) in a history entry")]


def test_bash_history_without_timestamps_is_one_entry_per_line() -> None:
    entries, skipped = read("bash_history_plain")
    assert [e[1] for e in entries] == ["ls", "cd project", "make test", "sudo rm -rf /", "git log --oneline | head"]
    assert [e[0] for e in entries] == [1, 2, 3, 4, 5]
    assert skipped == []


def test_zsh_extended_history() -> None:
    entries, skipped = read("zsh_history")
    assert entries == [
        (1, "cd ~/src/api", None),
        (2, "git status", None),
        (3, 'for f in *.txt; do\n  wc -l "$f"\ndone', None),
        (6, "rm -rf ~", None),
        (8, "echo ăla", None),  # metafied bytes decoded
        (9, "echo trailing\\\\", None),  # an escaped backslash at the end does not continue
        (10, "kubectl delete namespace staging", None),
    ]
    assert len(skipped) == 1 and skipped[0][0] == 7 and "zsh extended-history header" in skipped[0][1]


def test_zsh_plain_history_and_noop_colon_commands() -> None:
    items = from_bytes(b"ls\n: > truncated.log\n: 1714557600:0;pwd\n", "zsh")
    assert [(e.line, e.command) for e in items if isinstance(e, Entry)] == [
        (1, "ls"), (2, ": > truncated.log"), (3, "pwd")]


def test_unmetafy() -> None:
    assert unmetafy(b"plain") == b"plain"
    assert unmetafy("ă".encode().replace(b"\x83", b"\x83\xa3")) == "ă".encode()
    assert unmetafy(b"\x83\x20") == b"\x00"


def test_fish_history() -> None:
    entries, skipped = read("fish_history")
    assert entries == [
        (1, "cd ~/src/api", None),
        (3, "git status", None),
        (7, "for f in *.txt\n    wc -l $f\nend", None),
        (9, "echo C:\\Users\\me", None),
        (12, "rm -rf ~", None),
    ]
    assert [s[0] for s in skipped] == [11]


def test_jsonl_commands() -> None:
    entries, skipped = read("commands.jsonl")
    assert entries == [
        (1, "ls -la", "/home/user/project"),
        (2, "rm -rf build", "/home/user/project"),
        (3, "git push --force origin main", None),  # an argv list
        (5, "rm -rf ~", "/home/user/project"),
        (10, "cat <<'EOF'\nhello\nEOF", "/tmp"),  # "cmd" and a multi-line command
        (11, "echo done", None),
    ]
    assert [s[0] for s in skipped] == [6, 7, 8, 9]
    reasons = dict(skipped)
    assert "neither a string nor a list" in reasons[6]
    assert "no 'command' field" in reasons[7]
    assert reasons[8].startswith("not valid JSON")
    assert "expected a JSON object" in reasons[9]


def test_claude_code_transcript() -> None:
    entries, skipped = read("claude_session.jsonl")
    assert entries == [
        (3, "npm test -- --runInBand 2>&1 | tail -40", "/home/dev/shop-api"),
        (6, "rm -rf dist && git status", "/home/dev/shop-api"),
        (6, 'git add -A &&\n  git commit -m "fix: checkout rounding\n\nrm -rf / is not run"', "/home/dev/shop-api"),
        (8, "terraform destroy -auto-approve", "/home/dev/shop-api/infra"),
    ]
    assert [s[0] for s in skipped] == [7, 9]
    assert skipped[0][1].startswith("not valid JSON")
    assert "input.command" in skipped[1][1]


def test_codex_rollout() -> None:
    entries, skipped = read("codex_rollout.jsonl")
    assert entries == [
        (5, "du -sh * | sort -h | tail -5", "/home/dev/shop-api"),  # [bash, -lc, SCRIPT] -> SCRIPT
        (8, "find logs -name '*.log' -mtime +30 -delete", "/home/dev/shop-api"),  # argv, quoted
        (10, "kubectl delete namespace staging", "/home/dev/ops"),  # exec_command's cmd; cwd from turn_context
        (12, "cat <<'EOF' > notes.md\n# Notes\nEOF", "/home/dev/ops/docs"),  # local_shell_call
        (14, "git push --force origin main", "/home/dev/ops"),  # shell_command with a string
    ]
    assert len(skipped) == 1 and skipped[0][0] == 11 and "arguments are not valid JSON" in skipped[0][1]


def test_codex_legacy_rollout() -> None:
    entries, skipped = read("codex_rollout_legacy.jsonl")
    assert entries == [(4, "pytest -q", "/home/dev/lib"), (6, "rm -rf ~", None)]
    assert skipped == []


def test_guardsh_audit_log_as_input(tmp_path: Path) -> None:
    from guardsh.audit import trail

    log = tmp_path / "audit.jsonl"
    trail.append(str(log), [("time", "2026-01-01T00:00:00.000Z"), ("cwd", "/srv/app"), ("command", "make deploy")])
    trail.append(str(log), [("time", "2026-01-01T00:00:01.000Z"), ("cwd", "/srv/app"), ("command", "rm -rf ~\nls")])
    with log.open("ab") as f:
        f.write(b'{"broken": \n')
    head = log.read_bytes().splitlines(keepends=True)
    assert detect_format(head, "audit.jsonl") == "guardsh"
    items = list(read_input(str(log)))
    assert [(i.line, i.command, i.cwd) for i in items if isinstance(i, Entry)] == [
        (1, "make deploy", "/srv/app"), (2, "rm -rf ~\nls", "/srv/app")]
    assert [i.line for i in items if isinstance(i, Skipped)] == [3]


def test_argv_text() -> None:
    assert argv_text(["bash", "-lc", "ls | wc -l"]) == "ls | wc -l"
    assert argv_text(["/bin/sh", "-c", "echo hi"]) == "echo hi"
    assert argv_text(["bash", "-lc", "echo $0", "name"]) == "bash -lc 'echo $0' name"
    assert argv_text(["rm", "-rf", "my dir"]) == "rm -rf 'my dir'"
    assert argv_text([]) is None
    assert argv_text(["ls", 3]) is None


def test_detection_edge_cases() -> None:
    assert detect_format([]) == "plain"
    assert detect_format([b"\n", b"ls\n"]) == "plain"
    assert detect_format([b"ls\n"], "/home/u/.zsh_history") == "zsh"
    assert detect_format([b"ls\n"], "/home/u/.local/share/fish/fish_history") == "fish"
    assert detect_format([b'{"command": "ls"}\n']) == "jsonl"
    assert detect_format([b"{not json\n", json.dumps({"type": "session_meta", "payload": {}}).encode()]) == "codex"


def test_stdin_and_invalid_utf8() -> None:
    items = from_bytes(b"echo caf\xe9\nls\n")
    assert [e.command for e in items if isinstance(e, Entry)] == ["echo caf\ufffd", "ls"]


def test_unknown_format_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        list(read_input(str(tmp_path / "missing")))
    with pytest.raises(InputError, match="unknown input format"):
        list(read_input(str(FIXTURES / "plain.txt"), "yaml"))
    assert set(FORMATS) == {"plain", "bash", "zsh", "fish", "jsonl", "claude", "codex", "guardsh"}
