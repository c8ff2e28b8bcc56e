"""rules.d/k8s-ecosystem.yaml: helm, helmfile, kustomize, eksctl, argocd, flux, kind, k3d, minikube.

Commands come from the Helm, eksctl, Argo CD, Flux, kind, k3d and minikube documentation
(beyond the rule examples), plus the wrappers and look-alikes agents produce.
"""
from __future__ import annotations

from typing import Callable

import pytest

from guardsh.engine.model import Decision, Risk, Verdict

from rulepack import case_ids as _ids
from rulepack import check_docs_entry
from rulepack import docs_more as _docs_more

RO, REV, DES, CAT = "read-only", "reversible", "destructive", "catastrophic"
TOOL = "k8s-ecosystem"  # its entries in tests/corpus/docs_more.yaml

CASES = [
    # --- helm ---
    ("helm list --all-namespaces --output yaml", RO),
    ("helm ls -n kube-system --pending", RO),
    ("helm status nginx-ingress -n ingress-nginx --show-resources", RO),
    ("helm get all my-release --revision 3", RO),
    ("helm get notes my-release", RO),
    ("helm template ./mychart --set replicaCount=2 --output-dir out/", RO),
    ("helm show chart oci://registry-1.docker.io/bitnamicharts/postgresql", RO),
    ("helm show readme bitnami/postgresql --version 15.0.0", RO),
    ("helm search hub wordpress", RO),
    ("helm history nginx --max 5", RO),
    ("helm lint ./chart --strict --values values-prod.yaml", RO),
    ("helm diff revision my-release 2 3", RO),
    ("helm upgrade my-release ./chart --dry-run=server", RO),
    ("helm rollback my-release 2 --dry-run", RO),
    ("helm repo list", RO),
    ("helm version --short", RO),
    ("helm install happy-panda bitnami/wordpress", REV),
    ("helm install --namespace monitoring --create-namespace prometheus prometheus-community/kube-prometheus-stack", REV),
    ("helm upgrade --install ingress-nginx ingress-nginx --repo https://kubernetes.github.io/ingress-nginx "
     "--namespace ingress-nginx --create-namespace", REV),
    ("helm upgrade my-release ./chart --reuse-values --set image.tag=v2 --atomic --timeout 5m", REV),
    ("helm repo add prometheus-community https://prometheus-community.github.io/helm-charts", REV),
    ("helm repo rm stable", REV),
    ("helm dependency build ./chart", REV),
    ("helm pull bitnami/nginx --untar", REV),
    ("helm package ./chart -d dist/", REV),
    ("helm plugin install https://github.com/databus23/helm-diff", REV),
    ("helm uninstall nginx -n web", DES),
    ("helm uninstall my-release --wait --timeout 2m", DES),
    ("helm del --purge old-release", DES),
    ("helm rollback nginx 1 --force --wait", DES),
    ("helm upgrade --install --force my-release ./chart -n prod", DES),
    ("helm -n prod ls -q | xargs -n1 helm -n prod uninstall", CAT),
    # --- helmfile, skaffold, kustomize ---
    ("helmfile diff --detailed-exitcode", RO),
    ("helmfile -e production sync", REV),
    ("helmfile apply --skip-diff-on-install", REV),
    ("helmfile -l name=redis destroy", DES),
    ("kustomize build ./overlays/staging > rendered.yaml", RO),
    ("kustomize edit add resource deployment.yaml", REV),
    ("kustomize build overlays/dev | kubectl apply --server-side -f -", REV),
    ("kustomize build overlays/dev | kubectl diff -f -", RO),
    ("kustomize build overlays/prod | kubectl delete --ignore-not-found -f -", DES),
    ("kubectl kustomize overlays/prod | kubectl apply -f -", REV),
    ("skaffold run -p prod", REV),
    ("skaffold delete -p dev", DES),
    # --- eksctl ---
    ("eksctl get cluster --region us-west-2", RO),
    ("eksctl get addons --cluster my-cluster", RO),
    ("eksctl get iamidentitymapping --cluster my-cluster", RO),
    ("eksctl utils describe-stacks --cluster my-cluster", RO),
    ("eksctl create cluster --name my-cluster --region us-west-2 --nodegroup-name standard-workers "
     "--node-type t3.medium --nodes 3 --nodes-min 1 --nodes-max 4 --managed", REV),
    ("eksctl create nodegroup --cluster=my-cluster --name=ng-2 --node-type=m5.large", REV),
    ("eksctl utils write-kubeconfig --cluster=my-cluster", REV),
    ("eksctl upgrade cluster --name=my-cluster", REV),
    ("eksctl drain nodegroup --cluster=my-cluster --name=ng-1 --undo", REV),
    ("eksctl delete cluster -f cluster.yaml", DES),
    ("eksctl delete cluster --name=my-cluster --wait --disable-nodegroup-eviction", DES),
    ("eksctl delete nodegroup --config-file=cluster.yaml --include=ng-old --approve", DES),
    ("eksctl delete addon --cluster my-cluster --name vpc-cni", DES),
    ("eksctl delete fargateprofile --cluster my-cluster --name fp-default", DES),
    ("eksctl drain nodegroup --cluster=my-cluster --name=ng-1 --parallel 2", DES),
    ("eksctl scale nodegroup --cluster=my-cluster --name=ng-1 --nodes 0 --nodes-min 0", DES),
    ("eksctl upgrade cluster --name=my-cluster --version=1.30 --approve", DES),
    # --- argocd ---
    ("argocd app list -o name", RO),
    ("argocd app get guestbook --refresh", RO),
    ("argocd app diff guestbook --local ./manifests", RO),
    ("argocd app logs guestbook --follow", RO),
    ("argocd app manifests guestbook --revision HEAD", RO),
    ("argocd app wait guestbook --health --timeout 300", RO),
    ("argocd repo list", RO),
    ("argocd login argocd.example.com --grpc-web --sso", REV),
    ("argocd app create guestbook --repo https://github.com/argoproj/argocd-example-apps.git --path guestbook "
     "--dest-server https://kubernetes.default.svc --dest-namespace default", REV),
    ("argocd app sync guestbook --timeout 120", REV),
    ("argocd app sync guestbook --prune --dry-run", RO),
    ("argocd app set guestbook --sync-policy automated", REV),
    ("argocd cluster add my-context", REV),
    ("argocd app delete guestbook --cascade=false -y", DES),
    ("argocd app delete -y guestbook", DES),
    ("argocd app sync guestbook --prune --force --replace", DES),
    ("argocd app rollback guestbook 3", DES),
    ("argocd cluster rm my-cluster", DES),
    ("argocd repo rm https://github.com/argoproj/argocd-example-apps.git", DES),
    ("argocd proj delete team-a", DES),
    # --- flux ---
    ("flux get all -A", RO),
    ("flux get sources git", RO),
    ("flux logs --kind=Kustomization --name=apps --level=error", RO),
    ("flux tree kustomization flux-system", RO),
    ("flux bootstrap github --owner=my-org --repository=fleet-infra --branch=main --path=./clusters/my-cluster --personal", REV),
    ("flux create kustomization podinfo --source=podinfo --path=./kustomize --prune=true --interval=10m", REV),
    ("flux reconcile helmrelease podinfo -n apps", REV),
    ("flux suspend helmrelease podinfo", REV),
    ("flux resume kustomization apps", REV),
    ("flux delete helmrelease podinfo --silent", DES),
    ("flux delete source helm bitnami", DES),
    ("flux uninstall --silent", DES),
    # --- local clusters ---
    ("kind get nodes --name dev", RO),
    ("kind create cluster --config kind-config.yaml", REV),
    ("kind load docker-image myapp:latest --name dev", REV),
    ("kind delete cluster", DES),
    ("k3d cluster list -o json", RO),
    ("k3d cluster create mycluster --agents 2 -p '8080:80@loadbalancer'", REV),
    ("k3d cluster stop mycluster", REV),
    ("k3d cluster delete --all", DES),
    ("minikube profile list", RO),
    ("minikube start --cpus 4 --memory 8192", REV),
    ("minikube stop", REV),
    ("minikube addons enable ingress", REV),
    ("minikube delete -p dev", DES),
    ("minikube kubectl -- get pods -A", RO),
    ("minikube kubectl -- delete ns staging", DES),
]

WRAPPERS = [
    ("sudo helm uninstall my-release", DES),
    ("bash -c 'helm rollback web 1'", DES),
    ("ssh jump 'eksctl delete cluster --name prod'", DES),
    ("timeout 600 eksctl delete nodegroup --cluster c --name ng", DES),
    ("helm list -q -n apps | xargs -L1 helm uninstall -n apps", CAT),
    ("cd deploy && helm upgrade --install web ./chart", REV),
    # look-alikes
    ("echo helm uninstall my-release", RO),
    ("grep -r 'eksctl delete cluster' docs/", RO),
    ("git commit -m 'argocd app delete guestbook'", REV),
    ("helm list --filter 'delete.*'", RO),
    ("helm status uninstall-test", RO),
    ("argocd app get delete-me", RO),
    ("eksctl get cluster --name delete-me", RO),
    ("helm uninstall --help", RO),
    ("eksctl delete cluster --help", RO),
    ("argocd app delete -h", RO),
    ("flux delete --help", RO),
    ("kind delete cluster --help", RO),
]


@pytest.mark.parametrize(("command", "expected"), CASES, ids=_ids(CASES))
def test_k8s_ecosystem_reference_commands(classify: Callable[[str], Verdict], command: str, expected: str) -> None:
    verdict = classify(command)
    assert verdict.risk.label == expected, [m.to_json() for m in verdict.matches]


@pytest.mark.parametrize(("command", "expected"), WRAPPERS, ids=_ids(WRAPPERS))
def test_k8s_ecosystem_wrappers_and_look_alikes(classify: Callable[[str], Verdict], command: str, expected: str) -> None:
    verdict = classify(command)
    assert verdict.risk.label == expected, [m.to_json() for m in verdict.matches]


@pytest.mark.parametrize(("command", "rule"), [
    ("helm uninstall web", "helm-uninstall"),
    ("helm rollback web 2", "helm-rollback"),
    ("helm upgrade --force web ./chart", "helm-upgrade-force"),
    ("eksctl delete cluster --name c", "eksctl-delete"),
    ("eksctl scale nodegroup --cluster c --name ng --nodes 0", "eksctl-scale-to-zero"),
    ("argocd app sync web --prune", "argocd-app-sync-prune"),
    ("flux uninstall", "flux-uninstall"),
    ("kind delete cluster", "local-cluster-delete"),
])
def test_the_specific_rule_explains(classify: Callable[[str], Verdict], command: str, rule: str) -> None:
    assert rule in [m.rule for m in classify(command).matches]


def test_decisions(classify: Callable[[str], Verdict]) -> None:
    assert classify("helm list -A").decision == Decision.ALLOW
    assert classify("helm upgrade --install web ./chart").decision == Decision.ALLOW
    assert classify("helm uninstall web").decision == Decision.ASK
    assert classify("helm ls -q | xargs helm uninstall").decision == Decision.DENY


def test_helm_refusal_offers_a_dry_run(classify: Callable[[str], Verdict]) -> None:
    verdict = classify("helm uninstall web")
    assert any(m.suggest and "--dry-run" in m.suggest for m in verdict.matches)


@pytest.mark.xfail(strict=True, reason=(
    "engine gap: manifests piped into `kubectl delete -f -` are not read, so the namespace they name "
    "(kube-system here) cannot raise the risk: rendered-then-deleted system components are only "
    "destructive, while `kubectl delete ns kube-system` is catastrophic"))
def test_rendered_manifests_are_not_read(classify: Callable[[str], Verdict]) -> None:
    assert classify("helm template cni ./charts/cilium -n kube-system | kubectl delete -f -").risk == Risk.CATASTROPHIC


# --- tests/corpus/docs_more.yaml: documentation commands labelled before the rules were written ---

@pytest.mark.parametrize("entry", _docs_more(TOOL), ids=lambda e: " ".join(e["command"].split())[:70])
def test_docs_more_corpus(classify: Callable[[str], Verdict], entry: dict[str, str]) -> None:
    """Read-only is allowed, destructive asks, catastrophic is denied (reversible is allowed too)."""
    check_docs_entry(classify, entry)

