"""Undo (issue 14) through the real ``guardsh -c`` path: what a command destroys is saved first,
the command runs, ``guardsh undo`` puts back bytes, modes and refs exactly."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Callable

import pytest

Run = Callable[..., subprocess.CompletedProcess[bytes]]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


EDITED = b"print('hi')\n# edited, not committed\n"


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """A git workspace: tracked files with modes and a symlink, one commit."""
    r = tmp_path / "repo"
    (r / "src" / "deep").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(r)], check=True)
    git(r, "config", "user.email", "t@example.com")
    git(r, "config", "user.name", "t")
    (r / "src" / "main.py").write_bytes(b"print('hi')\n")
    (r / "src" / "run.sh").write_bytes(b"#!/bin/sh\necho run\n")
    (r / "src" / "run.sh").chmod(0o750)
    (r / "src" / "deep" / "blob.bin").write_bytes(bytes(range(256)) * 40)
    (r / "src" / "deep" / "blob.bin").chmod(0o600)
    (r / "src" / "link").symlink_to("main.py")
    (r / "src" / "empty").mkdir()
    (r / ".gitignore").write_text(".env\nbuild/\n")
    git(r, "add", "-A")
    git(r, "commit", "-qm", "init")
    # An edit not committed: git cannot give src/main.py (or src) back, so deleting them is
    # destructive, and the snapshot is what lowers it (a clean tracked file is 'recoverable').
    (r / "src" / "main.py").write_bytes(EDITED)
    return r


@pytest.fixture()
def env(guardsh_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    e = dict(guardsh_env)
    e["XDG_STATE_HOME"] = str(tmp_path / "state")  # this test's own snapshot store and audit trail
    return e


def fingerprint(root: Path) -> dict[str, tuple[object, ...]]:
    """Every path under root (not .git): type, mode, and bytes or link target."""
    out: dict[str, tuple[object, ...]] = {}
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in dirs + files:
            p = Path(dirpath) / name
            st = p.lstat()
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = ("link", os.readlink(p))
            elif p.is_dir():
                out[rel] = ("dir", st.st_mode & 0o7777)
            else:
                out[rel] = ("file", st.st_mode & 0o7777, p.read_bytes())
    return out


def refs(repo: Path) -> str:
    return git(repo, "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads", "refs/tags", "refs/remotes",
               "refs/stash")


def snapshot_line(stderr: bytes) -> str:
    lines = [ln for ln in stderr.decode().splitlines() if ln.startswith("guardsh: saved what this command destroys")]
    assert len(lines) == 1, stderr.decode()
    sid = lines[0].split("snapshot ", 1)[1].split(";", 1)[0]
    assert lines[0].endswith(f"guardsh undo {sid}")
    return sid


def undo(run_guardsh: Run, repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    r = run_guardsh("undo", *args, cwd=str(repo), env=env)
    assert r.returncode == 0, r.stderr.decode() + r.stdout.decode()
    return r


def audit(env: dict[str, str]) -> list[dict[str, object]]:
    path = Path(env["XDG_STATE_HOME"]) / "guardsh" / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_delete_is_saved_runs_and_comes_back_exactly(run_guardsh: Run, repo: Path, env: dict[str, str]) -> None:
    before = fingerprint(repo)
    r = run_guardsh("-c", "rm -rf src", cwd=str(repo), env=env)
    assert r.returncode == 0 and not (repo / "src").exists()
    sid = snapshot_line(r.stderr)
    record = audit(env)[-1]
    assert record["snapshot"] == sid and record["risk"] == "reversible" and record["decision"] == "allow"
    assert "rm-files" in record["rules"]  # the rule still matched; the snapshot is what lowered it
    assert f"saved first: guardsh undo {sid}" in run_guardsh("log", env=env).stdout.decode()
    listing = run_guardsh("snapshots", cwd=str(repo), env=env).stdout.decode()
    assert sid in listing and "rm -rf src" in listing
    dry = undo(run_guardsh, repo, env, "--dry-run")
    assert "would put back" in dry.stdout.decode() and not (repo / "src").exists()
    out = undo(run_guardsh, repo, env).stdout.decode()
    assert fingerprint(repo) == before
    for rel in ("src/main.py", "src/run.sh", "src/deep/blob.bin"):
        assert f"{repo / rel} (sha256" in out and "verified" in out


def test_an_undo_can_itself_be_undone(run_guardsh: Run, repo: Path, env: dict[str, str]) -> None:
    r = run_guardsh("-c", "rm src/main.py", cwd=str(repo), env=env)
    snapshot_line(r.stderr)
    (repo / "src" / "main.py").write_bytes(b"written after the rm\n")  # undo would overwrite this
    out = undo(run_guardsh, repo, env).stdout.decode()
    assert (repo / "src" / "main.py").read_bytes() == EDITED
    pre = out.split("saved as snapshot ", 1)[1].split(" ", 1)[0]
    undo(run_guardsh, repo, env, pre)
    assert (repo / "src" / "main.py").read_bytes() == b"written after the rm\n"


def test_reset_hard_brings_back_worktree_index_and_branch(run_guardsh: Run, repo: Path, env: dict[str, str]) -> None:
    (repo / "src" / "main.py").write_bytes(b"unstaged work\n")
    (repo / "new.txt").write_text("staged\n")
    git(repo, "add", "new.txt")
    (repo / "second.txt").write_text("2\n")
    git(repo, "add", "second.txt")
    git(repo, "commit", "-qm", "second")
    (repo / "staged.txt").write_text("in the index\n")
    git(repo, "add", "staged.txt")
    before, before_refs = fingerprint(repo), refs(repo)
    before_index = git(repo, "ls-files", "-s")
    r = run_guardsh("-c", "git reset --hard HEAD~1", cwd=str(repo), env=env)
    assert r.returncode == 0, r.stderr.decode()
    snapshot_line(r.stderr)
    assert not (repo / "second.txt").exists() and refs(repo) != before_refs
    undo(run_guardsh, repo, env)
    assert refs(repo) == before_refs
    assert fingerprint(repo) == before
    assert git(repo, "ls-files", "-s") == before_index
    assert git(repo, "status", "--porcelain") == " M src/main.py\nA  staged.txt\n"


def test_reset_hard_to_a_commit_saves_the_untracked_files_it_overwrites(run_guardsh: Run, repo: Path,
                                                                        env: dict[str, str]) -> None:
    git(repo, "checkout", "-q", "-b", "other")
    (repo / "notes.txt").write_text("theirs\n")
    git(repo, "add", "notes.txt")
    git(repo, "commit", "-qm", "notes")
    git(repo, "checkout", "-q", "main")
    (repo / "notes.txt").write_text("mine, untracked\n")
    r = run_guardsh("-c", "git reset --hard other", cwd=str(repo), env=env)
    assert r.returncode == 0, r.stderr.decode()
    snapshot_line(r.stderr)
    assert (repo / "notes.txt").read_text() == "theirs\n"
    undo(run_guardsh, repo, env)
    assert (repo / "notes.txt").read_text() == "mine, untracked\n"
    assert "notes.txt" not in git(repo, "ls-files")


def test_clean_fdx_brings_back_an_ignored_env_file(run_guardsh: Run, repo: Path, env: dict[str, str]) -> None:
    (repo / ".env").write_bytes(b"API_KEY=s3cret\n")
    (repo / ".env").chmod(0o600)
    (repo / "notes.txt").write_text("untracked\n")
    before = fingerprint(repo)
    (repo / "build").mkdir()  # regenerable: removed, and not kept (the rules let it go anyway)
    (repo / "build" / "out.o").write_bytes(b"\x7fELF")
    r = run_guardsh("-c", "git clean -fdx", cwd=str(repo), env=env)
    assert r.returncode == 0, r.stderr.decode()
    snapshot_line(r.stderr)
    assert not (repo / ".env").exists() and not (repo / "notes.txt").exists()
    out = undo(run_guardsh, repo, env).stdout.decode()
    assert fingerprint(repo) == before and "build" not in out
    assert (repo / ".env").stat().st_mode & 0o777 == 0o600


def test_stash_clear_comes_back(run_guardsh: Run, repo: Path, env: dict[str, str]) -> None:
    for n in (1, 2):
        (repo / "src" / "main.py").write_text(f"stash {n}\n")
        git(repo, "stash", "push", "-q", "-m", f"work {n}")
    before = git(repo, "stash", "list", "--format=%H %gs")
    r = run_guardsh("-c", "git stash clear", cwd=str(repo), env=env)
    assert r.returncode == 0, r.stderr.decode()
    snapshot_line(r.stderr)
    assert git(repo, "stash", "list") == ""
    subprocess.run(["git", "-C", str(repo), "gc", "-q", "--prune=now"], check=True)  # what gc would take
    undo(run_guardsh, repo, env)
    assert git(repo, "stash", "list", "--format=%H %gs") == before
    git(repo, "stash", "pop", "-q")
    assert (repo / "src" / "main.py").read_text() == "stash 2\n"


def test_branch_delete_comes_back_after_gc(run_guardsh: Run, repo: Path, env: dict[str, str]) -> None:
    git(repo, "checkout", "-q", "-b", "topic")
    (repo / "topic.txt").write_text("only on topic\n")
    git(repo, "add", "topic.txt")
    git(repo, "commit", "-qm", "topic work")
    git(repo, "checkout", "-q", "main")
    before = refs(repo)
    r = run_guardsh("-c", "git branch -D topic", cwd=str(repo), env=env)
    assert r.returncode == 0, r.stderr.decode()
    sid = snapshot_line(r.stderr)
    assert "refs/heads/topic" not in refs(repo)
    git(repo, "reflog", "expire", "--expire=now", "--all")
    subprocess.run(["git", "-C", str(repo), "gc", "-q", "--prune=now"], check=True)
    assert f"refs/guardsh/snapshots/{sid}/" in git(repo, "for-each-ref", "refs/guardsh")
    undo(run_guardsh, repo, env, sid)
    assert refs(repo) == before
    assert git(repo, "show", "topic:topic.txt") == "only on topic\n"


def test_force_push_to_a_local_bare_remote_is_put_back(repo: Path, tmp_path: Path, env: dict[str, str],
                                                        ruleset, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """A force push keeps its risk (it acts on a remote), so it is saved after approval: the
    remote's old tip, from the remote-tracking ref, goes back to a remote on this machine."""
    from guardsh.engine.classify import Classifier
    from guardsh.engine.config import Config
    from guardsh.engine.context import Context
    from guardsh.engine.model import Decision
    from guardsh.undo.guard import after_approval, protect
    from guardsh.undo.restore import restore
    from guardsh.undo.store import Store

    bare = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    git(repo, "remote", "add", "origin", str(bare))
    git(repo, "push", "-q", "-u", "origin", "main")
    old = git(bare, "rev-parse", "main").strip()
    git(repo, "commit", "-q", "--amend", "-m", "rewritten")
    monkeypatch.setenv("XDG_STATE_HOME", env["XDG_STATE_HOME"])
    monkeypatch.chdir(repo)
    text = "git push --force origin main"
    config = Config()
    verdict = Classifier(ruleset, config).classify(text, Context(str(repo), config))
    protection = protect(verdict, config, str(repo))
    assert protection.verdict.decision == Decision.ASK and protection.snapshot is None  # keeps its risk
    sid = after_approval(protection, config)  # the human approved: saved before it runs
    assert sid is not None
    subprocess.run(["git", "-C", str(repo), "push", "-q", "--force", "origin", "main"], check=True)
    assert git(bare, "rev-parse", "main").strip() != old
    new = git(bare, "rev-parse", "main").strip()
    result = restore(sid, store=Store())
    assert not result.failed and not result.manual, (result.failed, result.manual)
    assert git(bare, "rev-parse", "main").strip() == old
    assert git(repo, "rev-parse", "origin/main").strip() == old
    assert result.saved_as is not None  # the undo saved the tip it replaced: it can be undone too
    restore(result.saved_as, store=Store())
    assert git(bare, "rev-parse", "main").strip() == new


def test_over_the_cap_it_keeps_asking(run_guardsh: Run, repo: Path, env: dict[str, str]) -> None:
    cfg = Path(env["HOME"]) / ".config" / "guardsh"
    home = repo.parent / "caphome"
    (home / ".config" / "guardsh").mkdir(parents=True)
    (home / ".config" / "guardsh" / "config.yaml").write_text("undo: {max_snapshot_mb: 0.005}\n")
    e = {**env, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
    assert cfg != home
    r = run_guardsh("-c", "rm -rf src", cwd=str(repo), env=e)
    assert r.returncode == 126 and (repo / "src" / "deep" / "blob.bin").exists()
    assert b"over the snapshot cap" in r.stderr


def test_lowering_can_be_turned_off(run_guardsh: Run, repo: Path, env: dict[str, str]) -> None:
    home = repo.parent / "offhome"
    (home / ".config" / "guardsh").mkdir(parents=True)
    (home / ".config" / "guardsh" / "config.yaml").write_text("undo: {lower: false}\n")
    e = {**env, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
    r = run_guardsh("-c", "rm -rf src", cwd=str(repo), env=e)
    assert r.returncode == 126 and (repo / "src").is_dir()


def test_a_snapshot_that_fails_does_not_run_unattended(run_guardsh: Run, repo: Path, env: dict[str, str]) -> None:
    state = Path(env["XDG_STATE_HOME"])
    state.mkdir(parents=True, exist_ok=True)
    (state / "guardsh").mkdir()
    (state / "guardsh" / "snapshots").write_text("not a directory\n")  # the store cannot be written
    r = run_guardsh("-c", "rm -rf src", cwd=str(repo), env=env)
    assert r.returncode == 126 and (repo / "src").is_dir()
    assert b"snapshot before this command failed" in r.stderr


def test_allowed_overwrites_are_saved_silently(run_guardsh: Run, repo: Path, env: dict[str, str],
                                               tmp_path: Path) -> None:
    """A command allowed anyway keeps bash's exact stderr; its snapshot is in the audit record."""
    r = run_guardsh("-c", "echo new > src/main.py", cwd=str(repo), env=env)
    assert r.returncode == 0 and r.stderr == b""
    sid = audit(env)[-1]["snapshot"]
    assert sid
    undo(run_guardsh, repo, env, str(sid))
    assert (repo / "src" / "main.py").read_bytes() == EDITED


def test_crash_between_snapshot_and_command_loses_nothing(run_guardsh: Run, repo: Path, env: dict[str, str]) -> None:
    """bash dies (SIGKILL) right after the snapshot, before rm runs: the snapshot is whole."""
    before = fingerprint(repo)
    r = run_guardsh("-c", "kill -KILL $$; rm -rf src", cwd=str(repo), env=env)
    assert r.returncode == -9 or r.returncode == 137
    sid = snapshot_line(r.stderr)
    assert fingerprint(repo) == before
    out = undo(run_guardsh, repo, env, sid).stdout.decode()
    assert "already as saved" in out and fingerprint(repo) == before
    # and after the delete the same snapshot brings everything back
    subprocess.run(["rm", "-rf", str(repo / "src")], check=True)
    undo(run_guardsh, repo, env, sid)
    assert fingerprint(repo) == before


def test_worktree_remove_force_comes_back_working(run_guardsh: Run, repo: Path, env: dict[str, str]) -> None:
    git(repo, "worktree", "add", "-q", "-b", "side", "wt")
    (repo / "wt" / "src" / "main.py").write_bytes(b"uncommitted in the worktree\n")
    (repo / "wt" / "scratch.txt").write_text("untracked\n")
    before = fingerprint(repo / "wt")
    r = run_guardsh("-c", "git worktree remove --force wt", cwd=str(repo), env=env)
    assert r.returncode == 0, r.stderr.decode()
    snapshot_line(r.stderr)
    assert not (repo / "wt").exists()
    undo(run_guardsh, repo, env)
    assert fingerprint(repo / "wt") == before
    assert git(repo / "wt", "status", "--porcelain") == " M src/main.py\n?? scratch.txt\n"
    assert "side" in git(repo, "worktree", "list")


def test_undo_without_snapshots_says_so(run_guardsh: Run, repo: Path, env: dict[str, str]) -> None:
    r = run_guardsh("undo", cwd=str(repo), env=env)
    assert r.returncode == 2 and b"no snapshots of the workspace" in r.stderr
    r = run_guardsh("undo", "20000101-000000-abcdef", cwd=str(repo), env=env)
    assert r.returncode == 2 and b"no snapshot '20000101-000000-abcdef'" in r.stderr


def test_snapshots_json_and_sed_in_place(run_guardsh: Run, repo: Path, env: dict[str, str]) -> None:
    r = run_guardsh("-c", "sed -i s/hi/bye/ src/main.py", cwd=str(repo), env=env)
    assert r.returncode == 0 and r.stderr == b""
    assert (repo / "src" / "main.py").read_text() == EDITED.decode().replace("hi", "bye")
    rows = [json.loads(line) for line in run_guardsh("snapshots", "--json", cwd=str(repo), env=env).stdout.splitlines()]
    assert [(row["command"], row["paths"], row["workspace"]) for row in rows] == [
        ("sed -i s/hi/bye/ src/main.py", 1, str(repo))]
    undo(run_guardsh, repo, env, rows[0]["id"])
    assert (repo / "src" / "main.py").read_text() == EDITED.decode()


def test_a_saved_copy_that_changed_is_not_restored(run_guardsh: Run, repo: Path, env: dict[str, str]) -> None:
    r = run_guardsh("-c", "truncate -s 0 src/main.py", cwd=str(repo), env=env)
    sid = snapshot_line(r.stderr)
    objects = Path(env["XDG_STATE_HOME"]) / "guardsh" / "snapshots" / "objects"
    obj = next(p for p in objects.rglob("*") if p.is_file() and p.parent.name != "tmp")
    obj.chmod(0o600)
    obj.write_bytes(b"tampered\n")
    r = run_guardsh("undo", sid, cwd=str(repo), env=env)
    assert r.returncode == 1 and b"sha256 mismatch" in r.stderr
    assert (repo / "src" / "main.py").read_bytes() == b""  # nothing was put back, not even in part


def test_a_hook_saves_before_it_answers_allow(run_guardsh: Run, repo: Path, env: dict[str, str]) -> None:
    doc = {"session_id": "s1", "cwd": str(repo), "hook_event_name": "PreToolUse", "tool_name": "Bash",
           "tool_input": {"command": "rm -rf src"}}
    r = run_guardsh("hook", "claude-code", input=json.dumps(doc).encode(), cwd=str(repo), env=env)
    assert r.returncode == 0 and b"deny" not in r.stdout and b'"ask"' not in r.stdout, r.stdout
    sid = snapshot_line(r.stderr)
    assert audit(env)[-1]["snapshot"] == sid
    subprocess.run(["rm", "-rf", str(repo / "src")], check=True)  # the agent runs it
    undo(run_guardsh, repo, env, sid)
    assert (repo / "src" / "deep" / "blob.bin").read_bytes() == bytes(range(256)) * 40


def test_rm_through_a_symlink_with_a_slash_saves_what_it_points_to(run_guardsh: Run, repo: Path,
                                                                    env: dict[str, str]) -> None:
    (repo / "alias").symlink_to("src")
    before = fingerprint(repo)
    r = run_guardsh("-c", "rm -rf alias/", cwd=str(repo), env=env)
    assert r.returncode == 0, r.stderr.decode()
    snapshot_line(r.stderr)
    assert (repo / "alias").is_symlink() and not (repo / "src" / "main.py").exists()
    undo(run_guardsh, repo, env)
    assert fingerprint(repo) == before


def test_check_says_what_undo_will_do(run_guardsh: Run, repo: Path, env: dict[str, str],
                                      lowering_off: Callable[[dict[str, str]], dict[str, str]]) -> None:
    """guardsh check shows the rules' decision, and that guardsh -c would save and let it through."""
    out = run_guardsh("check", "--", "rm -rf src", cwd=str(repo), env=env).stdout.decode()
    assert "decision: ask" in out and "saves what it destroys first" in out
    assert "saves what it destroys" not in run_guardsh("check", "--", "rm -rf src", cwd=str(repo),
                                                       env=lowering_off(env)).stdout.decode()
    assert "saves what it destroys" not in run_guardsh("check", "--", "git push --force origin main",
                                                       cwd=str(repo), env=env).stdout.decode()
    shown = run_guardsh("check", "--json", "--", "rm -rf src", cwd=str(repo), env=env).stdout.decode()
    assert "saves" not in shown  # the JSON shape is the verdict's alone
