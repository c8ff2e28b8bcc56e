"""rules.d/az.yaml: Azure CLI commands and the risk each must get.

Commands come from the Azure CLI reference and the AKS, App Service, Key Vault, Storage, SQL and
RBAC guides (beyond the rule examples), plus wrappers and look-alikes.
"""
from __future__ import annotations

from typing import Callable

import pytest

from guardsh.engine.model import Decision, Verdict

from rulepack import case_ids as _ids
from rulepack import check_docs_entry
from rulepack import docs_more as _docs_more

RO, REV, DES, CAT = "read-only", "reversible", "destructive", "catastrophic"
TOOL = "az"  # its entries in tests/corpus/docs_more.yaml

CASES = [
    # --- reading ---
    ("az vm list --resource-group MyResourceGroup --show-details --output table", RO),
    ("az vm list-ip-addresses -g MyResourceGroup -n MyVm", RO),
    ("az vm list-sizes --location westus", RO),
    ("az vm image list --output table", RO),
    ("az group show --name MyResourceGroup", RO),
    ("az account list --output table", RO),
    ("az account list-locations -o table", RO),
    ("az resource show -g MyResourceGroup -n MyVm --resource-type Microsoft.Compute/virtualMachines", RO),
    ("az aks get-versions --location eastus -o table", RO),
    ("az aks nodepool list -g MyResourceGroup --cluster-name MyManagedCluster", RO),
    ("az aks check-acr -g MyResourceGroup -n MyManagedCluster --acr myacr.azurecr.io", RO),
    ("az storage account list -g MyResourceGroup", RO),
    ("az storage account show-connection-string -g MyResourceGroup -n mystorageaccount", RO),
    ("az storage container list --account-name mystorageaccount --auth-mode login", RO),
    ("az storage blob show -c mycontainer -n file.txt --account-name mystorageaccount", RO),
    ("az storage blob exists -c mycontainer -n file.txt --account-name mystorageaccount", RO),
    ("az sql server list -g MyResourceGroup", RO),
    ("az sql db show -g MyResourceGroup -s myserver -n mydb", RO),
    ("az keyvault list", RO),
    ("az keyvault secret show --vault-name MyKeyVault --name MySecret --query value -o tsv", RO),
    ("az role definition list --name Contributor", RO),
    ("az ad user show --id user@example.com", RO),
    ("az ad signed-in-user show", RO),
    ("az monitor metrics list --resource /subscriptions/0/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm "
     "--metric 'Percentage CPU'", RO),
    ("az webapp list --query \"[].{name:name, state:state}\" -o table", RO),
    ("az webapp config appsettings list -g MyResourceGroup -n MyWebapp", RO),
    ("az network vnet list -g MyResourceGroup", RO),
    ("az network public-ip show -g MyResourceGroup -n MyIp", RO),
    ("az deployment group list -g MyResourceGroup", RO),
    ("az deployment group validate -g MyResourceGroup --template-file main.bicep", RO),
    ("az deployment sub what-if --location eastus --template-file main.bicep", RO),
    ("az storage blob delete-batch --source mycontainer --account-name mystorageaccount --pattern '*.log' --dryrun", RO),
    ("az vm delete --help", RO),
    # --- routine changes ---
    ("az login --use-device-code", REV),
    ("az account set -s 00000000-0000-0000-0000-000000000000", REV),
    ("az config set defaults.group=MyResourceGroup", REV),
    ("az extension add --name aks-preview", REV),
    ("az group create --name MyResourceGroup --location westeurope", REV),
    ("az vm create -n MyVm -g MyResourceGroup --image Ubuntu2204 --size Standard_B2s --generate-ssh-keys", REV),
    ("az vm start --ids /subscriptions/0/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm", REV),
    ("az vm open-port -g MyResourceGroup -n MyVm --port 80", REV),
    ("az aks create -g MyResourceGroup -n MyManagedCluster --node-count 3 --generate-ssh-keys", REV),
    ("az aks get-credentials --resource-group MyResourceGroup --name MyManagedCluster --overwrite-existing", REV),
    ("az aks nodepool add -g MyResourceGroup --cluster-name MyManagedCluster -n np2 --node-count 2", REV),
    ("az aks nodepool scale -g MyResourceGroup --cluster-name MyManagedCluster -n np2 --node-count 4", REV),
    ("az aks start -g MyResourceGroup -n MyManagedCluster", REV),
    ("az storage account create -n mystorageaccount -g MyResourceGroup -l westus --sku Standard_LRS", REV),
    ("az storage blob upload-batch -d mycontainer --account-name mystorageaccount -s ./dist", REV),
    ("az storage blob download -c mycontainer -n file.txt -f ./file.txt --account-name mystorageaccount", REV),
    ("az storage blob sync -c mycontainer --account-name mystorageaccount -s ./site", REV),
    ("az webapp up --name MyWebapp --runtime 'PYTHON:3.12'", REV),
    ("az webapp config appsettings set -g MyResourceGroup -n MyWebapp --settings KEY=value", REV),
    ("az webapp deployment slot swap -g MyResourceGroup -n MyWebapp --slot staging", REV),
    ("az functionapp deployment source config-zip -g MyResourceGroup -n MyFunc --src app.zip", REV),
    ("az sql db create -g MyResourceGroup -s myserver -n mydb --service-objective S0", REV),
    ("az keyvault create --name MyKeyVault -g MyResourceGroup --location eastus", REV),
    ("az acr login --name myregistry", REV),
    ("az deployment group create -g MyResourceGroup --template-file main.bicep --parameters env=dev", REV),
    ("az vm start -g MyResourceGroup -n MyVm --no-wait", REV),
    # --- destructive ---
    ("az vm delete --ids /subscriptions/0/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm --yes", DES),
    ("az vm deallocate --ids $(az vm list -g MyResourceGroup --query \"[].id\" -o tsv)", DES),
    ("az vm stop --resource-group MyResourceGroup --name MyVm --skip-shutdown", DES),
    ("az vm restart -g MyResourceGroup -n MyVm --force", DES),
    ("az vm reimage -g MyResourceGroup -n MyVm", DES),
    ("az vmss deallocate -g MyResourceGroup -n MyScaleSet", DES),
    ("az vmss scale -g MyResourceGroup -n MyScaleSet --new-capacity 0", DES),
    ("az disk delete -g MyResourceGroup -n MyDisk --yes", DES),
    ("az snapshot delete -g MyResourceGroup -n MySnapshot", DES),
    ("az group delete --name MyResourceGroup --no-wait", DES),
    ("az aks delete --name MyManagedCluster --resource-group MyResourceGroup --yes --no-wait", DES),
    ("az aks stop --name MyManagedCluster --resource-group MyResourceGroup", DES),
    ("az aks scale --resource-group MyResourceGroup --name MyManagedCluster --node-count 0 --nodepool-name nodepool1", DES),
    ("az aks nodepool delete -g MyResourceGroup --cluster-name MyManagedCluster -n np2 --no-wait", DES),
    ("az aks command invoke -g MyResourceGroup -n MyManagedCluster --command 'kubectl get pods'", DES),
    ("az storage account delete -n mystorageaccount -g MyResourceGroup", DES),
    ("az storage container delete -n mycontainer --account-name mystorageaccount", DES),
    ("az storage blob delete-batch -s mycontainer --account-name mystorageaccount --pattern 'logs/*'", DES),
    ("az storage blob sync -c mycontainer --account-name mystorageaccount -s ./site --delete-destination true", DES),
    ("az storage share delete --name myshare --account-name mystorageaccount", DES),
    ("az storage container set-permission --name mycontainer --public-access container --account-name mystorageaccount", DES),
    ("az sql db delete --name mydb --resource-group MyResourceGroup --server myserver", DES),
    ("az sql server delete -g MyResourceGroup -n myserver --yes", DES),
    ("az sql server firewall-rule create -g MyResourceGroup -s myserver -n AllowAll "
     "--start-ip-address 0.0.0.0 --end-ip-address 255.255.255.255", DES),
    ("az postgres flexible-server stop -g MyResourceGroup -n mypg", DES),
    ("az cosmosdb sql database delete -a mycosmos -g MyResourceGroup -n mydb", DES),
    ("az keyvault delete --name MyKeyVault --resource-group MyResourceGroup", DES),
    ("az keyvault purge --name MyKeyVault --location eastus", DES),
    ("az keyvault secret delete --vault-name MyKeyVault --name MySecret", DES),
    ("az keyvault key purge --vault-name MyKeyVault --name MyKey", DES),
    ("az keyvault set-policy --name MyKeyVault --object-id 00000000-0000-0000-0000-000000000000 --secret-permissions all", DES),
    ("az webapp delete --name MyWebapp --resource-group MyResourceGroup", DES),
    ("az webapp stop --name MyWebapp --resource-group MyResourceGroup", DES),
    ("az webapp restart --name MyWebapp --resource-group MyResourceGroup", DES),
    ("az functionapp delete -g MyResourceGroup -n MyFunc", DES),
    ("az network nsg rule create -g MyResourceGroup --nsg-name MyNsg -n AllowRDP --priority 1000 "
     "--source-address-prefixes Internet --destination-port-ranges 3389 --access Allow --protocol Tcp", DES),
    ("az network nsg delete -g MyResourceGroup -n MyNsg", DES),
    ("az network vnet delete -g MyResourceGroup -n MyVnet", DES),
    ("az network public-ip delete -g MyResourceGroup -n MyIp", DES),
    ("az role assignment create --assignee 00000000-0000-0000-0000-000000000000 --role Contributor "
     "--scope /subscriptions/0/resourceGroups/MyResourceGroup", DES),
    ("az role assignment delete --ids /subscriptions/0/providers/Microsoft.Authorization/roleAssignments/1", DES),
    ("az role definition create --role-definition @customrole.json", DES),
    ("az ad sp create-for-rbac --name ci-deployer --role contributor --scopes /subscriptions/0 --json-auth", DES),
    ("az ad sp credential reset --id 00000000-0000-0000-0000-000000000000", DES),
    ("az ad user delete --id user@example.com", DES),
    ("az ad group member add --group Admins --member-id 00000000-0000-0000-0000-000000000000", DES),
    ("az resource delete --ids /subscriptions/0/resourceGroups/rg/providers/Microsoft.Web/sites/app", DES),
    ("az vm run-command invoke -g MyResourceGroup -n MyVm --command-id RunShellScript --scripts 'uptime'", DES),
    ("az deployment group create -g MyResourceGroup --template-file main.json --mode Complete --no-prompt", DES),
    ("az acr repository delete --name myregistry --image myapp:v1 --yes", DES),
    # --- catastrophic ---
    ("az group delete --name MyResourceGroup --yes", CAT),
    ("az group delete -n MyResourceGroup -y --no-wait", CAT),
    ("az group list --query \"[?starts_with(name,'test')].name\" -o tsv | xargs -I{} az group delete -n {} --yes", CAT),
]

WRAPPERS = [
    ("sudo az vm delete -g rg -n vm --yes", DES),
    ("bash -c 'az aks delete -g rg -n c --yes'", DES),
    ("ssh jump az keyvault purge --name kv", DES),
    ("az --only-show-errors vm stop -g rg -n vm", DES),
    ("AZURE_CORE_OUTPUT=json az sql db delete -g rg -s srv -n db --yes", DES),
    ("az vm list -g rg --query \"[].id\" -o tsv | xargs az vm delete --yes --ids", CAT),
    # look-alikes
    ("echo az group delete -n rg --yes", RO),
    ("grep -rn 'az group delete' infra/", RO),
    ("git commit -m 'az vm delete old boxes'", REV),
    ("az vm list --query \"[?name=='delete-me']\"", RO),
    ("az vm show -g rg -n delete", RO),
    ("az group show -n delete-me", RO),
    ("az resource list --tag purge=true", RO),
    ("az group delete --help", RO),
    ("az storage blob delete-batch -h", RO),
    ("az extension remove --name aks-preview", REV),
    ("az config unset defaults.group", REV),
    ("az logout", REV),
]


@pytest.mark.parametrize(("command", "expected"), CASES, ids=_ids(CASES))
def test_az_reference_commands(classify: Callable[[str], Verdict], command: str, expected: str) -> None:
    verdict = classify(command)
    assert verdict.risk.label == expected, [m.to_json() for m in verdict.matches]


@pytest.mark.parametrize(("command", "expected"), WRAPPERS, ids=_ids(WRAPPERS))
def test_az_wrappers_and_look_alikes(classify: Callable[[str], Verdict], command: str, expected: str) -> None:
    verdict = classify(command)
    assert verdict.risk.label == expected, [m.to_json() for m in verdict.matches]


@pytest.mark.parametrize(("command", "rule"), [
    ("az vm delete -g rg -n vm --yes", "az-delete"),
    ("az vm deallocate -g rg -n vm", "az-stop"),
    ("az group delete -n rg --yes", "az-group-delete-unprompted"),
    ("az role assignment delete --assignee u --role Owner", "az-identity-change"),
    ("az storage blob delete-batch --account-name a --source c", "az-delete-3"),
    ("az aks scale -g rg -n c --node-count 0", "az-scale-to-zero"),
])
def test_the_specific_rule_explains(classify: Callable[[str], Verdict], command: str, rule: str) -> None:
    assert rule in [m.rule for m in classify(command).matches]


def test_decisions(classify: Callable[[str], Verdict]) -> None:
    assert classify("az vm list").decision == Decision.ALLOW
    assert classify("az vm start -g rg -n vm").decision == Decision.ALLOW
    assert classify("az vm deallocate -g rg -n vm").decision == Decision.ASK
    assert classify("az group delete -n rg --yes --no-wait").decision == Decision.DENY


# --- tests/corpus/docs_more.yaml: documentation commands labelled before the rules were written ---

@pytest.mark.parametrize("entry", _docs_more(TOOL), ids=lambda e: " ".join(e["command"].split())[:70])
def test_docs_more_corpus(classify: Callable[[str], Verdict], entry: dict[str, str]) -> None:
    """Read-only is allowed, destructive asks, catastrophic is denied (reversible is allowed too)."""
    check_docs_entry(classify, entry)

