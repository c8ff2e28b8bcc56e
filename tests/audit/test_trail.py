"""The audit trail: hand-written JSON, the hash chain, verification, concurrency, the shell's records."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from guardsh.audit import trail
from guardsh.audit.logcmd import first_program, parse_since
from guardsh.audit.logcmd import main as log_main
from guardsh.audit.verify import verify
from guardsh.engine.config import Config, ConfigError, validate
from guardsh.hashing import sha256_hex

REPO = Path(__file__).resolve().parents[2]


# --- JSON by hand ----------------------------------------------------------------------------

STRINGS = [
    "", "ls -la", 'echo "quoted"', "back\\slash", "tab\there", "new\nline", "cr\rlf", "\x00\x01\x1f\x7f",
    "\b\f", "café ünïcødé 日本語 🙂", "lone \udc80 surrogate", "\ud800", "\u2028\u2029", "</script>", "a'b",
    "$(rm -rf /) `id` ${HOME}", "\\u0041 is not an escape here",
]


@pytest.mark.parametrize("text", STRINGS)
def test_json_str_round_trips(text: str) -> None:
    encoded = trail.json_str(text)
    assert json.loads(encoded) == text
    encoded.encode("utf-8")  # always writable as UTF-8, even with lone surrogates


def test_encode_fields_is_valid_json() -> None:
    fields = [("command", 'rm -rf "$x"\n'), ("uid", 0), ("exit", None), ("ok", True), ("no", False),
              ("rules", ["a", "b\"c"]), ("empty", []), ("duration_ms", 12.5), ("odd key\n", "v")]
    body = trail.encode_fields(fields) + "}"
    assert json.loads(body) == dict(fields)
    with pytest.raises(TypeError):
        trail.encode_fields([("x", {"nested": 1})])


# --- the chain ---------------------------------------------------------------------------------

def write_log(path: Path, n: int) -> list[bytes]:
    for i in range(1, n + 1):
        trail.append(str(path), [("time", f"2026-01-01T00:00:{i:02d}.000Z"), ("command", f"echo {i}"),
                                 ("cwd", "/srv"), ("decision", "allow"), ("risk", "read-only")])
    return path.read_bytes().splitlines(keepends=True)


def problems(path: Path) -> list[tuple[int | None, str]]:
    return verify(str(path)).problems


def test_append_builds_a_chain(tmp_path: Path) -> None:
    log = tmp_path / "state" / "guardsh" / "audit.jsonl"  # directories are created
    lines = write_log(log, 3)
    records = [json.loads(line) for line in lines]
    assert [r["seq"] for r in records] == [1, 2, 3]
    assert records[0]["prev"] == trail.GENESIS
    assert records[1]["prev"] == records[0]["hash"] and records[2]["prev"] == records[1]["hash"]
    assert list(records[0])[-3:] == ["seq", "prev", "hash"]
    for line, record in zip(lines, records):
        hashed, stored = trail.record_hash(line.rstrip(b"\n"))
        assert stored == record["hash"] == sha256_hex(hashed)
    head = (tmp_path / "state" / "guardsh" / "audit.jsonl.head").read_text().split()
    assert head == ["3", str(log.stat().st_size), records[2]["hash"]]
    assert oct(log.stat().st_mode & 0o777) == "0o600"
    result = verify(str(log))
    assert result.ok and result.records == 3 and (result.first_seq, result.last_seq) == (1, 3)


def test_verify_catches_an_edit(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    lines = write_log(log, 5)
    lines[2] = lines[2].replace(b"echo 3", b"echo X")
    log.write_bytes(b"".join(lines))
    assert problems(log) == [(3, "record 3 was edited: its content no longer matches its hash")]


def test_verify_catches_an_edit_with_a_recomputed_hash(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    lines = write_log(log, 5)
    body, _ = trail.record_hash(lines[2].rstrip(b"\n").replace(b"echo 3", b"echo X"))
    lines[2] = body + b',"hash":"' + sha256_hex(body).encode() + b'"}\n'
    log.write_bytes(b"".join(lines))
    found = problems(log)
    assert found[0][0] == 4 and "not linked to the record before it (line 3)" in found[0][1]


def test_verify_catches_a_deletion(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    lines = write_log(log, 6)
    del lines[2:4]
    log.write_bytes(b"".join(lines))
    assert problems(log)[0] == (3, "2 records missing before this line (records 3–4 removed)")


def test_verify_catches_reordering(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    lines = write_log(log, 5)
    lines[1], lines[2] = lines[2], lines[1]
    log.write_bytes(b"".join(lines))
    found = problems(log)
    assert found and all(line in (2, 3, 4) for line, _ in found)
    assert any("out of order" in message for _, message in found)


def test_verify_catches_truncation(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    lines = write_log(log, 6)
    log.write_bytes(b"".join(lines[:4]))
    found = problems(log)
    assert len(found) == 1 and found[0][0] is None
    assert "truncated" in found[0][1] and "2 records were removed from the end" in found[0][1]


def test_verify_catches_truncation_mid_record(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    lines = write_log(log, 4)
    log.write_bytes(b"".join(lines)[:-40])
    found = problems(log)
    assert found[0][0] == 4 and "incomplete last line" in found[0][1]
    assert found[-1][0] is None and "1 record was removed from the end" in found[-1][1]


def test_verify_catches_removal_from_the_start_and_copies(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    lines = write_log(log, 4)
    log.write_bytes(b"".join(lines[2:]))
    assert problems(log) == [(1, "the log starts at record 3: 2 earlier records are missing (removed from the start)")]
    log.write_bytes(b"".join(lines[:3] + [lines[1]] + lines[3:]))
    found = problems(log)
    assert (4, "record 2 is a copy of the record on line 2") in found


def test_verify_needs_the_head_file(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    write_log(log, 2)
    (tmp_path / "audit.jsonl.head").unlink()
    found = problems(log)
    assert len(found) == 1 and "head file" in found[0][1]


def test_verify_reports_garbage_lines(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    lines = write_log(log, 3)
    lines.insert(1, b"{not json\n")
    lines.insert(2, b'{"command": "ls"}\n')
    log.write_bytes(b"".join(lines))
    found = problems(log)
    assert found[0] == (2, "not a valid record (broken JSON): the line was edited or damaged")
    assert found[1] == (3, "not an audit record (no seq, prev and hash at its end)")


def test_appending_after_truncation_keeps_the_evidence(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    lines = write_log(log, 5)
    log.write_bytes(b"".join(lines[:3]))
    seq, _ = trail.append(str(log), [("command", "next")])
    assert seq == 6  # numbering continues from what was written, not from what is left
    found = problems(log)
    assert found == [(4, "2 records missing before this line (records 4–5 removed)")]


def test_a_crash_between_log_and_head_is_recovered(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    write_log(log, 2)
    head = tmp_path / "audit.jsonl.head"
    old_head = head.read_bytes()
    trail.append(str(log), [("command", "three")])
    head.write_bytes(old_head)  # as if guardsh died after writing the record, before the head
    seq, _ = trail.append(str(log), [("command", "four")])
    assert seq == 4
    assert verify(str(log)).ok


def test_a_cut_short_line_is_left_visible(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    write_log(log, 2)
    with log.open("ab") as f:
        f.write(b'{"time":"2026-01-01T00:00:09.000Z","comm')
    trail.append(str(log), [("command", "after")])
    found = problems(log)
    assert found == [(3, "not a valid record (broken JSON): the line was edited or damaged")]
    assert json.loads(log.read_bytes().splitlines()[-1])["seq"] == 3


def test_write_failure_is_an_audit_error(tmp_path: Path) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    log = tmp_path / "audit.jsonl"
    log.symlink_to("/dev/full")
    with pytest.raises(trail.AuditError, match="No space left on device"):
        trail.append(str(log), [("command", "ls")])
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(trail.AuditError, match="cannot open the audit log"):
        trail.append(str(blocker / "audit.jsonl"), [("command", "ls")])


WRITER = r"""
import sys
from guardsh.audit import trail
path, ident, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
print("ready", flush=True)
sys.stdin.readline()
for i in range(n):
    trail.append(path, [("writer", ident), ("i", i), ("command", "echo " + "x" * (i % 300))])
print("done", flush=True)
"""


def test_concurrent_writers_keep_one_chain(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    writers, per_writer = 20, 500
    trail.append(str(log), [("writer", "start"), ("i", 0), ("command", "true")])
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(log), str(k), str(per_writer)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=str(REPO), text=True)
             for k in range(writers)]
    try:
        for p in procs:  # every writer is started and waiting before any writes
            assert p.stdout is not None and p.stdout.readline() == "ready\n"
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        for _ in range(3):  # checking while the writers append: what was complete is intact
            during = verify(str(log))
            assert during.ok, during.problems[:5]
        for p in procs:
            assert p.stdout is not None and p.stdout.readline() == "done\n"
            assert p.wait(timeout=60) == 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    result = verify(str(log))
    assert result.ok, result.problems[:5]
    assert result.records == writers * per_writer + 1 and result.last_seq == writers * per_writer + 1
    seen: dict[str, list[int]] = {}
    for line in log.read_bytes().splitlines()[1:]:
        record = json.loads(line)
        seen.setdefault(record["writer"], []).append(record["i"])
    assert all(seen[str(k)] == list(range(per_writer)) for k in range(writers))


# --- where the log is, and the invocation record -----------------------------------------

def test_log_location() -> None:
    assert trail.default_path({"XDG_STATE_HOME": "/x/state", "HOME": "/home/u"}) == "/x/state/guardsh/audit.jsonl"
    assert trail.default_path({"HOME": "/home/u"}) == "/home/u/.local/state/guardsh/audit.jsonl"
    assert trail.default_path({"XDG_STATE_HOME": "relative", "HOME": "/home/u"}) == "/home/u/.local/state/guardsh/audit.jsonl"
    config = Config({"audit_log": "/var/log/guardsh/agents.jsonl"})
    assert trail.log_path(config, {"HOME": "/home/u"}) == "/var/log/guardsh/agents.jsonl"
    assert trail.log_path(Config({"audit_log": "~/a.jsonl"})) == os.path.expanduser("~/a.jsonl")


@pytest.mark.parametrize("value", ["relative/path.jsonl", 3, "/var/log/guardsh/", ["/a"]])
def test_config_rejects_a_bad_audit_log(value: object) -> None:
    with pytest.raises(ConfigError, match="audit_log"):
        validate("config.yaml", {"audit_log": value})
    assert validate("config.yaml", {"audit_log": "~/logs/audit.jsonl"}) == {"audit_log": "~/logs/audit.jsonl"}


def test_invocation_fields(classify: Callable[[str], object], tmp_path: Path) -> None:
    verdict = classify("rm -rf ~")
    env = {"CLAUDECODE": "1", "GUARDSH_SESSION": "s-42", "XDG_STATE_HOME": str(tmp_path)}
    fields = trail.invocation_fields("rm -rf ~", verdict, "refused", cwd="/home/user/project",  # type: ignore[arg-type]
                                     exit_status=126, env=env, now=1767225600.25)
    record = json.loads(trail.encode_fields(fields) + "}")
    assert record["time"] == "2026-01-01T00:00:00.250Z"
    assert record["session"] == "s-42" and record["agent"] == "claude-code"
    assert record["uid"] == os.getuid() and record["pid"] == os.getpid() and record["user"]
    assert record["cwd"] == "/home/user/project" and record["command"] == "rm -rf ~"
    assert (record["decision"], record["risk"], record["outcome"], record["exit"]) == ("deny", "catastrophic", "refused", 126)
    assert "rm-protected-path" in record["rules"] and record["parse"] == "full"
    assert record["duration_ms"] is None and record["approval"] is None


def test_detect_agent() -> None:
    assert trail.detect_agent({"GUARDSH_AGENT": "mybot", "CLAUDECODE": "1"}, "") == "mybot"
    assert trail.detect_agent({"CODEX_SANDBOX_NETWORK_DISABLED": "1"}, "") == "codex"
    assert trail.detect_agent({}, "codex") == "codex"
    assert trail.detect_agent({}, "claude") == "claude"
    assert trail.detect_agent({}, "bash") is None


def test_user_name() -> None:
    assert trail.user_name(0) == "root"
    assert trail.user_name(2**31 - 7) == str(2**31 - 7)


# --- the shell writes one record per invocation -----------------------------------------

@pytest.fixture()
def state_env(guardsh_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    env = dict(guardsh_env)
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    for name in ("GUARDSH_AGENT", "GUARDSH_SESSION", "CLAUDECODE"):
        env.pop(name, None)
    return env


def records_in(env: dict[str, str]) -> list[dict[str, object]]:
    path = Path(env["XDG_STATE_HOME"]) / "guardsh" / "audit.jsonl"
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def test_shell_records_allowed_and_refused_commands(run_guardsh: Callable[..., subprocess.CompletedProcess[bytes]],
                                                    state_env: dict[str, str], tmp_path: Path) -> None:
    ran = run_guardsh("-c", "echo hello", env=state_env, cwd=str(tmp_path))
    assert ran.returncode == 0 and ran.stdout == b"hello\n"
    refused = run_guardsh("-c", "rm -rf ~", env=dict(state_env, GUARDSH_AGENT="test-agent"), cwd=str(tmp_path))
    assert refused.returncode == 126
    first, second = records_in(state_env)
    assert (first["command"], first["decision"], first["outcome"], first["exit"]) == ("echo hello", "allow", "exec", None)
    assert first["cwd"] == str(tmp_path) and first["risk"] == "read-only"
    assert (second["command"], second["decision"], second["outcome"], second["exit"]) == ("rm -rf ~", "deny", "refused", 126)
    assert second["agent"] == "test-agent" and "rm-protected-path" in second["rules"]
    assert first["session"] == second["session"]  # same parent process
    assert verify(str(Path(state_env["XDG_STATE_HOME"]) / "guardsh" / "audit.jsonl")).ok


def test_allowed_path_imports_no_json_hashlib_datetime(state_env: dict[str, str], tmp_path: Path) -> None:
    site = [p for p in sys.path if p.endswith("site-packages")]
    code = (
        f"import sys; sys.path[0:0] = {[str(REPO)] + site!r}\n"
        "from guardsh.shell import main as shell\n"
        "def fake_exec(bash, name, args, texts, stdin_data=None):\n"
        "    print(sorted(m for m in ('json', 'hashlib', 'datetime', 'fcntl') if m in sys.modules)); sys.exit(0)\n"
        "shell.exec_bash = fake_exec\n"
        "shell.run_shell('guardsh', ['-c', 'ls -la | head -3'])\n"
    )
    out = subprocess.run([sys.executable, "-IS", "-c", code], env=state_env, cwd=str(tmp_path),
                         capture_output=True, text=True, timeout=60)
    assert out.stdout == "[]\n", out.stderr
    assert records_in(state_env)[-1]["command"] == "ls -la | head -3"


def broken_log_env(state_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    logdir = Path(state_env["XDG_STATE_HOME"]) / "guardsh"
    logdir.mkdir(parents=True)
    (logdir / "audit.jsonl").symlink_to("/dev/full")  # every write: ENOSPC, a full disk
    return state_env


def test_read_only_commands_run_with_a_warning_when_the_log_is_unwritable(
        run_guardsh: Callable[..., subprocess.CompletedProcess[bytes]], state_env: dict[str, str], tmp_path: Path) -> None:
    env = broken_log_env(state_env, tmp_path)
    out = run_guardsh("-c", "echo still-runs", env=env, cwd=str(tmp_path))
    assert out.returncode == 0 and out.stdout == b"still-runs\n"
    assert b"warning" in out.stderr and b"No space left on device" in out.stderr
    assert b"missing from the audit trail" in out.stderr


def test_destructive_commands_are_refused_when_the_log_is_unwritable(
        run_guardsh: Callable[..., subprocess.CompletedProcess[bytes]], state_env: dict[str, str], tmp_path: Path) -> None:
    env = broken_log_env(state_env, tmp_path)
    home = Path(env["HOME"])
    config = home / ".config" / "guardsh" / "config.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    try:
        config.write_text("decisions: {destructive: allow}\n")  # destructive would run...
        cmd = 'rm -f "$VICTIM"'  # destructive: the path depends on a variable
        out = run_guardsh("-c", cmd, env=dict(env, VICTIM=str(victim)), cwd=str(tmp_path))
        assert out.returncode == 126, out.stderr
        assert victim.exists()  # ...but not while the audit trail cannot be written
        assert b"does not run destructive commands while the audit trail cannot be written" in out.stderr
        # with a working log the same command runs
        env2 = dict(env, XDG_STATE_HOME=str(tmp_path / "ok-state"), VICTIM=str(victim))
        out = run_guardsh("-c", cmd, env=env2, cwd=str(tmp_path))
        assert out.returncode == 0 and not victim.exists()
        assert records_in(env2)[-1]["risk"] == "destructive"
    finally:
        config.unlink()


# --- guardsh log --------------------------------------------------------------------------------

def fill_log(path: Path) -> None:
    rows = [
        ("2026-01-01T10:00:00.000Z", "ls -la", "allow", "read-only", "exec", []),
        ("2026-01-01T10:01:00.000Z", "git push --force", "ask", "destructive", "refused", ["git-push-force"]),
        ("2026-01-01T10:02:00.000Z", "rm -rf ~", "deny", "catastrophic", "refused", ["rm-protected-path", "rm-files"]),
        ("2026-01-02T09:00:00.000Z", "FOO=1 /usr/bin/make test", "allow", "reversible", "exec", []),
    ]
    for when, command, decision, risk, outcome, rules in rows:
        trail.append(str(path), [("time", when), ("session", "s1"), ("agent", "codex"), ("cwd", "/srv"),
                                 ("command", command), ("risk", risk), ("decision", decision), ("rules", rules),
                                 ("outcome", outcome)])


def test_log_show_and_filters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "audit.jsonl"
    fill_log(log)
    assert log_main(["--file", str(log)]) == 0
    out = capsys.readouterr().out
    assert [line.split("$ ", 1)[1] for line in out.splitlines() if "$ " in line] == [
        "ls -la", "git push --force", "rm -rf ~", "FOO=1 /usr/bin/make test"]
    assert "rules: rm-protected-path, rm-files" in out and "\033[" not in out
    assert log_main(["--file", str(log), "--decision", "ask"]) == 0
    assert "git push --force" in capsys.readouterr().out
    assert log_main(["--file", str(log), "--risk", "destructive+", "--json"]) == 0
    shown = [json.loads(line)["command"] for line in capsys.readouterr().out.splitlines()]
    assert shown == ["git push --force", "rm -rf ~"]
    assert log_main(["--file", str(log), "--rule", "rm-*", "-n", "5"]) == 0
    assert "rm -rf ~" in capsys.readouterr().out
    assert log_main(["--file", str(log), "--since", "2026-01-02", "--json"]) == 0
    assert [json.loads(x)["command"] for x in capsys.readouterr().out.splitlines()] == ["FOO=1 /usr/bin/make test"]
    assert log_main(["--file", str(log), "-n", "1", "--json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    assert log_main(["--file", str(tmp_path / "missing.jsonl")]) == 2
    assert "no audit log" in capsys.readouterr().err


def test_log_verify_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "audit.jsonl"
    fill_log(log)
    assert log_main(["verify", "--file", str(log)]) == 0
    assert "intact: 4 records" in capsys.readouterr().out
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(lines[0] + lines[2] + lines[3])
    assert log_main(["verify", "--file", str(log)]) == 1
    out = capsys.readouterr().out
    assert f"{log}:2: 1 record missing before this line (record 2 removed)" in out
    assert "NOT intact" in out


def test_log_stats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "audit.jsonl"
    fill_log(log)
    assert log_main(["stats", "--file", str(log)]) == 0
    out = capsys.readouterr().out
    assert "4 records" in out
    assert "allow 2   ask 1   deny 1" in out
    assert "exec 2   refused 2" in out
    assert "rm-protected-path 1" in out and "make 1" in out and "codex 4" in out


def test_log_path_and_since_parsing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert log_main(["path"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "guardsh" / "audit.jsonl")
    assert parse_since("2h", now=10_000.0) == 10_000.0 - 7200
    assert parse_since("1w", now=1e6) == 1e6 - 7 * 86400
    assert parse_since("2026-01-01T00:00:00Z") == 1767225600.0
    assert log_main(["--file", str(tmp_path / "x"), "--since", "yesterday-ish"]) == 2
    assert "--since" in capsys.readouterr().err


def test_first_program() -> None:
    assert first_program("FOO=1 /usr/bin/make test") == "make"
    assert first_program("git status") == "git"
    assert first_program("") == ""
