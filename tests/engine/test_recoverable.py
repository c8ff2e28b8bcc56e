"""Recoverability from the real state of the disk (issue 12): a tracked file whose content git's
index holds comes back with ``git restore``, so deleting or overwriting it is reversible; one with
local changes, an untracked one, or one the command changed before is judged as before."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Callable

import pytest

from guardsh.engine import gitindex
from guardsh.engine.model import Decision, Risk, Verdict

pytestmark = pytest.mark.skipif(subprocess.run(["git", "--version"], capture_output=True).returncode != 0,
                                reason="git is not installed")


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@e", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    r = tmp_path / "proj"
    (r / "src" / "pkg").mkdir(parents=True)
    (r / "src" / "app.py").write_text("print('app')\n")
    (r / "src" / "pkg" / "mod.py").write_text("x = 1\n")
    (r / "run.sh").write_text("#!/bin/sh\necho run\n")
    (r / "run.sh").chmod(0o755)
    os.symlink("src/app.py", r / "link")
    (r / "notes.txt").write_text("notes\n")
    git(r, "init", "-q")
    git(r, "add", "src", "run.sh", "link", "notes.txt")
    git(r, "commit", "-qm", "init")
    return r


@pytest.mark.parametrize("version", ["2", "3", "4"])
def test_every_index_version_is_read(repo: Path, version: str) -> None:
    git(repo, "update-index", "--index-version", version)
    index = gitindex.load_index(str(repo), str(repo / ".git"))
    assert index is not None
    tracked = set(git(repo, "ls-files").split())
    assert set(index.entries) == tracked
    assert gitindex.recoverable(index, str(repo / "src"))
    assert gitindex.recoverable(index, str(repo / "link"))
    assert gitindex.recoverable(index, str(repo / "run.sh"))


@pytest.mark.parametrize("text", ["rm notes.txt", "rm -rf src", "rm -rf src/pkg run.sh", "shred -u notes.txt",
                                  "truncate -s 0 notes.txt", "git checkout -- src", "cd src && git checkout .",
                                  "git restore src/app.py", "cd src && rm -rf pkg", "git status && rm notes.txt",
                                  "find src -name '*.py' -delete"])
def test_clean_tracked_files_are_reversible(classify_in: Callable[..., Verdict], repo: Path, text: str) -> None:
    verdict = classify_in(text, str(repo))
    assert verdict.decision == Decision.ALLOW, (verdict.risk, [m.rule for m in verdict.matches])


def test_what_git_cannot_give_back_still_asks(classify_in: Callable[..., Verdict], repo: Path) -> None:
    (repo / "src" / "app.py").write_text("print('changed')\n")  # an unstaged change
    (repo / "src" / "pkg" / "new.py").write_text("new\n")  # untracked, inside a tracked directory
    (repo / "untracked.txt").write_text("u\n")
    os.chmod(repo / "notes.txt", 0o755)  # a mode change is a local change too
    for text in ("rm src/app.py", "rm -rf src/pkg", "rm -rf src", "rm untracked.txt", "rm notes.txt",
                 "git checkout -- src/app.py", "git restore src", "shred -u src/app.py"):
        verdict = classify_in(text, str(repo))
        assert verdict.risk >= Risk.DESTRUCTIVE, text


def test_a_change_earlier_in_the_command_is_seen(classify_in: Callable[..., Verdict], repo: Path) -> None:
    """Once something may have written files, the disk is no longer what guardsh read."""
    for text in ("echo x >> notes.txt && rm notes.txt", "python gen.py && rm -rf src", "sed -i s/x/y/ notes.txt; rm notes.txt",
                 "echo new > src/pkg/new.py && rm -rf src", "git stash pop && rm -rf src"):
        verdict = classify_in(text, str(repo))
        assert verdict.risk >= Risk.DESTRUCTIVE, text


def test_staged_content_counts_as_held(classify_in: Callable[..., Verdict], repo: Path) -> None:
    """Chosen: content staged but not committed is in the index, and git restore brings it back."""
    (repo / "notes.txt").write_text("staged\n")
    git(repo, "add", "notes.txt")
    assert classify_in("rm notes.txt", str(repo)).decision == Decision.ALLOW


def test_entries_git_is_told_to_ignore_are_not_trusted(classify_in: Callable[..., Verdict], repo: Path) -> None:
    git(repo, "update-index", "--skip-worktree", "notes.txt")
    git(repo, "update-index", "--assume-unchanged", "run.sh")
    assert classify_in("rm notes.txt", str(repo)).risk >= Risk.DESTRUCTIVE
    assert classify_in("rm run.sh", str(repo)).risk >= Risk.DESTRUCTIVE


def test_outside_the_workspace_nothing_changes(classify_in: Callable[..., Verdict], repo: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    assert classify_in(f"rm -rf {repo}/src", str(other), home=str(tmp_path)).risk >= Risk.DESTRUCTIVE
    assert classify_in("rm -rf .git", str(repo)).risk >= Risk.DESTRUCTIVE  # the store itself


def test_a_corrupt_index_is_not_trusted(classify_in: Callable[..., Verdict], repo: Path) -> None:
    data = (repo / ".git" / "index").read_bytes()
    (repo / ".git" / "index").write_bytes(data[:40])
    assert classify_in("rm notes.txt", str(repo)).risk >= Risk.DESTRUCTIVE
    assert gitindex.parse_index(b"DIRC\0\0\0\x09" + b"\0" * 8) is None


def test_a_very_deep_tree_is_not_walked_to_the_bottom(classify_in: Callable[..., Verdict], repo: Path) -> None:
    deep = repo / "src" / "pkg"
    for _ in range(gitindex.MAX_DEPTH + 5):
        deep = deep / "d"
    deep.mkdir(parents=True)
    (deep / "leaf.py").write_text("x\n")
    git(repo, "add", "-A")
    assert classify_in("rm -rf src", str(repo)).risk >= Risk.DESTRUCTIVE  # judged as before, no crash
