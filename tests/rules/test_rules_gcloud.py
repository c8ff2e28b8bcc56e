"""rules.d/gcloud.yaml: gcloud and gsutil commands and the risk each must get.

Commands come from the gcloud and gsutil references and the GKE, Cloud SQL, Cloud Run, IAM and
Cloud Storage guides (beyond the rule examples), plus wrappers and look-alikes.
"""
from __future__ import annotations

from typing import Callable

import pytest

from guardsh.engine.model import Decision, Risk, Verdict

from rulepack import case_ids as _ids
from rulepack import check_docs_entry
from rulepack import docs_more as _docs_more

RO, REV, DES, CAT = "read-only", "reversible", "destructive", "catastrophic"
TOOL = "gcloud"  # its entries in tests/corpus/docs_more.yaml

CASES = [
    # --- reading ---
    ("gcloud compute instances list --format=\"table(name,zone,status)\" --filter=\"zone:us-central1-a\"", RO),
    ("gcloud compute instances list --filter='labels.delete=true'", RO),
    ("gcloud compute zones list", RO),
    ("gcloud compute disks describe my-disk --zone us-central1-a", RO),
    ("gcloud compute ssh --help", RO),
    ("gcloud projects describe my-project --format='value(projectNumber)'", RO),
    ("gcloud organizations get-iam-policy 123456789", RO),
    ("gcloud container clusters list --project my-project", RO),
    ("gcloud container node-pools list --cluster my-cluster --region us-central1", RO),
    ("gcloud container operations list", RO),
    ("gcloud sql instances list", RO),
    ("gcloud sql backups list --instance my-instance", RO),
    ("gcloud sql operations list --instance my-instance --limit 10", RO),
    ("gcloud run services list --platform managed", RO),
    ("gcloud run revisions describe my-service-00002-abc --region us-central1", RO),
    ("gcloud functions logs read my-function --limit 50", RO),
    ("gcloud logging read 'protoPayload.methodName=\"v1.compute.instances.delete\"' --freshness=1d", RO),
    ("gcloud iam roles describe roles/storage.admin", RO),
    ("gcloud iam service-accounts get-iam-policy sa@my-project.iam.gserviceaccount.com", RO),
    ("gcloud secrets versions access latest --secret=my-secret", REV),
    ("gcloud auth print-access-token", RO),
    ("gcloud config configurations list", RO),
    ("gcloud storage ls --recursive gs://my-bucket/**", RO),
    ("gcloud storage cat gs://my-bucket/config.json", RO),
    ("gcloud storage du -s gs://my-bucket", RO),
    ("gcloud storage buckets describe gs://my-bucket", RO),
    ("gcloud info --run-diagnostics", RO),
    ("gcloud beta compute instances describe my-vm", RO),
    ("gsutil ls gs://my-bucket/**", RO),
    ("gsutil cat gs://my-bucket/file.txt", RO),
    ("gsutil stat gs://my-bucket/file.txt", RO),
    ("gsutil iam get gs://my-bucket", RO),
    ("gsutil rsync -n -d -r ./site gs://my-bucket", RO),
    # --- routine changes ---
    ("gcloud auth login", REV),
    ("gcloud auth application-default login", REV),
    ("gcloud config set account alice@example.com", REV),
    ("gcloud config configurations activate staging", REV),
    ("gcloud components update", REV),
    ("gcloud compute instances create my-vm --image-family=debian-12 --image-project=debian-cloud --zone=us-central1-a", REV),
    ("gcloud compute instances start my-vm --zone=us-central1-a", REV),
    ("gcloud compute instances add-tags my-vm --tags=http-server --zone us-central1-a", REV),
    ("gcloud compute disks snapshot my-disk --zone us-central1-a --snapshot-names snap-1", REV),
    ("gcloud compute scp ./app.tar.gz my-vm:~/ --zone us-central1-a", REV),
    ("gcloud compute ssh my-vm --zone us-central1-a --tunnel-through-iap", REV),
    ("gcloud container clusters create my-cluster --num-nodes=3 --zone us-central1-a", REV),
    ("gcloud container clusters get-credentials my-cluster --region us-central1 --project my-project", REV),
    ("gcloud container node-pools create pool-2 --cluster my-cluster --machine-type e2-standard-4", REV),
    ("gcloud sql instances create my-db --database-version=POSTGRES_15 --tier=db-f1-micro --region=us-central1", REV),
    ("gcloud sql backups create --instance=my-db", REV),
    ("gcloud sql databases create appdb --instance=my-db", REV),
    ("gcloud run deploy my-service --source . --region us-central1 --allow-unauthenticated", REV),
    ("gcloud run services update-traffic my-service --to-latest", REV),
    ("gcloud functions deploy hello --gen2 --runtime=nodejs20 --region=us-central1 --trigger-http", REV),
    ("gcloud app deploy app.yaml --quiet", REV),
    ("gcloud builds submit --config cloudbuild.yaml .", REV),
    ("gcloud pubsub topics create my-topic", REV),
    ("gcloud pubsub topics publish my-topic --message=hello", REV),
    ("gcloud secrets create my-secret --data-file=secret.txt", REV),
    ("gcloud storage cp -r ./dist gs://my-bucket/", REV),
    ("gcloud storage rsync -r ./site gs://my-bucket", REV),
    ("gcloud storage buckets create gs://my-new-bucket --location=US", REV),
    ("gsutil cp gs://my-bucket/backup.sql .", REV),
    ("gsutil -m rsync -r ./site gs://my-bucket", REV),
    ("gsutil mb -l us-east1 gs://my-new-bucket", REV),
    # --- destructive ---
    ("gcloud compute instances delete my-vm --zone=us-central1-a --delete-disks=all", DES),
    ("gcloud compute instances delete vm-1 vm-2 --zone us-central1-a --quiet", DES),
    ("gcloud compute instances stop my-vm --discard-local-ssd=true", DES),
    ("gcloud compute instances reset my-vm --zone us-central1-a", DES),
    ("gcloud compute snapshots delete snap-1", DES),
    ("gcloud compute images delete my-image", DES),
    ("gcloud compute addresses delete my-ip --region us-central1", DES),
    ("gcloud compute firewall-rules delete default-allow-ssh", DES),
    ("gcloud compute networks delete my-vpc", DES),
    ("gcloud compute instance-groups managed delete my-mig --zone us-central1-a", DES),
    ("gcloud compute instance-groups managed resize my-mig --size 0 --zone us-central1-a", DES),
    ("gcloud container clusters delete my-cluster --region us-central1 --quiet", DES),
    ("gcloud container node-pools delete default-pool --cluster my-cluster", DES),
    ("gcloud container clusters resize my-cluster --node-pool default-pool --num-nodes 0 --region us-central1", DES),
    ("gcloud container clusters upgrade my-cluster --master", DES),
    ("gcloud sql instances delete my-db --quiet", DES),
    ("gcloud sql instances restart my-db", DES),
    ("gcloud sql instances patch my-db --backup-start-time=23:00", DES),
    ("gcloud sql instances patch my-db --no-backup", DES),
    ("gcloud sql databases delete appdb --instance=my-db", DES),
    ("gcloud sql users delete app-user --instance=my-db", DES),
    ("gcloud sql backups delete 1234567890 --instance=my-db", DES),
    ("gcloud run services delete my-service --region us-central1 --quiet", DES),
    ("gcloud functions delete hello --region us-central1 --gen2", DES),
    ("gcloud pubsub subscriptions delete my-sub", DES),
    ("gcloud secrets versions destroy 3 --secret=my-secret", DES),
    ("gcloud kms keys versions destroy 2 --location global --keyring ring --key key", DES),
    ("gcloud artifacts repositories delete my-repo --location us-central1", DES),
    ("gcloud dns record-sets delete www.example.com. --type=A --zone=my-zone", DES),
    ("gcloud iam service-accounts delete sa@my-project.iam.gserviceaccount.com", DES),
    ("gcloud iam service-accounts keys create ~/key.json --iam-account sa@my-project.iam.gserviceaccount.com", DES),
    ("gcloud iam roles create myRole --project my-project --permissions=storage.objects.delete", DES),
    ("gcloud projects add-iam-policy-binding my-project --member=serviceAccount:sa@my-project.iam.gserviceaccount.com "
     "--role=roles/owner", DES),
    ("gcloud resource-manager folders add-iam-policy-binding 123 --member=group:devs@example.com --role=roles/editor", DES),
    ("gcloud organizations set-iam-policy 123456789 policy.yaml", DES),
    ("gcloud run services add-iam-policy-binding my-service --member=allUsers --role=roles/run.invoker", DES),
    ("gcloud compute firewall-rules create allow-all --allow=all --source-ranges=0.0.0.0/0", DES),
    ("gcloud storage rm --recursive gs://my-bucket/**", DES),
    ("gcloud storage rm gs://my-bucket/*.log", DES),
    ("gcloud storage buckets delete gs://my-bucket", DES),
    ("gcloud storage mv gs://my-bucket/old gs://my-bucket/new", DES),
    ("gsutil rm gs://my-bucket/file.txt", DES),
    ("gsutil -m rm -r gs://my-bucket/logs/", DES),
    ("gsutil rm -a gs://my-bucket/**", DES),
    ("gsutil rb -f gs://my-bucket", DES),
    ("gsutil rsync -d -r gs://source gs://dest", DES),
    ("gsutil acl ch -u AllUsers:R gs://my-bucket/index.html", DES),
    ("gsutil iam ch -d allUsers gs://my-bucket", DES),
    ("gsutil defacl set public-read gs://my-bucket", DES),
    ("gcloud compute ssh my-vm --command='sudo shutdown -h now'", DES),
    # --- catastrophic ---
    ("gcloud projects delete my-project --quiet", CAT),
    ("gcloud sql instances list --format='value(name)' | xargs -n1 gcloud sql instances delete --quiet", CAT),
]

WRAPPERS = [
    ("sudo gcloud compute instances delete my-vm", DES),
    ("bash -c 'gcloud sql instances delete my-db --quiet'", DES),
    ("ssh bastion 'gsutil -m rm -r gs://my-bucket'", DES),
    ("CLOUDSDK_CORE_PROJECT=my-project gcloud compute instances stop my-vm", DES),
    ("gcloud --project my-project --quiet compute instances delete my-vm", DES),
    ("gcloud --verbosity=debug compute disks delete d1", DES),
    ("gcloud compute instances delete $(gcloud compute instances list --format='value(name)')", DES),
    # look-alikes
    ("echo gcloud projects delete my-project", RO),
    ("grep -n 'gsutil rm' deploy.sh", RO),
    ("git commit -m 'gcloud sql instances delete old-db'", REV),
    ("gcloud compute instances list --filter='name~delete'", RO),
    ("gcloud compute instances describe delete-me --zone us-central1-a", RO),
    ("gcloud logging read 'protoPayload.methodName=SetIamPolicy'", RO),
    ("gcloud help projects delete", RO),
    ("gcloud projects delete --help", RO),
    ("gcloud sql instances delete -h", RO),
    ("gsutil ls gs://my-bucket/rm/", RO),
    ("gcloud storage ls gs://my-bucket/delete/", RO),
    ("gcloud config configurations delete old-config", REV),
]


@pytest.mark.parametrize(("command", "expected"), CASES, ids=_ids(CASES))
def test_gcloud_reference_commands(classify: Callable[[str], Verdict], command: str, expected: str) -> None:
    verdict = classify(command)
    assert verdict.risk.label == expected, [m.to_json() for m in verdict.matches]


@pytest.mark.parametrize(("command", "expected"), WRAPPERS, ids=_ids(WRAPPERS))
def test_gcloud_wrappers_and_look_alikes(classify: Callable[[str], Verdict], command: str, expected: str) -> None:
    verdict = classify(command)
    assert verdict.risk.label == expected, [m.to_json() for m in verdict.matches]


@pytest.mark.parametrize(("command", "rule"), [
    ("gcloud compute instances delete my-vm", "gcloud-delete-3"),
    ("gcloud projects delete my-project", "gcloud-projects-delete"),
    ("gcloud compute instances stop my-vm", "gcloud-stop"),
    ("gcloud projects add-iam-policy-binding p --member=user:a@example.com --role=roles/owner", "gcloud-iam-policy-change"),
    ("gcloud storage rm -r gs://b", "gcloud-storage-rm"),
    ("gsutil rb gs://b", "gsutil-rm"),
    ("gcloud container clusters resize c --num-nodes 0", "gcloud-resize-to-zero"),
])
def test_the_specific_rule_explains(classify: Callable[[str], Verdict], command: str, rule: str) -> None:
    assert rule in [m.rule for m in classify(command).matches]


def test_decisions(classify: Callable[[str], Verdict]) -> None:
    assert classify("gcloud compute instances list").decision == Decision.ALLOW
    assert classify("gcloud run deploy s --image gcr.io/p/i").decision == Decision.ALLOW
    assert classify("gcloud sql instances delete db").decision == Decision.ASK
    assert classify("gcloud projects delete my-project").decision == Decision.DENY


def test_quiet_does_not_change_the_risk(classify: Callable[[str], Verdict]) -> None:
    """Without a terminal gcloud takes each prompt's default, so --quiet changes nothing for an agent."""
    assert classify("gcloud compute instances delete vm --quiet").risk == classify("gcloud compute instances delete vm").risk


@pytest.mark.xfail(strict=True, reason=(
    "engine gap: `gcloud compute ssh VM --command CMD` is not unwrapped like `ssh HOST CMD`, so the remote "
    "command is not classified; the rule asks for every --command, even a read-only one"))
def test_gcloud_ssh_command_is_classified(classify: Callable[[str], Verdict]) -> None:
    assert classify("gcloud compute ssh my-vm --zone us-central1-a --command 'uptime'").decision == Decision.ALLOW


# --- tests/corpus/docs_more.yaml: documentation commands labelled before the rules were written ---

@pytest.mark.parametrize("entry", _docs_more(TOOL), ids=lambda e: " ".join(e["command"].split())[:70])
def test_docs_more_corpus(classify: Callable[[str], Verdict], entry: dict[str, str]) -> None:
    """Read-only is allowed, destructive asks, catastrophic is denied (reversible is allowed too)."""
    check_docs_entry(classify, entry)

