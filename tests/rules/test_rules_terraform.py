"""rules.d/terraform.yaml: real-world terraform, tofu and terragrunt commands and their risk."""
from __future__ import annotations

from typing import Callable

import pytest

from guardsh.engine.model import Decision, Risk, Verdict

RO, REV, DES, CAT = "read-only", "reversible", "destructive", "catastrophic"

CASES = [
    # --- reading: plans, state, outputs ---
    ("terraform plan", RO),
    ("terraform plan -destroy", RO),
    ("terraform plan -var 'instance_type=t3.large' -var-file=prod.tfvars", RO),
    ("terraform plan -target=module.vpc -target aws_subnet.a", RO),
    ("terraform plan -refresh-only", RO),
    ("terraform plan -detailed-exitcode -input=false -lock=false", RO),
    ("terraform plan -replace=aws_instance.web", RO),
    ("terraform -chdir=envs/prod plan", RO),
    ("terraform -chdir=envs/dev plan -var-file=dev.tfvars", RO),
    ("terraform validate -json", RO),
    ("terraform fmt -check -recursive -diff", RO),
    ("terraform show", RO),
    ("terraform show -json tfplan | jq '.resource_changes[] | select(.change.actions | index(\"delete\"))'", RO),
    ("terraform output", RO),
    ("terraform output -raw kubeconfig", RO),
    ("terraform output destroy_command", RO),
    ("terraform graph -type=plan-destroy", RO),
    ("terraform providers", RO),
    ("terraform providers schema -json | jq '.provider_schemas | keys'", RO),
    ("terraform version -json", RO),
    ("terraform -version", RO),
    ("terraform state list", RO),
    ("terraform state list -id=sg-1234abcd", RO),
    ("terraform state show 'module.db.aws_db_instance.main'", RO),
    ("terraform state pull | jq .serial", RO),
    ("terraform state rm -dry-run module.old", RO),
    ("terraform state mv -dry-run aws_instance.a aws_instance.b", RO),
    ("terraform workspace list", RO),
    ("terraform workspace show", RO),
    ("echo 'local.tags' | terraform console", RO),
    ("terraform -help", RO),
    ("terraform destroy -help", RO),
    ("terraform apply -auto-approve -h", RO),
    ("tofu plan -var-file=staging.tfvars", RO),
    ("tofu show -json", RO),
    ("terragrunt plan", RO),
    ("terragrunt run-all plan --terragrunt-non-interactive", RO),
    ("terragrunt run --all plan", RO),
    ("terragrunt run --all -- plan -detailed-exitcode", RO),
    ("terragrunt run -- output -json", RO),
    ("terragrunt output vpc_id", RO),
    ("terragrunt hclfmt --terragrunt-check", RO),
    ("terragrunt hcl fmt --check", RO),
    ("terraform fmt -check && terraform validate && terraform plan", RO),
    # --- reversible: local files, workspaces, plan files ---
    ("terraform init", REV),
    ("terraform init -upgrade", REV),
    ("terraform init -backend-config=backend.hcl -reconfigure", REV),
    ("terraform init -migrate-state", REV),
    ("terraform init -input=false -backend=false", REV),
    ("terraform get -update", REV),
    ("terraform fmt", REV),
    ("terraform fmt -recursive", REV),
    ("terraform plan -out=tfplan", REV),
    ("terraform plan -out tfplan -var-file=prod.tfvars", REV),
    ("terraform plan -destroy -out=destroy.tfplan", REV),
    ("terraform workspace new feature-x", REV),
    ("terraform workspace select -or-create staging", REV),
    ("terraform providers lock -platform=linux_amd64 -platform=darwin_arm64", REV),
    ("terraform providers mirror ./mirror", REV),
    ("terraform untaint aws_instance.web", REV),
    ("terraform login app.terraform.io", REV),
    ("terraform test", REV),
    ("terraform fmt -check && terraform validate && terraform plan -out=tfplan", REV),
    ("tofu init", REV),
    ("terragrunt init", REV),
    ("terragrunt run-all init", REV),
    ("terragrunt hclfmt", REV),
    # --- destructive: asks ---
    ("terraform apply", DES),
    ("terraform apply tfplan", DES),
    ("terraform apply -auto-approve", DES),
    ("terraform apply -auto-approve -var-file=prod.tfvars", DES),
    ("terraform apply -target=aws_instance.web", DES),
    ("terraform apply -replace=\"aws_instance.example[0]\"", DES),
    ("terraform apply -refresh-only", DES),
    ("terraform apply -refresh-only -auto-approve", DES),
    ("terraform apply -destroy", DES),
    ("terraform apply -destroy -auto-approve -target=module.preview", DES),
    ("terraform apply -lock=false -parallelism=20", DES),
    ("terraform -chdir=envs/prod apply", DES),
    ("TF_VAR_env=prod terraform apply -auto-approve", DES),
    ("sudo -E env PATH=$PATH terraform apply -auto-approve", DES),
    ("terraform plan -out=tfplan && terraform apply tfplan", DES),
    ("terraform plan -destroy -out=destroy.tfplan && terraform apply destroy.tfplan", DES),
    ("echo yes | terraform apply", DES),
    ("terraform refresh", DES),
    ("terraform destroy", DES),
    ("terraform destroy -target=aws_instance.web", DES),
    ("terraform destroy -auto-approve -target=aws_instance.web", DES),
    ("terraform destroy -auto-approve=false", DES),
    ("nice -n 10 terraform destroy", DES),
    ("terraform state rm 'aws_instance.example'", DES),
    ("terraform state rm -dry-run=false module.old", DES),
    ("terraform state mv 'module.app' 'module.parent.module.app'", DES),
    ("terraform state push terraform.tfstate", DES),
    ("terraform state push -force terraform.tfstate", DES),
    ("terraform state replace-provider hashicorp/aws registry.acme.corp/acme/aws", DES),
    ("terraform state list | grep old | xargs -n1 terraform state rm", DES),
    ("terraform import aws_instance.foo i-abcd1234", DES),
    ("terraform import -var-file=prod.tfvars 'aws_s3_bucket.logs' my-logs-bucket", DES),
    ("terraform taint aws_instance.web", DES),
    ("terraform workspace delete dev", DES),
    ("terraform workspace delete -force staging", DES),
    ("terraform force-unlock -force 6638c11c-bc55-90f3-1a67-3e2d9f4f8ec9", DES),
    ("terraform init -migrate-state -force-copy", DES),
    ("tofu apply", DES),
    ("tofu destroy", DES),
    ("terragrunt apply", DES),
    ("terragrunt destroy", DES),
    ("terragrunt run-all apply", DES),
    ("terragrunt run --all apply --non-interactive", DES),
    ("terragrunt run-all destroy", DES),
    ("terragrunt run --all -- destroy", DES),
    ("terragrunt state rm aws_instance.web", DES),
    # --- catastrophic: denied ---
    ("terraform destroy -auto-approve", CAT),
    ("terraform destroy --auto-approve -var-file=prod.tfvars", CAT),
    ("terraform -chdir=envs/prod destroy -auto-approve", CAT),
    ("terraform -chdir envs/prod destroy -auto-approve", CAT),
    ("terraform destroy -force", CAT),
    ("terraform apply -destroy -auto-approve", CAT),
    ("terraform apply -auto-approve -destroy", CAT),
    ("(cd infra && terraform destroy -auto-approve)", CAT),
    ("timeout 3600 terraform destroy -auto-approve -lock-timeout=5m", CAT),
    ("echo yes | terraform destroy", CAT),
    ("yes | terraform destroy -var-file=dev.tfvars", CAT),
    ("TF_CLI_ARGS_destroy=-auto-approve terraform destroy", CAT),
    ("tofu destroy -auto-approve", CAT),
    ("terragrunt destroy -auto-approve", CAT),
    ("terragrunt run-all destroy --terragrunt-non-interactive", CAT),
    ("terragrunt run --all destroy --non-interactive", CAT),
    ("terragrunt run -- destroy -auto-approve", CAT),
    ("TG_NON_INTERACTIVE=true terragrunt run-all destroy", CAT),
]

LOOK_ALIKES = [
    "echo 'terraform destroy'",
    "echo terraform destroy -auto-approve",
    "git commit -m 'terraform destroy -auto-approve removed from CI'",
    "grep -rn 'terraform apply' .github/workflows/",
    "rg 'terraform destroy' -g '*.md'",
    "awk '/terraform destroy/ {print NR\": \"$0}' Makefile",
    "cat <<'EOF' > notes.md\nterraform destroy -auto-approve\nEOF",
    "terraform plan -destroy",
    "terraform output destroy",
    "terraform state show aws_instance.destroy_me",
    "terraform state rm -dry-run module.old",
    "terraform destroy -help",
    "terraform apply -help",
    "command -v terraform",
    "man terraform",
    "terraform show -json tfplan | jq '.resource_changes[].change.actions'",
]


@pytest.mark.parametrize("command,expected", CASES)
def test_terraform_risk(classify: Callable[[str], Verdict], command: str, expected: str) -> None:
    verdict = classify(command)
    assert verdict.risk.label == expected, [m.rule for m in verdict.matches]


@pytest.mark.parametrize("command", LOOK_ALIKES)
def test_terraform_look_alikes_stay_allowed(classify: Callable[[str], Verdict], command: str) -> None:
    verdict = classify(command)
    assert verdict.decision == Decision.ALLOW, [m.rule for m in verdict.matches]


def test_enough_real_world_cases() -> None:
    assert len(CASES) >= 50
    assert {label for _, label in CASES} == {RO, REV, DES, CAT}


@pytest.mark.parametrize("command,rule", [
    ("terraform -chdir=envs/prod destroy -auto-approve", "terraform-destroy-auto-approve"),
    ("terraform -chdir envs/prod apply", "terraform-apply"),
    ("terraform -chdir=infra state rm module.x", "terraform-state-modify"),
    ("tofu -chdir=live/prod workspace delete prod", "terraform-workspace-delete"),
    ("terraform apply -var 'region=eu-west-1' -var-file prod.tfvars tfplan", "terraform-apply"),
])
def test_chdir_and_option_values_before_positionals(classify: Callable[[str], Verdict], command: str,
                                                    rule: str) -> None:
    assert rule in [m.rule for m in classify(command).matches]


def test_plan_does_not_match_apply_or_destroy_rules(classify: Callable[[str], Verdict]) -> None:
    verdict = classify("terraform plan -destroy -var 'x=destroy' -target=module.apply")
    assert verdict.risk == Risk.READ_ONLY
    assert [m.rule for m in verdict.matches] == ["terraform-read-only"]


def test_refusals_suggest_a_plan(classify: Callable[[str], Verdict]) -> None:
    verdict = classify("terraform destroy -auto-approve")
    assert verdict.decision == Decision.DENY
    match = next(m for m in verdict.matches if m.rule == "terraform-destroy-auto-approve")
    assert match.suggest and "plan -destroy" in match.suggest
    apply = next(m for m in classify("terraform apply").matches if m.rule == "terraform-apply")
    assert apply.suggest and "terraform plan" in apply.suggest


@pytest.mark.xfail(strict=True, reason="engine: no match key sees input redirections or here-strings, "
                   "so an approval fed with <<< is not recognised like 'echo yes |'")
def test_here_string_approval_is_like_a_pipe(classify: Callable[[str], Verdict]) -> None:
    assert classify("terraform destroy <<< yes").risk == Risk.CATASTROPHIC
