"""Blast-radius previews (issue 15): specs as data, derivation in the engine, and the preview stage
running real tools (git, rm, find, rsync, sqlite3) in temporary trees and repositories (a local
bare remote for push), and fake kubectl/terraform/helm/aws (tests/helpers/fakebin/) that
implement only their dry-run behaviour."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from guardsh.engine.classify import Classifier
from guardsh.engine.config import Config
from guardsh.engine.context import Context
from guardsh.engine.examples import example_context
from guardsh.engine.preview import check_spec_examples, plan_previews, read_only_reason
from guardsh.engine.previewspec import load_specs
from guardsh.engine.ruleset import RuleSet
from guardsh.engine.yamlfile import RuleError
from guardsh.preview import compute
from guardsh.preview.show import MAX_LINES, render

FAKEBIN = Path(__file__).resolve().parents[1] / "helpers" / "fakebin"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    git(r, "config", "user.email", "t@example.com")
    git(r, "config", "user.name", "t")
    (r / "src").mkdir()
    (r / "src" / "app.py").write_text("print('v1')\n")
    (r / "src" / "big.bin").write_bytes(b"x" * 300_000)
    (r / "README").write_text("readme\n")
    git(r, "add", ".")
    git(r, "commit", "-qm", "one")
    return r


@pytest.fixture()
def env(tmp_path: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "AWS_PROFILE", "FAKE_LOG", "FAKE_BLOCK")}
    e["PATH"] = f"{FAKEBIN}:{e.get('PATH', '/usr/bin:/bin')}"
    e["FAKE_LOG"] = str(tmp_path / "fake.log")
    e["HOME"] = str(tmp_path / "home")
    (tmp_path / "home").mkdir(exist_ok=True)
    return e


def preview(ruleset: RuleSet, text: str, cwd: Path, env: dict[str, str], **config: Any) -> dict[str, Any]:
    cfg = Config(config)
    verdict = Classifier(ruleset, cfg).classify(text, Context(str(cwd), cfg, env=env, home=env["HOME"]))
    return compute(verdict, ruleset, cfg, env=env, cwd=str(cwd))


def text_of(result: dict[str, Any]) -> str:
    return "\n".join(render(result))


def fake_calls(env: dict[str, str]) -> list[dict[str, Any]]:
    path = Path(env["FAKE_LOG"])
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# --- specs: data, validated, examples checked ---------------------------------------------------

def test_packaged_specs_load_and_every_example_derives_its_read_only_preview(ruleset: RuleSet) -> None:
    specs = load_specs()
    assert len(specs) >= 20
    assert check_spec_examples(specs, Classifier(ruleset, Config()), example_context()) == []


@pytest.mark.parametrize("body, message", [
    ("previews:\n  - id: x\n    what: w\n    match: {program: rm}\n    local: paths\n    colour: red\n"
     "    examples: [{command: rm a, preview: 'paths: a'}]\n", "preview x: key 'colour': unknown key"),
    ("previews:\n  - id: x\n    what: w\n    match: {flags: [-f]}\n    local: paths\n"
     "    examples: [{command: rm a, preview: 'paths: a'}]\n", "key 'match.program': missing"),
    ("previews:\n  - id: x\n    what: w\n    match: {program: rm}\n    local: paths\n    show: pretty\n"
     "    examples: [{command: rm a, preview: 'paths: a'}]\n", "key 'show': must be one of"),
    ("previews:\n  - id: x\n    what: w\n    match: {program: rm}\n    local: paths\n", "key 'examples'"),
    ("previews:\n  - id: x\n    what: w\n    match: {program: rm}\n    local: paths\n    run: [[ls]]\n"
     "    examples: [{command: rm a, preview: 'paths: a'}]\n", "exactly one of"),
])
def test_bad_specs_are_errors_naming_file_line_and_key(tmp_path: Path, body: str, message: str) -> None:
    (tmp_path / "bad.yaml").write_text(body)
    with pytest.raises(RuleError) as e:
        load_specs([str(tmp_path)])
    text = str(e.value)
    assert f"{tmp_path / 'bad.yaml'}:" in text and message in text, text


def test_an_example_that_derives_another_preview_fails(tmp_path: Path, ruleset: RuleSet) -> None:
    (tmp_path / "p.yaml").write_text(
        "previews:\n  - id: wrong\n    what: w\n    match: {program: git, subcommand: clean}\n"
        "    transform: {append: [-n]}\n    examples: [{command: git clean -f, preview: git clean -n}]\n")
    failures = check_spec_examples(load_specs([str(tmp_path)]), Classifier(ruleset, Config()), example_context())
    assert failures and "derives 'git clean -f -n', not 'git clean -n'" in failures[0]


def test_a_preview_that_is_not_read_only_never_runs(tmp_path: Path, repo: Path, ruleset: RuleSet,
                                                    env: dict[str, str]) -> None:
    """A spec that forgets the dry-run flag derives the destructive command itself: refused."""
    (tmp_path / "p.yaml").write_text(
        "previews:\n  - id: careless\n    what: w\n    match: {program: git, subcommand: clean}\n"
        "    transform: {append: [-q]}\n    examples: [{command: git clean -f, preview: git clean -f -q}]\n")
    (repo / "junk.txt").write_text("untracked\n")
    cfg = Config()
    verdict = Classifier(ruleset, cfg).classify("git clean -f", Context(str(repo), cfg, env=env))
    result = compute(verdict, ruleset, cfg, env=env, cwd=str(repo), spec_dirs=[str(tmp_path)])
    sec = result["items"][0]["sections"][0]
    assert sec["status"] == "refused" and "not run: guardsh classifies it destructive" in sec["summary"]
    assert (repo / "junk.txt").exists()
    assert read_only_reason(Classifier(ruleset, cfg), ["git", "clean", "-n"], Context(str(repo), cfg)) is None


def test_only_risky_commands_with_a_spec_are_planned(ruleset: RuleSet) -> None:
    classifier = Classifier(ruleset, Config())
    ctx = example_context()
    plans = plan_previews(classifier.classify("ls && git status && git clean -fd", ctx), classifier, load_specs(), ctx)
    assert [p["spec"] for p in plans] == ["git-clean"]
    unresolved = plan_previews(classifier.classify('kubectl delete -f "$DIR"', ctx), classifier, load_specs(), ctx)
    assert unresolved[0]["problem"] == "no preview: '$DIR' is only known when the command runs"
    elsewhere = plan_previews(classifier.classify('cd "$X" && git clean -fd', ctx), classifier, load_specs(), ctx)
    assert elsewhere[0]["problem"] == "no preview: the directory it runs in is only known when the command runs"


# --- local previews: real rm, find, git, rsync ---------------------------------------------------------

def test_rm_counts_sizes_largest_and_uncommitted(repo: Path, ruleset: RuleSet, env: dict[str, str]) -> None:
    (repo / "src" / "app.py").write_text("print('v2, not committed')\n")
    (repo / "src" / "notes.txt").write_text("never committed\n")
    result = preview(ruleset, "rm -rf src", repo, env)
    out = text_of(result)
    assert "would remove: 3 files, 1 directory, 293.0 KiB" in out, out
    assert out.index("src/big.bin") < out.index("src/app.py")  # the largest first
    assert "2 tracked files (committed versions stay in git); 1 with uncommitted changes (lost); 1 untracked (lost)" in out
    assert "uncommitted: src/app.py" in out and "untracked: src/notes.txt" in out
    assert (repo / "src" / "app.py").exists()


def test_rm_glob_is_expanded_in_the_requesters_directory(repo: Path, ruleset: RuleSet, env: dict[str, str]) -> None:
    out = text_of(preview(ruleset, "cd src && rm -f *.py missing.txt", repo, env))
    assert "would remove: 1 file, 0 directories, 12 B" in out and "not there: missing.txt" in out, out


def test_find_delete_lists_what_the_same_search_finds(repo: Path, ruleset: RuleSet, env: dict[str, str]) -> None:
    (repo / "a.log").write_text("1234")
    (repo / "src" / "b.log").write_text("12")
    out = text_of(preview(ruleset, "find . -name '*.log' -delete", repo, env))
    assert "would remove: 2 files, 0 directories, 6 B" in out and "find . -name *.log -print" in out, out
    assert "2 untracked (lost)" in out
    assert (repo / "a.log").exists()


def test_git_clean_dry_run_with_the_same_flags(repo: Path, ruleset: RuleSet, env: dict[str, str]) -> None:
    (repo / "junk").mkdir()
    (repo / "junk" / "x").write_text("x")
    (repo / ".gitignore").write_text("*.tmp\n")
    (repo / "cache.tmp").write_text("x")
    out = text_of(preview(ruleset, "git clean -fdx", repo, env))
    assert "[git clean -dx -n]" in out and "Would remove junk/" in out and "Would remove cache.tmp" in out, out
    out = text_of(preview(ruleset, "git clean -fd", repo, env))
    assert "Would remove junk/" in out and "cache.tmp" not in out
    assert (repo / "junk" / "x").exists()


def test_git_reset_hard_and_checkout_show_what_is_lost(repo: Path, ruleset: RuleSet, env: dict[str, str]) -> None:
    (repo / "README").write_text("readme\nedited\n")
    git(repo, "commit", "-qam", "two")
    (repo / "src" / "app.py").write_text("print('work in progress')\n")
    (repo / "new.txt").write_text("new")
    out = text_of(preview(ruleset, "git reset --hard HEAD~1", repo, env))
    assert "src/app.py | 2 +-" in out, out
    assert "commits that would leave the branch: 1 commit" in out and " two" in out
    assert "untracked files (reset keeps them): 1 line" in out and "new.txt" in out
    out = text_of(preview(ruleset, "git checkout -- .", repo, env))
    assert "unstaged changes that would be lost" in out and "src/app.py | 2 +-" in out, out
    assert "print('work in progress')" in (repo / "src" / "app.py").read_text()


def test_git_branch_D_shows_the_unmerged_commits(repo: Path, ruleset: RuleSet, env: dict[str, str]) -> None:
    git(repo, "checkout", "-qb", "feature")
    (repo / "f.txt").write_text("f")
    git(repo, "add", "f.txt")
    git(repo, "commit", "-qm", "unmerged work")
    git(repo, "checkout", "-q", "main")
    git(repo, "branch", "merged")
    out = text_of(preview(ruleset, "git branch -D feature merged", repo, env))
    assert "unmerged commits on feature: 1 commit" in out and "unmerged work" in out, out
    assert "unmerged commits on merged: none" in out


def test_git_push_force_lists_the_commits_the_remote_loses(tmp_path: Path, repo: Path, ruleset: RuleSet,
                                                           env: dict[str, str]) -> None:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    git(repo, "push", "-q", "-u", "origin", "main")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(bare), str(other))
    git(other, "config", "user.email", "o@example.com")
    git(other, "config", "user.name", "o")
    (other / "theirs.txt").write_text("theirs")
    git(other, "add", ".")
    git(other, "commit", "-qm", "a colleague's commit")
    git(other, "push", "-q", "origin", "main")
    git(repo, "fetch", "-q", "origin")
    (repo / "mine.txt").write_text("mine")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "my rewrite")
    out = text_of(preview(ruleset, "git push --force origin main", repo, env))
    assert "commits origin/main would lose: 1 commit" in out and "a colleague's commit" in out, out
    assert "remote moved" not in out
    out = text_of(preview(ruleset, "git push origin +HEAD:main", repo, env))  # forced by the refspec alone
    assert "commits origin/main would lose: 1 commit" in out and "a colleague's commit" in out, out
    # the remote moves again after our last fetch: the preview says the comparison is stale
    (other / "later.txt").write_text("later")
    git(other, "add", ".")
    git(other, "commit", "-qm", "pushed after your fetch")
    git(other, "push", "-q", "origin", "main")
    out = text_of(preview(ruleset, "git push -f", repo, env))  # the upstream, found by @{push}
    assert "the remote moved since the last fetch" in out, out
    assert git(bare, "log", "--oneline", "main").count("\n") == 3  # nothing was pushed


@pytest.mark.skipif(shutil.which("rsync") is None, reason="rsync is not installed and test.sh could not install it")
def test_rsync_delete_runs_the_same_command_with_n(tmp_path: Path, ruleset: RuleSet, env: dict[str, str]) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    dst.mkdir()
    (src / "keep.txt").write_text("new content")
    (dst / "keep.txt").write_text("old")
    (dst / "stale.txt").write_text("only in the destination")
    out = text_of(preview(ruleset, f"rsync -a --delete {src}/ {dst}/", tmp_path, env))
    assert "1 to delete, 1 to copy or update" in out and "*deleting   stale.txt" in out, out
    assert (dst / "stale.txt").exists()


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="sqlite3 is not installed and test.sh could not install it")
def test_sql_counts_rows_in_a_local_sqlite_file_only(tmp_path: Path, ruleset: RuleSet, env: dict[str, str]) -> None:
    import sqlite3

    db = sqlite3.connect(tmp_path / "app.db")
    db.execute("CREATE TABLE users (id INTEGER, name TEXT)")
    db.executemany("INSERT INTO users VALUES (?, ?)", [(i, f"u{i}") for i in range(10)])
    db.commit()
    db.close()
    out = text_of(preview(ruleset, "sqlite3 app.db 'DELETE FROM users WHERE id > 3'", tmp_path, env))
    assert "statement: DELETE FROM users WHERE id > 3" in out and "tables: users" in out, out
    assert "rows affected in users: 1 line" in out and "\n    6" in out
    out = text_of(preview(ruleset, "sqlite3 app.db 'DELETE FROM users WHERE id > abs(3)'", tmp_path, env))
    assert "not queried (the condition calls functions" in out
    out = text_of(preview(ruleset, "psql -h db.example.com -c 'DROP TABLE orders, users'", tmp_path, env))
    assert "tables: orders, users" in out and "psql talks to a database server" in out, out
    count = sqlite3.connect(tmp_path / "app.db").execute("SELECT count(*) FROM users").fetchone()[0]
    assert count == 10


# --- infrastructure, with fake tools -------------------------------------------------------------------

def test_kubectl_server_dry_run_names_the_objects(tmp_path: Path, ruleset: RuleSet, env: dict[str, str]) -> None:
    """Fake kubectl stands for kubectl: --dry-run=server -o name lists the manifests' objects."""
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "app.yaml").write_text("kind: Deployment\nmetadata:\n  name: web\n---\n"
                                               "kind: Service\nmetadata:\n  name: web\n")
    (tmp_path / "k8s" / "db.yaml").write_text("kind: PersistentVolumeClaim\nmetadata:\n  name: data\n")
    env = env | {"KUBECONFIG": str(tmp_path / "agent-kubeconfig")}
    out = text_of(preview(ruleset, "kubectl delete -f k8s/", tmp_path, env))
    assert "4 objects" in out and "deployment/web" in out and "persistentvolumeclaim/data" in out, out
    assert "configmap/cluster-from-agent-kubeconfig" in out  # the requester's environment
    call = fake_calls(env)[-1]
    assert call["argv"] == ["delete", "-f", "k8s/", "--dry-run=server", "-o", "name"] and call["cwd"] == str(tmp_path)


def test_kubectl_namespace_delete_shows_what_it_holds(tmp_path: Path, ruleset: RuleSet, env: dict[str, str]) -> None:
    env = env | {"FAKE_KUBE_OBJECTS": "pod/api-1,service/api,persistentvolumeclaim/ledger"}
    out = text_of(preview(ruleset, "kubectl delete namespace payments", tmp_path, env))
    assert "in namespace payments: 3 objects" in out and "persistentvolumeclaim/ledger" in out, out


def test_terraform_plan_summary(tmp_path: Path, ruleset: RuleSet, env: dict[str, str]) -> None:
    """Fake terraform stands for terraform: plan [-destroy] -lock=false -no-color, summarised."""
    infra = tmp_path / "infra"
    infra.mkdir()
    (infra / "main.tf").write_text('resource "aws_s3_bucket" "logs" {}\nresource "aws_instance" "web" {}\n')
    (infra / "fake.tfstate").write_text("aws_s3_bucket.logs aws_db_instance.main\n")
    out = text_of(preview(ruleset, "cd infra && terraform apply -auto-approve", tmp_path, env))
    assert "1 to add, 0 to change, 1 to destroy" in out and "destroyed: aws_db_instance.main" in out, out
    assert out.index("destroyed: aws_db_instance.main") < out.index("created: aws_instance.web")
    out = text_of(preview(ruleset, "terraform -chdir=infra destroy", tmp_path, env))
    assert "0 to add, 0 to change, 2 to destroy" in out, out
    assert all("-lock=false" in c["argv"] for c in fake_calls(env))


def test_helm_dry_run_and_the_output_bound(tmp_path: Path, ruleset: RuleSet, env: dict[str, str]) -> None:
    """Fake helm stands for helm 3: uninstall/upgrade/rollback --dry-run."""
    out = text_of(preview(ruleset, "helm uninstall web -n shop", tmp_path, env))
    assert 'release "web" uninstalled' in out, out
    result = preview(ruleset, "helm upgrade web ./chart", tmp_path, env | {"FAKE_HELM_LINES": "100000"})
    sec = result["items"][0]["sections"][0]
    assert "(output cut)" in sec["summary"] and len(sec["lines"]) == MAX_LINES + 1, sec["summary"]


def test_aws_dry_run_answers(tmp_path: Path, ruleset: RuleSet, env: dict[str, str]) -> None:
    """Fake aws stands for the AWS CLI: ec2 --dry-run answers DryRunOperation / UnauthorizedOperation."""
    out = text_of(preview(ruleset, "aws ec2 terminate-instances --instance-ids i-0abc", tmp_path, env))
    assert "AWS would carry it out (DryRunOperation" in out, out
    out = text_of(preview(ruleset, "aws ec2 terminate-instances --instance-ids i-denied1", tmp_path, env))
    assert "AWS would refuse it: not authorised" in out


def test_a_slow_preview_is_stopped_at_the_timeout_and_shown(tmp_path: Path, ruleset: RuleSet,
                                                            env: dict[str, str]) -> None:
    fifo = tmp_path / "never"
    os.mkfifo(fifo)  # the fake blocks on it forever: nobody writes
    started = time.monotonic()
    result = preview(ruleset, "helm rollback web 3", tmp_path, env | {"FAKE_BLOCK": str(fifo)}, preview_timeout=1)
    assert time.monotonic() - started < 8
    sec = result["items"][0]["sections"][0]
    assert sec["status"] == "timeout" and sec["summary"].startswith("timed out"), sec


def test_a_failing_preview_is_shown(tmp_path: Path, ruleset: RuleSet, env: dict[str, str]) -> None:
    out = text_of(preview(ruleset, "kubectl apply -f missing.yaml", tmp_path, env))
    assert 'failed (exit 1): error: the path "missing.yaml" does not exist' in out, out


def test_check_preview_prints_the_same_preview(repo: Path, run_guardsh, guardsh_env) -> None:  # type: ignore[no-untyped-def]
    (repo / "junk.txt").write_text("x")
    done = run_guardsh("check", "--preview", "--", "git clean -f", cwd=str(repo))
    out = done.stdout.decode()
    assert done.returncode == 0 and "preview of: git clean -f" in out and "Would remove junk.txt" in out, out
    done = run_guardsh("check", "--json", "--preview", "--", "git clean -f", cwd=str(repo))
    data = json.loads(done.stdout)
    assert data["decision"] == "ask" and data["preview"]["items"][0]["sections"][0]["lines"] == ["Would remove junk.txt"]
    plain = json.loads(run_guardsh("check", "--json", "--", "git clean -f", cwd=str(repo)).stdout)
    assert "preview" not in plain  # the public shape is unchanged without --preview
    assert (repo / "junk.txt").exists()


def test_preview_timeout_is_validated_and_zero_turns_previews_off(ruleset: RuleSet) -> None:
    from guardsh.approval.previewing import Previewer
    from guardsh.engine.config import ConfigError, validate

    with pytest.raises(ConfigError, match="config.yaml: key 'preview_timeout' must be a number of seconds"):
        validate("config.yaml", {"preview_timeout": "soon"})
    verdict = Classifier(ruleset, Config()).classify("git clean -fd", example_context())
    assert Previewer(verdict, Config({"preview_timeout": 0}), {}).wanted is False
    assert Previewer(verdict, Config(), dict(os.environ)).wanted is True
    assert Previewer(Classifier(ruleset, Config()).classify("touch x", example_context()), Config(), {}).wanted is False
