"""The engine's plan of what a command destroys (issue 14): targets resolved as the engine
resolves them, globs expanded as bash expands them, unknown targets unknown."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from guardsh.engine.classify import Classifier
from guardsh.engine.config import Config
from guardsh.engine.context import Context
from guardsh.engine.undoplan import lowerable, plan


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "src").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(ws)], check=True)
    for name in ("a.txt", "b.txt", ".hidden", "src/a.txt", "src/m.py", "src/n.py"):
        (ws / name).write_text(name)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "f").write_text("x")
    return ws


def _plan(ruleset, text: str, cwd: Path):  # type: ignore[no-untyped-def]
    home = str(cwd.parent)  # the workspace's parent is home: ../elsewhere is outside the workspace, not scratch
    ctx = Context(str(cwd), Config(), env={"HOME": home, "PATH": "/usr/bin:/bin"}, home=home)
    verdict = Classifier(ruleset, Config()).classify(text, ctx)
    return verdict, plan(verdict, ctx.home), ctx


def _files(p) -> list[str]:  # type: ignore[no-untyped-def]
    return [f.path for f in p.files]


def test_globs_expand_as_bash_does(ruleset, tree: Path) -> None:  # type: ignore[no-untyped-def]
    _v, p, _ = _plan(ruleset, "rm *.txt src/*", tree)
    assert _files(p) == [str(tree / n) for n in ("a.txt", "b.txt", "src/a.txt", "src/m.py", "src/n.py")]
    _v, p, _ = _plan(ruleset, "rm -f * .h*", tree)  # * skips dotfiles; .h* finds .hidden
    assert str(tree / ".hidden") in _files(p) and _files(p).count(str(tree / ".hidden")) == 1
    _v, p, _ = _plan(ruleset, "rm nomatch*", tree)  # no match: bash passes the word itself, which is not there
    assert _files(p) == []


def test_cd_and_variables_are_followed(ruleset, tree: Path) -> None:  # type: ignore[no-untyped-def]
    _v, p, _ = _plan(ruleset, "d=src; cd $d && rm m.py", tree)
    assert _files(p) == [str(tree / "src/m.py")]


@pytest.mark.parametrize("text, expected", [
    ("mv a.txt b.txt", ["a.txt", "b.txt"]),
    ("mv a.txt src", ["a.txt", "src/a.txt"]),
    ("cp a.txt src/m.py", ["src/m.py"]),
    ("cp -t src a.txt b.txt", ["src/a.txt"]),   # src/b.txt is not there: nothing to lose
    ("ln -sf a.txt b.txt", ["b.txt"]),
    ("truncate -s 0 a.txt", ["a.txt"]),
    ("shred -n 3 -u a.txt", ["a.txt"]),
    ("sed -i s/a/b/ a.txt b.txt", ["a.txt", "b.txt"]),
    ("sed -i -e s/a/b/ a.txt", ["a.txt"]),
    ("perl -pi -e s/a/b/ a.txt", ["a.txt"]),
    ("find src -name '*.py' -delete", ["src"]),
    ("tar czf out.tgz --remove-files src", ["src"]),
    ("echo hi > a.txt", ["a.txt"]),
    ("echo hi >| a.txt 2> b.txt", ["a.txt", "b.txt"]),
    ("echo hi > new.txt; rm new.txt", []),
    ("make 3> a.txt", ["a.txt"]),
    ("echo hi >& b.txt", ["b.txt"]),
    ("echo hi 2>&1", []),
])
def test_file_targets(ruleset, tree: Path, text: str, expected: list[str]) -> None:  # type: ignore[no-untyped-def]
    _v, p, _ = _plan(ruleset, text, tree)
    assert _files(p) == [str(tree / e) for e in expected]


@pytest.mark.parametrize("text", ["echo hi >> a.txt", "cp a.txt new.txt", "sed s/a/b/ a.txt", "find . -name x",
                                  "tar czf out.tgz src", "ls -l", "git status", "git reset --soft HEAD~1",
                                  "git clean -n", "git stash list", "git push origin main", "git branch new",
                                  "git worktree remove wt", "git worktree add wt"])
def test_what_destroys_nothing_has_no_plan(ruleset, tree: Path, text: str) -> None:  # type: ignore[no-untyped-def]
    _v, p, _ = _plan(ruleset, text, tree)
    assert not p.files and not p.git and not p.unknown, text


@pytest.mark.parametrize("text, sub", [
    ("git reset --hard", "reset"), ("git checkout -- a.txt", "checkout"), ("git restore a.txt", "restore"),
    ("git clean -fdx", "clean"), ("git stash clear", "stash"), ("git stash drop", "stash"),
    ("git branch -D topic", "branch"), ("git rebase main", "rebase"), ("git commit --amend -m x", "commit"),
    ("git filter-branch --tree-filter true HEAD", "filter-branch"), ("git update-ref -d refs/heads/x", "update-ref"),
    ("git push --force origin main", "push"), ("git push origin +main", "push"),
    ("git -C src reset --hard", "reset"), ("git worktree remove --force ../wt", "worktree"),
])
def test_git_targets(ruleset, tree: Path, text: str, sub: str) -> None:  # type: ignore[no-untyped-def]
    _v, p, _ = _plan(ruleset, text, tree)
    assert [g.sub for g in p.git] == [sub]
    assert p.git[0].repo == str(tree / "src" if "-C src" in text else tree)


@pytest.mark.parametrize("text", ["rm $UNSET_SOMEWHERE", "rm $(cat list)", "ls | xargs rm", "ssh host rm a.txt",
                                  "git --git-dir=/x reset --hard", "find -L . -delete", "find . -follow -delete",
                                  "tar -C src -cf x.tar --remove-files m.py", "tar cf x.tar -T list --remove-files"])
def test_unknown_targets_make_no_plan(ruleset, tree: Path, text: str) -> None:  # type: ignore[no-untyped-def]
    v, p, ctx = _plan(ruleset, text, tree)
    assert p.unknown, text
    assert lowerable(v, p, ctx) is not None


@pytest.mark.parametrize("text, lowered", [
    ("rm -rf src", True),
    ("git reset --hard", True),
    ("git clean -fdx", True),
    ("git branch -D topic", True),
    ("rm -rf src && git push --force origin main", False),   # a remote effect keeps its risk
    ("rm -rf ../elsewhere", False),                          # outside the workspace
    ("rm -rf .git", False),                                  # catastrophic: never lowered
    ("find . -delete", False),                               # the whole repository, .git and all
    ("rm -rf \"$PWD\"", False),
    ("rm -rf src; kubectl delete ns prod", False),
    ("rm $X", False),
    ("kubectl delete ns x > a.txt", False),                  # only the redirection is planned
    ("cd ../elsewhere && rm -rf f; cd ../ws && rm -rf f", False),  # one text, and one of its places is outside
])
def test_what_a_snapshot_can_lower(ruleset, tree: Path, text: str, lowered: bool) -> None:  # type: ignore[no-untyped-def]
    v, p, ctx = _plan(ruleset, text, tree)
    assert (lowerable(v, p, ctx) is None) is lowered, (text, lowerable(v, p, ctx))


def test_lowering_is_configurable(ruleset, tree: Path) -> None:  # type: ignore[no-untyped-def]
    v, p, ctx = _plan(ruleset, "rm -rf src", tree)
    assert lowerable(v, p, ctx, inside=False) is not None
    v, p, ctx = _plan(ruleset, "rm -r ../elsewhere", tree)
    assert lowerable(v, p, ctx) is not None
    assert lowerable(v, p, ctx, outside=True) is None


def test_guardsh_undo_is_a_subcommand_not_a_script(ruleset, tree: Path) -> None:  # type: ignore[no-untyped-def]
    (tree / "undo").write_text("rm -rf src\n")  # a script by that name changes nothing
    for text in ("guardsh undo", "guardsh undo --dry-run 20261204-013447-abd8b5", "guardsh snapshots --all"):
        v, _p, _ = _plan(ruleset, text, tree)
        assert v.decision.label == "allow" and not v.matches, (text, v.matches)


def test_a_trailing_slash_follows_a_symlink_as_rm_does(ruleset, tree: Path) -> None:  # type: ignore[no-untyped-def]
    (tree / "link").symlink_to("src")
    _v, p, _ = _plan(ruleset, "rm -rf link/", tree)  # empties src itself
    assert _files(p) == [str(tree / "src")]
    _v, p, _ = _plan(ruleset, "rm -f link", tree)  # only the link
    assert _files(p) == [str(tree / "link")]


def test_git_clean_options_are_kept_for_the_dry_run(ruleset, tree: Path) -> None:  # type: ignore[no-untyped-def]
    for text, args in [("git clean -fdx", ("-dx",)), ("git clean -ffd", ("-f", "-f", "-d")),
                       ("git clean -fd -e '*.log' src", ("-d", "-e", "*.log", "src")),
                       ("git clean -fde keep", ("-d", "-e", "keep")), ("git clean --force -X", ("-X",))]:
        _v, p, _ = _plan(ruleset, text, tree)
        assert p.git[0].clean_args == args, text
