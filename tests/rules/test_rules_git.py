"""rules.d/git.yaml on real-world git commands beyond the rules' own examples.

Every case is classified in the fixed example context (cwd /home/user/project), so nothing
here runs git or reads a file.
"""
from __future__ import annotations

from typing import Callable

import pytest

from guardsh.engine.model import Decision, Verdict
from guardsh.engine.ruleset import RuleSet

Classify = Callable[[str], Verdict]

READ_ONLY = [
    "git status --short --branch",
    "git log --oneline -n 20",
    "git log -p --follow -- src/app.py",
    "git log --author='Jane Doe' --since='2 weeks ago' --stat",
    "git log origin/main..HEAD",
    "git log --all --grep='push --force' --oneline",
    "git diff --cached --name-only",
    "git diff HEAD~3 -- '*.py'",
    "git diff --stat main...feature",
    "git show --stat HEAD",
    "git show -s --format=%H HEAD",
    "git blame -w -C src/lib.rs",
    "git rev-parse --show-toplevel",
    "git rev-list --count HEAD",
    "git ls-files -m",
    "git ls-tree -r HEAD --name-only",
    "git describe --always --dirty",
    "git shortlog -sne --no-merges",
    "git grep -n 'reset --hard' -- '*.sh'",
    "git for-each-ref --sort=-committerdate refs/heads/ --format='%(refname:short)'",
    "git branch -vv --sort=-committerdate",
    "git branch --no-merged",
    "git branch --contains HEAD~2 -a",
    "git tag --list 'v*' --sort=-creatordate",
    "git remote get-url origin",
    "git config --get remote.origin.url",
    "git config -l --show-origin",
    "git stash show",
    "git reflog -n 10",
    "git cherry -v origin/main",
    "git merge-base --is-ancestor abc123 HEAD",
    "git fetch --dry-run --all",
    "git push --dry-run --mirror origin",
    "git check-ignore -v .env",
    "git count-objects -vH",
    "git fsck --full",
    "git -P log -1 --format=%an",
    "git --git-dir=../other/.git log --oneline",
    "git --work-tree /srv/site --git-dir /srv/site.git status",
    "git -c color.ui=always diff",
]

REVERSIBLE = [
    "git add -A",
    "git add -p src/app.py",
    "git commit -m 'git push --force origin main'",
    "git commit -m 'cleanup' -m 'ran git clean -fdx and git reset --hard'",
    "git commit --amend -m 'rm -rf fix'",
    "git commit --fixup HEAD~2",
    "git checkout -b fix/login-bug",
    "git checkout -t origin/feature-x",
    "git checkout --orphan gh-pages",
    "git checkout v2.0.0",
    "git switch -c release/2.4 origin/release/2.4",
    "git fetch origin main",
    "git fetch --all --tags --prune",
    "git pull --ff-only",
    "git merge --squash feature",
    "git rebase -i --autosquash origin/main",
    "git rebase --abort",
    "git cherry-pick --continue",
    "git stash push --include-untracked -m 'wip'",
    "git stash push -m 'stash drop later'",
    "git stash apply",
    "git branch -m old-name new-name",
    "git branch --set-upstream-to=origin/main main",
    "git tag v1.2.3",
    "git tag -s v1.2.3 -m 'Release 1.2.3'",
    "git push origin v1.2.3",
    "git push --follow-tags",
    "git push --set-upstream origin feature/x",
    "git push origin HEAD",
    "git push -o merge_request.create origin feature/x",
    "git remote rename origin upstream",
    "git remote set-url origin git@github.com:me/repo.git",
    "git worktree add -b hotfix ../hotfix origin/main",
    "git worktree remove ../feature-tree",
    "git submodule add https://github.com/a/lib.git vendor/lib",
    "git submodule sync --recursive",
    "git lfs install",
    "git lfs fetch --all origin",
    "git gc --auto",
    "git config user.email dev@example.com",
    "git config --global init.defaultBranch main",
    "git reset HEAD~1",
    "git reset --soft HEAD~2",
    "git reset -- src/app.py",
    "git restore --staged .",
    "git rm -r --cached node_modules",
    "git mv src/a.py src/b.py",
    "git revert --no-edit HEAD~2..HEAD",
    "git notes add -m 'reviewed' HEAD",
    "git bisect good v1.0",
    "git clean -fdx dist",
    "git branch -f main origin/main",
    "git remote prune upstream",
]

DESTRUCTIVE = [
    "git reset --hard HEAD@{1}",
    "git reset --hard FETCH_HEAD",
    "git clean -fd src/generated",
    "git clean -xfd",
    "git clean -f -- '*.orig'",
    "git push origin --force feature/x",
    "git push --force-with-lease=feature:abc123 origin feature",
    "git push origin +feature/x:feature/x",
    "git push origin --delete feature/x tag v0.9",
    "git push origin ':refs/heads/old'",
    "git push --mirror",
    "git push origin -f HEAD:refs/heads/master",
    "git push -o ci.skip --force origin main",
    "git branch -D feature/x feature/y",
    "git branch --delete --force stale",
    "git tag -d v0.1 v0.2",
    "git checkout -- src/ tests/",
    "git checkout -f",
    "git checkout HEAD~2 -- package.json",
    "git restore --source=origin/main -- .",
    "git restore -W .",
    "git switch -f main",
    "git stash drop stash@{0}",
    "git -C ~/src/app stash clear",
    "git filter-repo --invert-paths --path .env",
    "git filter-branch --env-filter 'export GIT_AUTHOR_EMAIL=x' -- --all",
    "git update-ref -d HEAD",
    "git reflog expire --expire=now --expire-unreachable=now --all",
    "git gc --aggressive --prune=now",
    "git worktree remove -f ../old",
    "git submodule deinit --all -f",
    "git lfs prune --recent",
    "git rm -rf --ignore-unmatch secrets/",
    "git -c alias.wipe='!git clean -fdx' wipe",
]

WRAPPED = [
    ("sudo git reset --hard", "destructive"),
    ("sudo -u deploy git -C /srv/app reset --hard origin/main", "destructive"),
    ("bash -c 'git push -f'", "destructive"),
    ("sh -c \"git stash clear\"", "destructive"),
    ("cd repo && git clean -fdx", "destructive"),
    ("timeout 30 git push --force", "destructive"),
    ("git fetch && git reset --hard origin/main", "destructive"),
    ("ssh deploy@host 'cd /srv/app && git reset --hard origin/main'", "destructive"),
    ("eval 'git push -f'", "destructive"),
    ("(cd sub && git checkout -- .)", "destructive"),
    ("for b in a b; do git push origin --delete \"$b\"; done", "destructive"),
    ("git branch | xargs git branch -D", "destructive"),
    ("find . -name .git -type d -execdir git clean -fdx \\;", "destructive"),
    ("echo \"$(git rev-parse HEAD)\"", "read-only"),
    ("git status && git diff", "read-only"),
    ("git log --oneline | head -5", "read-only"),
    ("printf '%s\\n' 'git push --force'", "read-only"),
    ("echo 'git reset --hard' >> notes.md", "read-only"),
]


@pytest.mark.parametrize(
    "command, expected",
    [(c, "read-only") for c in READ_ONLY]
    + [(c, "reversible") for c in REVERSIBLE]
    + [(c, "destructive") for c in DESTRUCTIVE],
)
def test_git_commands(classify: Classify, command: str, expected: str) -> None:
    verdict = classify(command)
    assert verdict.risk.label == expected, [m.rule for m in verdict.matches]


@pytest.mark.parametrize("command, expected", WRAPPED)
def test_git_inside_wrappers(classify: Classify, command: str, expected: str) -> None:
    verdict = classify(command)
    assert verdict.risk.label == expected, [m.rule for m in verdict.matches]


def test_table_is_large_enough() -> None:
    assert len(READ_ONLY) + len(REVERSIBLE) + len(DESTRUCTIVE) >= 60


@pytest.mark.parametrize("command", ["git branch -D x", "git tag -d x", "git branch -l -D x",
                                     "git push --force --all", "git reflog delete HEAD@{0}"])
def test_read_only_rules_never_lower_a_destructive_match(classify: Classify, command: str) -> None:
    verdict = classify(command)
    assert verdict.risk.label == "destructive"
    assert verdict.decision == Decision.ASK


@pytest.mark.parametrize("command", [
    "git push --dry-run -f origin main",
    "git push -n --force-with-lease origin main",
    "git push --dry-run origin +main :old",
    "git clean -n",
    "git clean -fdxn",
    "git rm -rf --dry-run old/",
    "git reflog expire -n --expire=now --all",
    "git lfs prune --dry-run",
])
def test_dry_runs_are_not_gated(classify: Classify, command: str) -> None:
    verdict = classify(command)
    assert verdict.decision == Decision.ALLOW, [m.rule for m in verdict.matches]
    assert all(m.risk.label in ("read-only", "reversible") for m in verdict.matches)


@pytest.mark.parametrize("command", [
    "git commit -m 'git push --force'",
    "git commit -m \"git reset --hard && git clean -fdx\"",
    "git log --grep='reset --hard'",
    "git log -S 'git stash clear' --oneline",
    "git tag -a v2 -m 'git branch -D old'",
    "git stash push -m 'git checkout -- .'",
    "git notes add -m 'git push origin :main' HEAD",
    "git grep -e 'push -f' -e 'filter-branch'",
    "git config --global alias.nuke '!git reset --hard && git clean -fdx'",
])
def test_data_is_not_code(classify: Classify, command: str) -> None:
    verdict = classify(command)
    assert verdict.decision == Decision.ALLOW, [m.rule for m in verdict.matches]


def test_force_push_to_a_shared_branch_names_it(classify: Classify) -> None:
    ids = {m.rule for m in classify("git push --force origin main").matches}
    assert {"git-push-force", "git-push-force-protected-branch"} <= ids
    ids = {m.rule for m in classify("git push origin +HEAD:release/3.1").matches}
    assert "git-push-plus-refspec-protected-branch" in ids
    ids = {m.rule for m in classify("git push --force origin feature/login").matches}
    assert "git-push-force-protected-branch" not in ids


def test_force_with_lease_has_its_own_reason(classify: Classify) -> None:
    verdict = classify("git push --force-with-lease origin feature")
    assert [m.rule for m in verdict.matches] == ["git-push-force-with-lease"]
    assert "safer" in verdict.matches[0].reason


def test_destructive_git_rules_say_what_to_do_instead(ruleset: RuleSet) -> None:
    rules = [r for r in ruleset.rules if r["id"].startswith("git-")]
    assert len(rules) >= 40
    for rid in ("git-reset-hard", "git-clean-untracked", "git-push-force", "git-branch-force-delete",
                "git-restore-worktree", "git-stash-drop"):
        rule = ruleset.by_id(rid)
        assert rule is not None and rule["suggest"], rid


def test_global_value_options_do_not_hide_the_subcommand(classify: Classify) -> None:
    for text in ("git -C reset status", "git -c push.default=current status", "git --git-dir reset log",
                 "git --namespace push status"):
        assert classify(text).risk.label == "read-only", text
    assert classify("git -C status reset --hard").risk.label == "destructive"


# --- engine gaps: each case is the smallest one that shows the gap -----------------------

@pytest.mark.parametrize("command", [
    "git submodule foreach 'rm -rf ~'",
    "git rebase --exec 'rm -rf ~' main",
    "git bisect run rm -rf ~",
])
def test_git_embedded_commands_are_classified(classify: Classify, command: str) -> None:
    assert classify(command).risk.label == "catastrophic"


def test_dynamic_git_subcommand_asks(classify: Classify) -> None:
    assert classify('git "$(echo reset)" --hard').decision >= Decision.ASK


@pytest.mark.xfail(strict=True, reason="rule schema gap: cannot require a positional AFTER '--', so "
                                       "'git checkout <branch> --' (no paths) looks like checkout -- <paths>")
def test_checkout_branch_with_trailing_double_dash_is_reversible(classify: Classify) -> None:
    assert classify("git checkout main --").risk.label == "reversible"
