"""Production awareness (issue 6): the context a command acts on escalates its risk.

In a production context reversible changes ask, destructive ones become catastrophic (deny),
read-only stays read-only; ``terraform apply`` (the deploy step) stays an ``ask``.  The verdict
carries a ``production-context`` match saying where the context came from, and a note
``production: NAME`` that makes the approver ask the human to type NAME.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Callable

import pytest

from guardsh.approval.request import production_name
from guardsh.engine import production
from guardsh.engine.classify import Classifier
from guardsh.engine.config import Config, ConfigError, validate
from guardsh.engine.context import Context
from guardsh.engine.model import Decision, Risk, Verdict
from guardsh.engine.report import human_check
from guardsh.engine.ruleset import RuleSet

Run = Callable[..., Verdict]


def _prod(verdict: Verdict) -> list[str]:
    return [m.reason for m in verdict.matches if m.rule == production.RULE_ID]


# --- the issue's three examples ------------------------------------------------------------------

@pytest.mark.parametrize(("command", "name", "source"), [
    ("kubectl --context prod-eu apply -f x.yaml", "prod-eu", "--context"),
    ("AWS_PROFILE=prod aws s3 cp a s3://b/a", "prod", "AWS_PROFILE="),
    ("terraform -chdir=envs/prod apply", "prod", "-chdir=envs/prod"),
])
def test_issue_examples_ask_and_say_why(classify: Callable[[str], Verdict], command: str, name: str,
                                        source: str) -> None:
    verdict = classify(command)
    assert verdict.decision == Decision.ASK
    reasons = _prod(verdict)
    assert len(reasons) == 1 and name in reasons[0] and f"(from {source})" in reasons[0], reasons
    assert production_name(verdict) == name
    assert "production-context" in human_check(verdict) and f"from {source}" in human_check(verdict)


@pytest.mark.parametrize("command", [
    "kubectl --context staging-eu apply -f x.yaml",
    "AWS_PROFILE=staging aws s3 cp a s3://b/a",
])
def test_the_same_against_staging_does_not_ask(classify: Callable[[str], Verdict], command: str) -> None:
    verdict = classify(command)
    assert verdict.decision == Decision.ALLOW and not _prod(verdict)
    assert production_name(verdict) is None


def test_terraform_apply_asks_anyway_but_only_production_needs_the_name(classify: Callable[[str], Verdict]) -> None:
    """terraform apply is destructive in the rules (it asks everywhere); in production it stays
    ``ask`` (a deploy must stay approvable) and the human has to type the context's name."""
    staging = classify("terraform -chdir=envs/staging apply")
    assert staging.decision == Decision.ASK and not _prod(staging) and production_name(staging) is None
    prod = classify("terraform -chdir=envs/prod apply")
    assert prod.risk == Risk.DESTRUCTIVE and production_name(prod) == "prod"


# --- escalation ------------------------------------------------------------------------------

@pytest.mark.parametrize(("command", "risk"), [
    # read-only stays read-only
    ("kubectl --context prod-eu get pods", Risk.READ_ONLY),
    ("aws --profile prod s3 ls", Risk.READ_ONLY),
    ("terraform -chdir=envs/prod plan", Risk.READ_ONLY),
    ("kubectl --context prod-eu apply -f x.yaml --help", Risk.READ_ONLY),
    # reversible -> destructive
    ("kubectl --context=prod-eu rollout restart deploy/web", Risk.DESTRUCTIVE),
    ("helm --kube-context prod-us upgrade web ./chart", Risk.DESTRUCTIVE),
    ("gcloud compute instances create vm1 --project acme-prod", Risk.DESTRUCTIVE),
    ("CLOUDSDK_CORE_PROJECT=acme-prod gcloud run deploy web --image x", Risk.DESTRUCTIVE),
    ("az vm create -n vm1 --subscription prod-sub --image Ubuntu2204", Risk.DESTRUCTIVE),
    ("AWS_DEFAULT_PROFILE=live aws lambda invoke --function-name f out.json", Risk.DESTRUCTIVE),
    ("TF_WORKSPACE=production terraform import aws_s3_bucket.b b", Risk.CATASTROPHIC),
    ("kubectl -n kube-system rollout restart deploy/coredns", Risk.DESTRUCTIVE),
    # destructive -> catastrophic
    ("kubectl --context prod-eu delete deploy web", Risk.CATASTROPHIC),
    ("aws --profile acme-prod ec2 terminate-instances --instance-ids i-1", Risk.CATASTROPHIC),
    ("terraform -chdir=envs/prod destroy", Risk.CATASTROPHIC),
    ("cd envs/prod && terraform destroy", Risk.CATASTROPHIC),  # the cd is followed
    ("cd envs/dev && terraform destroy", Risk.DESTRUCTIVE),
    # a system namespace asks but is not a production cluster: a kube-system pod is recreated
    ("kubectl -n kube-system delete pod coredns-1", Risk.DESTRUCTIVE),
    # changes that stay on this machine are not escalated
    ("aws s3 cp s3://bucket/report.csv . --profile prod", Risk.REVERSIBLE),
    ("aws eks update-kubeconfig --name c --profile prod", Risk.REVERSIBLE),
    ("kubectl --context prod-eu config set-context --current --namespace web", Risk.REVERSIBLE),
    ("terraform -chdir=envs/prod plan -out tfplan", Risk.REVERSIBLE),
    ("terraform -chdir=envs/prod workspace select prod", Risk.REVERSIBLE),
    ("terraform -chdir=envs/prod workspace delete old", Risk.CATASTROPHIC),  # deletes remote state
])
def test_escalation(classify: Callable[[str], Verdict], command: str, risk: Risk) -> None:
    verdict = classify(command)
    assert verdict.risk == risk, [m.to_json() for m in verdict.matches]


@pytest.mark.parametrize("name", [
    "prod", "production", "prod-eu-1", "acme_prod", "acmeProd", "prd01", "eu-prd", "live", "arn:aws:eks:eu-west-1:1:cluster/prod",
])
def test_production_names(name: str) -> None:
    assert production.Settings().is_production(name)


@pytest.mark.parametrize("name", [
    "preprod", "pre-prod", "pre_prod-eu", "nonprod", "non-prod", "NonProd", "staging", "dev", "product-catalog",
    "reproduce", "deliver", "liveness", "olive", "",
])
def test_not_production_names(name: str) -> None:
    assert not production.Settings().is_production(name)


@pytest.mark.parametrize("command", [
    "kubectl --context preprod-eu apply -f x.yaml",
    "AWS_PROFILE=non-prod aws s3 cp a s3://b/a",
    "terraform -chdir=envs/preprod apply -auto-approve",
    "gcloud compute instances create vm1 --project acme-nonprod",
])
def test_exclusions(classify: Callable[[str], Verdict], command: str) -> None:
    assert not _prod(classify(command))


# --- files: kubeconfig, .terraform/environment, gcloud configuration --------------------------

def _kubeconfig(path: Path, context: str) -> None:
    path.write_text(
        "apiVersion: v1\nkind: Config\nclusters: []\ncontexts:\n- context: {cluster: c, user: u}\n"
        f"  name: {context}\ncurrent-context: {context}\npreferences: {{}}\n")


def test_current_context_from_the_kubeconfig_file(classify_in: Run, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig.yaml"
    _kubeconfig(kubeconfig, "prod-eu-1")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "KUBECONFIG": str(kubeconfig)}
    verdict = classify_in("kubectl apply -f x.yaml", str(tmp_path), str(tmp_path), env)
    assert verdict.decision == Decision.ASK
    assert production_name(verdict) == "prod-eu-1"
    assert any("current-context in" in r for r in _prod(verdict))
    # the file changes (kubectx staging): the cached value is not reused
    _kubeconfig(kubeconfig, "staging-eu-1")
    st = kubeconfig.stat()
    os.utime(kubeconfig, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    verdict = classify_in("kubectl apply -f x.yaml", str(tmp_path), str(tmp_path), env)
    assert verdict.decision == Decision.ALLOW and not _prod(verdict)
    # an explicit --context wins over the file
    _kubeconfig(kubeconfig, "prod-eu-1")
    verdict = classify_in("kubectl --context dev apply -f x.yaml", str(tmp_path), str(tmp_path), env)
    assert not _prod(verdict)


def test_kubeconfig_option_and_default_file(classify_in: Run, tmp_path: Path) -> None:
    (tmp_path / ".kube").mkdir()
    _kubeconfig(tmp_path / ".kube" / "config", "live-cluster")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    verdict = classify_in("helm upgrade web ./chart", str(tmp_path), str(tmp_path), env)
    assert production_name(verdict) == "live-cluster"
    other = tmp_path / "dev.yaml"
    _kubeconfig(other, "dev")
    verdict = classify_in(f"kubectl --kubeconfig {other} apply -f x.yaml", str(tmp_path), str(tmp_path), env)
    assert not _prod(verdict)


def test_current_context_scanner(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("apiVersion: v1\ncontexts:\n- name: a\n  context:\n    current-context: nested\n"
                    "current-context: \"prod-x\"  # chosen by kubectx\n")
    assert production.current_context(str(path)) == "prod-x"
    assert production.current_context(str(tmp_path / "missing")) is None


def test_terraform_selected_workspace(classify_in: Run, tmp_path: Path) -> None:
    stack = tmp_path / "stack"
    (stack / ".terraform").mkdir(parents=True)
    (stack / ".terraform" / "environment").write_text("production")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    verdict = classify_in("terraform destroy", str(stack), str(tmp_path), env)
    assert verdict.decision == Decision.DENY and production_name(verdict) == "production"
    assert any(".terraform/environment" in r for r in _prod(verdict))
    verdict = classify_in("terraform -chdir=stack apply", str(tmp_path), str(tmp_path), env)
    assert verdict.decision == Decision.ASK and production_name(verdict) == "production"
    # TF_WORKSPACE overrides the selected workspace
    env["TF_WORKSPACE"] = "staging"
    verdict = classify_in("terraform destroy", str(stack), str(tmp_path), env)
    assert verdict.decision == Decision.ASK and not _prod(verdict)
    (stack / ".terraform" / "environment").write_text("dev")
    del env["TF_WORKSPACE"]
    assert not _prod(classify_in("terraform destroy", str(stack), str(tmp_path), env))


def test_terraform_directory_of_the_cwd(classify_in: Run, tmp_path: Path) -> None:
    repo = tmp_path / "infra"
    (repo / ".git").mkdir(parents=True)
    (repo / "envs" / "prod").mkdir(parents=True)
    (repo / "envs" / "dev").mkdir(parents=True)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    assert production_name(classify_in("terraform destroy", str(repo / "envs" / "prod"), str(tmp_path), env)) == "prod"
    assert not _prod(classify_in("terraform destroy", str(repo / "envs" / "dev"), str(tmp_path), env))


def test_gcloud_active_configuration(classify_in: Run, tmp_path: Path) -> None:
    gcloud = tmp_path / ".config" / "gcloud"
    (gcloud / "configurations").mkdir(parents=True)
    (gcloud / "active_config").write_text("work\n")
    (gcloud / "configurations" / "config_work").write_text("[core]\naccount = me@example.com\nproject = acme-prod\n")
    (gcloud / "configurations" / "config_default").write_text("[core]\nproject = acme-dev\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    verdict = classify_in("gcloud compute instances create vm1", str(tmp_path), str(tmp_path), env)
    assert verdict.decision == Decision.ASK and production_name(verdict) == "acme-prod"
    assert any("gcloud configuration work" in r for r in _prod(verdict))
    assert classify_in("gcloud compute instances list", str(tmp_path), str(tmp_path), env).decision == Decision.ALLOW
    env["CLOUDSDK_CORE_PROJECT"] = "acme-dev"
    assert not _prod(classify_in("gcloud compute instances create vm1", str(tmp_path), str(tmp_path), env))
    del env["CLOUDSDK_CORE_PROJECT"]
    (gcloud / "active_config").write_text("default\n")
    assert not _prod(classify_in("gcloud compute instances create vm1", str(tmp_path), str(tmp_path), env))


# --- configuration ---------------------------------------------------------------------------

def _classifier(ruleset: RuleSet, production_conf: dict[str, object]) -> Callable[..., Verdict]:
    classifier = Classifier(ruleset, Config({"production": production_conf}))

    def run(text: str, env: dict[str, str] | None = None, cwd: str = "/home/user/project") -> Verdict:
        env = {"PATH": "/usr/bin:/bin", "HOME": "/home/user", **(env or {})}
        return classifier.classify(text, Context(cwd, classifier.config, env=env, home="/home/user",
                                                 workspace=cwd, read_files=False))
    return run


def test_configured_patterns_and_exclusions(ruleset: RuleSet) -> None:
    run = _classifier(ruleset, {"patterns": ["main", "*-critical"], "exclude": ["sandbox-*"]})
    assert production_name(run("kubectl --context eu-main apply -f x.yaml")) == "eu-main"
    assert production_name(run("kubectl --context db-critical apply -f x.yaml")) == "db-critical"
    assert not _prod(run("kubectl --context prod apply -f x.yaml"))  # the defaults were replaced
    assert not _prod(run("kubectl --context sandbox-main apply -f x.yaml"))


def test_aws_accounts(ruleset: RuleSet, tmp_path: Path) -> None:
    run = _classifier(ruleset, {"aws_accounts": ["111122223333", 4444]})
    verdict = run("aws lambda update-function-configuration --function-name "
                  "arn:aws:lambda:eu-west-1:111122223333:function:f --timeout 30")
    assert verdict.decision == Decision.ASK and production_name(verdict) == "111122223333"
    assert not _prod(run("aws lambda update-function-configuration --function-name "
                         "arn:aws:lambda:eu-west-1:999988887777:function:f --timeout 30"))
    # the profile's account, read from ~/.aws/config
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "config").write_text(
        "[default]\nregion = eu-west-1\n[profile ops]\nsso_account_id = 111122223333\nsso_role_name = Admin\n"
        "[profile sandbox]\nrole_arn = arn:aws:iam::999988887777:role/x\n")
    classifier = Classifier(ruleset, Config({"production": {"aws_accounts": ["111122223333"]}}))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}

    def real(text: str) -> Verdict:
        return classifier.classify(text, Context(str(tmp_path), classifier.config, env=env, home=str(tmp_path)))

    assert production_name(real("aws --profile ops s3 cp a s3://b/a")) == "111122223333"
    assert not _prod(real("aws --profile sandbox s3 cp a s3://b/a"))
    assert not _prod(real("aws s3 cp a s3://b/a"))


def test_ssh_hosts(ruleset: RuleSet) -> None:
    run = _classifier(ruleset, {"ssh_hosts": ["db1", "*.prod.example.com"]})
    assert run("ssh db1 'systemctl restart postgresql'").decision == Decision.ASK
    assert production_name(run("ssh admin@web3.prod.example.com 'systemctl restart nginx'")) == "web3.prod.example.com"
    assert run("ssh db1 uptime").decision == Decision.ALLOW
    assert run("ssh db1 'rm -rf /var/lib/postgresql/old'").decision == Decision.DENY
    assert run("ssh db1").decision == Decision.ASK  # an interactive shell on a production host
    assert run("ssh web1 'systemctl restart nginx'").decision == Decision.ALLOW
    # hosts are only what the config lists: by default no ssh host is production
    assert not _prod(_classifier(ruleset, {})("ssh prod-db 'systemctl restart x'"))


def test_kube_namespaces(ruleset: RuleSet) -> None:
    run = _classifier(ruleset, {"kube_namespaces": ["payments"]})
    assert run("kubectl -n payments rollout restart deploy/api").decision == Decision.ASK
    assert run("kubectl -n kube-system rollout restart deploy/coredns").decision == Decision.ALLOW


def test_disabled(ruleset: RuleSet) -> None:
    classifier = Classifier(ruleset, Config({"disabled_rules": [production.RULE_ID]}))
    from guardsh.engine.examples import example_context

    verdict = classifier.classify("kubectl --context prod-eu apply -f x.yaml", example_context())
    assert verdict.decision == Decision.ALLOW and not _prod(verdict)


@pytest.mark.parametrize("value", [
    ["prod"], {"patterns": "prod"}, {"pattern": ["prod"]}, {"ssh_hosts": [1]}, {"aws_accounts": [True]},
])
def test_config_validation(value: object) -> None:
    with pytest.raises(ConfigError, match="production"):
        validate("config.yaml", {"production": value})


def test_config_accepts_the_documented_keys() -> None:
    doc = {"production": {"patterns": ["prod", "live"], "exclude": ["*preprod*"], "aws_accounts": ["111122223333"],
                          "ssh_hosts": ["db1"], "kube_namespaces": ["kube-system"]}}
    assert Config(validate("config.yaml", doc)).production == doc["production"]


# --- the public shape -------------------------------------------------------------------------

def test_check_json_shape(run_guardsh: Callable[..., subprocess.CompletedProcess[bytes]]) -> None:
    import json

    result = run_guardsh("check", "--json", "--", "kubectl --context prod-eu apply -f x.yaml")
    data = json.loads(result.stdout)
    assert set(data) == {"command", "decision", "risk", "matches", "parse"}
    assert data["decision"] == "ask"
    match = next(m for m in data["matches"] if m["rule"] == "production-context")
    assert set(match) == {"rule", "risk", "reason", "suggest", "at"}
    assert "kube context prod-eu (from --context)" in match["reason"]


def test_only_context_programs_do_work() -> None:
    from guardsh.engine.model import Command, Word

    assert not production.wanted(Command((Word("rm"), Word("-rf"), Word("x"))))
    assert not production.wanted(Command((Word("echo"), Word("--context"), Word("prod"))))
    assert production.wanted(Command((Word("kubectl"), Word("apply"))))
    assert production.wanted(Command((Word("systemctl"), Word("restart"), Word("x")), via=("ssh db1",)))
