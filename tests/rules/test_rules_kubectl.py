"""rules.d/kubectl.yaml: real-world kubectl and oc commands and the risk each must get."""
from __future__ import annotations

from typing import Callable

import pytest

from guardsh.engine.model import Decision, Risk, Verdict

RO, REV, DES, CAT = "read-only", "reversible", "destructive", "catastrophic"

CASES = [
    # --- reading the cluster ---
    ("kubectl get pods", RO),
    ("kubectl get pods -o wide --show-labels", RO),
    ("kubectl get deploy,svc,ing -n prod", RO),
    ("kubectl -n prod get deploy web -o jsonpath='{.spec.template.spec.containers[0].image}'", RO),
    ("kubectl --context prod-eu get pods", RO),
    ("kubectl --kubeconfig ~/.kube/staging.yaml get nodes -o wide", RO),
    ("kubectl get pods -A --field-selector=status.phase=Failed", RO),
    ("kubectl get pods --field-selector status.phase=Failed -o name", RO),
    ("kubectl get events -A --sort-by=.lastTimestamp | tail -20", RO),
    ("kubectl get secret db-creds -o jsonpath='{.data.password}' | base64 -d", RO),
    ("kubectl get --raw /readyz?verbose", RO),
    ("kubectl get pods -w -l app=web", RO),
    ("kubectl describe pod web-7d9c6b8f5-x2x9z -n prod", RO),
    ("kubectl describe node worker-3 | grep -A5 Taints", RO),
    ("kubectl logs deploy/delete-worker", RO),
    ("kubectl logs -f deploy/web -c app --since=10m", RO),
    ("kubectl logs -p web-0 --tail=200", RO),
    ("kubectl logs -l app=api --all-containers --max-log-requests=10", RO),
    ("kubectl top pods -A --sort-by=memory", RO),
    ("kubectl top node", RO),
    ("kubectl explain deployment.spec.strategy", RO),
    ("kubectl api-resources --verbs=list --namespaced -o name", RO),
    ("kubectl api-versions", RO),
    ("kubectl version --client -o json", RO),
    ("kubectl cluster-info", RO),
    ("kubectl config view --minify --raw", RO),
    ("kubectl config get-contexts", RO),
    ("kubectl config current-context", RO),
    ("kubectl auth can-i delete pods --as=system:serviceaccount:ci:deployer -n prod", RO),
    ("kubectl auth whoami -o yaml", RO),
    ("kubectl diff -k overlays/prod", RO),
    ("kubectl events --for deployment/web -n prod", RO),
    ("kubectl wait --for=condition=available deploy/web --timeout=120s", RO),
    ("kubectl wait --for=delete pod/web-0 --timeout=60s", RO),
    ("kubectl rollout status deploy/web -n prod --timeout=5m", RO),
    ("kubectl rollout history deploy/web", RO),
    ("kubectl kustomize overlays/prod | kubectl diff -f -", RO),
    ("until kubectl get pod web-0; do sleep 2; done", RO),
    ("watch -n 5 kubectl get pods", RO),
    ("timeout 30 kubectl logs -f deploy/web", RO),
    ("oc get pods -n openshift-monitoring", RO),
    ("oc whoami --show-server", RO),
    ("oc status", RO),
    # --- dry runs and help ---
    ("kubectl delete --dry-run=client -f x.yaml", RO),
    ("kubectl delete ns kube-system --dry-run=server", RO),
    ("kubectl delete pods --all -A --dry-run=server", RO),
    ("kubectl apply -f k8s/ --dry-run=server", RO),
    ("kubectl apply --prune -f k8s/ -l app=web --dry-run=server", RO),
    ("kubectl create deployment web --image=nginx:1.25 --dry-run=client -o yaml > deploy.yaml", RO),
    ("kubectl create secret generic app --from-literal=k=v --dry-run=client -o yaml", RO),
    ("kubectl drain worker-1 --ignore-daemonsets --dry-run=client", RO),
    ("kubectl scale deploy/web --replicas=0 --dry-run=server", RO),
    ("kubectl patch deploy web -p '{\"spec\":{\"replicas\":0}}' --dry-run=server -o yaml", RO),
    ("kubectl delete pod web-0 --dry-run", RO),
    ("kubectl delete --help", RO),
    ("kubectl drain -h", RO),
    # --- routine, reversible changes ---
    ("kubectl apply -f k8s/deployment.yaml", REV),
    ("kubectl apply -k overlays/staging", REV),
    ("kubectl apply --server-side --force-conflicts -f crds/", REV),
    ("kubectl create namespace preview-123", REV),
    ("kubectl create configmap app-config --from-file=config/ -n dev", REV),
    ("kubectl create job manual-backup --from=cronjob/backup", REV),
    ("kubectl run tmp --rm -it --image=busybox --restart=Never -- sh", REV),
    ("kubectl expose deploy web --port=80 --target-port=8080", REV),
    ("kubectl label pods web-0 tier=frontend --overwrite", REV),
    ("kubectl annotate deploy web kubernetes.io/change-cause='bump image' --overwrite", REV),
    ("kubectl label node worker-1 disktype-", REV),
    ("kubectl scale deploy/web --replicas 3", REV),
    ("kubectl scale --replicas=10 statefulset/kafka -n data", REV),
    ("kubectl autoscale deploy web --min=2 --max=10 --cpu-percent=80", REV),
    ("kubectl rollout restart deploy/web -n prod", REV),
    ("kubectl rollout pause deploy/web", REV),
    ("kubectl set image deploy/web app=registry.example.com/web:1.4.2", REV),
    ("kubectl set env deploy/api LOG_LEVEL=debug", REV),
    ("kubectl set resources deploy/api -c app --limits=cpu=500m,memory=512Mi", REV),
    ("kubectl cordon worker-2", REV),
    ("kubectl uncordon worker-2", REV),
    ("kubectl taint nodes worker-1 dedicated=gpu:NoSchedule", REV),
    ("kubectl taint nodes --all node-role.kubernetes.io/control-plane-", REV),
    ("kubectl taint nodes worker-1 maintenance:NoExecute-", REV),
    ("kubectl port-forward svc/grafana 3000:80 -n monitoring", REV),
    ("kubectl proxy --port=8001", REV),
    ("kubectl cp web-0:/var/log/app.log ./app.log", REV),
    ("kubectl debug -it web-0 --image=busybox --target=app", REV),
    ("kubectl exec -it web-0 -- sh", REV),
    ("kubectl exec deploy/web -- sh -c 'ls /app'", REV),
    ("kubectl exec -n prod web-0 -c app -- env", REV),
    ("kubectl certificate deny csr-x7k2p", REV),
    ("kubectl config use-context prod-eu", REV),
    ("kubectl config set-context --current --namespace=dev", REV),
    ("kubectl config delete-context kind-old", REV),
    ("kubectl replace -f deploy.yaml", REV),
    ("oc project demo", REV),
    ("oc new-app nginx~https://github.com/sclorg/nginx-ex", REV),
    ("oc adm cordon worker-1", REV),
    # --- destructive: asks ---
    ("kubectl delete pod web-0", DES),
    ("kubectl -n prod delete pod x", DES),
    ("kubectl delete -f k8s/", DES),
    ("kubectl delete -k overlays/dev", DES),
    ("kubectl delete pods -l app=web -n staging", DES),
    ("kubectl delete pods --all -n staging", DES),
    ("kubectl delete all --all -n preview-42", DES),
    ("kubectl delete pod web-0 --grace-period=0 --force", DES),
    ("kubectl delete pod web-0 --dry-run=none", DES),
    ("kubectl delete pod web-0 --dry-run=false", DES),
    ("kubectl delete pod web-0 -- --dry-run", DES),
    ("kubectl delete pod x --dry-run=server --dry-run=none", DES),
    ("kubectl delete ns staging", DES),
    ("kubectl delete namespace/feature-x --wait=false", DES),
    ("kubectl delete pvc data-postgres-0 -n db", DES),
    ("kubectl delete node worker-9", DES),
    ("kubectl delete secret tls-cert -n prod", DES),
    ("kubectl delete pods --field-selector=status.phase==Failed -A", DES),
    ("kubectl -n kube-system delete pod coredns-5d78c9869d-abcde", DES),
    ("kubectl get pods -o name | grep old- | xargs kubectl delete", DES),
    ("cat stale.yaml | kubectl delete -f -", DES),
    ("timeout 60 kubectl delete ns staging", DES),
    ("stdbuf -oL kubectl delete -f deploy.yaml", DES),
    ("watch kubectl delete pod x", DES),
    ("sh -c \"kubectl delete pod x\"", DES),
    ("[ \"$ENV\" = prod ] || kubectl delete ns preview-123", DES),
    ("kubectl delete -f x.yaml --dry-run=client && kubectl delete -f x.yaml", DES),
    ("kubectl drain worker-1 --ignore-daemonsets --delete-emptydir-data", DES),
    ("oc adm drain worker-1 --ignore-daemonsets --force", DES),
    ("kubectl replace --force -f pod.yaml", DES),
    ("kubectl scale deploy/web --replicas=0", DES),
    ("kubectl scale deploy/web --replicas 0 -n prod", DES),
    ("kubectl rollout undo deploy/web", DES),
    ("kubectl rollout undo deploy/web --to-revision=3 -n prod", DES),
    ("kubectl apply -f deploy.yaml --prune -l app=web", DES),
    ("kubectl patch deploy web -p '{\"spec\":{\"replicas\":0}}'", DES),
    ("kubectl patch pvc data-0 --type=merge -p '{\"metadata\":{\"finalizers\":null}}'", DES),
    ("kubectl edit configmap app-config", DES),
    ("kubectl taint nodes worker-1 maintenance=true:NoExecute", DES),
    ("kubectl certificate approve node-csr-abc123", DES),
    ("kubectl create clusterrolebinding ci-admin --clusterrole=cluster-admin --serviceaccount=ci:deployer", DES),
    ("kubectl config delete-user admin@prod", DES),
    ("oc delete project demo", DES),
    ("oc adm policy add-cluster-role-to-user cluster-admin alice", DES),
    ("oc adm prune images --keep-tag-revisions=3 --confirm", DES),
    # --- inner commands of kubectl exec are classified on their own ---
    ("kubectl exec web -- rm -rf /data", DES),
    ("kubectl exec -it web-0 -c app -n prod -- rm -rf /var/lib/app", DES),
    ("kubectl exec -it web-0 -- bash -c 'rm -rf /var/cache/app/*'", DES),
    ("oc exec web-0 -- rm -rf /data", DES),
    # --- catastrophic: denied ---
    ("kubectl delete ns kube-system", CAT),
    ("kubectl --context=prod delete namespace kube-system", CAT),
    ("kubectl delete ns/kube-system", CAT),
    ("kubectl delete namespace istio-system", CAT),
    ("kubectl delete all --all --all-namespaces", CAT),
    ("kubectl delete deployments --all -A", CAT),
    ("kubectl delete --all --all-namespaces=true pods", CAT),
    ("kubectl delete ns --all", CAT),
    ("kubectl delete nodes --all", CAT),
    ("kubectl delete pv --all", CAT),
    ("kubectl delete crd --all", CAT),
    ("kubectl delete crd certificates.cert-manager.io", CAT),
    ("kubectl delete clusterrolebindings --all", CAT),
    ("kubectl delete all --all -n kube-system", CAT),
    ("kubectl -n calico-system delete ds --all", CAT),
    ("kubectl taint nodes --all maintenance=now:NoExecute", CAT),
    ("kubectl exec -it admin-0 -- kubectl delete ns kube-system", CAT),
    ("oc delete project openshift-ingress", CAT),
]

LOOK_ALIKES = [
    "kubectl get pods --field-selector=status.phase=Failed",
    "kubectl get pods --field-selector=status.phase=Delete",
    "kubectl logs deploy/delete-worker",
    "kubectl get configmap delete-me -o yaml",
    "kubectl describe job cleanup-delete-old",
    "kubectl get pods -n delete",
    "kubectl -n delete get pods",
    "echo 'kubectl delete ns prod'",
    "echo \"kubectl delete ns prod\" >> runbook.md",
    "grep -r 'kubectl delete' docs/",
    "rg -n 'kubectl (delete|drain)' .",
    "sed -n '/kubectl delete/p' README.md",
    "git commit -m 'kubectl delete ns kube-system is now blocked'",
    "kubectl delete --dry-run=client -f x.yaml",
    "kubectl delete namespace kube-system --dry-run=server",
    "man kubectl",
    "kubectl delete --help",
    "kubectl wait --for=delete pod/busybox1",
    "kubectl get events --field-selector reason=Killing",
]


@pytest.mark.parametrize("command,expected", CASES)
def test_kubectl_risk(classify: Callable[[str], Verdict], command: str, expected: str) -> None:
    verdict = classify(command)
    assert verdict.risk.label == expected, [m.rule for m in verdict.matches]


@pytest.mark.parametrize("command", LOOK_ALIKES)
def test_kubectl_look_alikes_stay_allowed(classify: Callable[[str], Verdict], command: str) -> None:
    verdict = classify(command)
    assert verdict.decision == Decision.ALLOW, [m.rule for m in verdict.matches]


def test_enough_real_world_cases() -> None:
    assert len(CASES) >= 50
    assert {label for _, label in CASES} == {RO, REV, DES, CAT}


def test_exec_inner_command_is_gated_through_rm(classify: Callable[[str], Verdict]) -> None:
    verdict = classify("kubectl exec web -- rm -rf /data")
    assert verdict.decision == Decision.ASK
    assert any(m.rule == "rm-files" for m in verdict.matches)
    inner = [c for c in verdict.commands if c.program == "rm"]
    assert inner and inner[0].via[-1] == "kubectl exec"


@pytest.mark.parametrize("command,rule", [
    ("kubectl -n prod delete pod x", "kubectl-delete"),
    ("kubectl --context prod-eu --namespace web delete deploy api", "kubectl-delete"),
    ("kubectl --kubeconfig /tmp/kc -s https://k8s:6443 --token abc delete svc web", "kubectl-delete"),
    ("kubectl -l app=web -o name delete pods", "kubectl-delete"),
    ("kubectl --as admin --as-group system:masters delete ns kube-system", "kubectl-delete-system-namespace"),
    ("kubectl -v 6 scale --replicas 0 deploy/web", "kubectl-scale-to-zero"),
])
def test_global_options_before_the_verb(classify: Callable[[str], Verdict], command: str, rule: str) -> None:
    assert rule in [m.rule for m in classify(command).matches]


def test_refusals_say_what_to_do_instead(classify: Callable[[str], Verdict]) -> None:
    verdict = classify("kubectl delete pod web-0")
    match = next(m for m in verdict.matches if m.rule == "kubectl-delete")
    assert match.suggest and "--dry-run=server" in match.suggest
    assert "delete" in match.reason


def test_catastrophic_is_denied(classify: Callable[[str], Verdict]) -> None:
    assert classify("kubectl delete ns kube-system").decision == Decision.DENY
    assert classify("kubectl delete pods --all -A").decision == Decision.DENY


def test_kubectl_debug_inner_command(classify: Callable[[str], Verdict]) -> None:
    verdict = classify("kubectl debug node/worker-1 -it --image=busybox -- chroot /host rm -rf /var/lib/kubelet")
    assert verdict.risk >= Risk.DESTRUCTIVE


def test_bundled_kubectl_wrappers(classify: Callable[[str], Verdict]) -> None:
    assert classify("microk8s kubectl delete ns kube-system").risk == Risk.CATASTROPHIC
