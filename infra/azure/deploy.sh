#!/usr/bin/env bash
# Deploys weft's control plane to Azure: resource group, template (stage 1),
# code package, template again with the Event Grid subscriptions (stage 2).
# Stage 2 is separate because Event Grid validates a webhook when its
# subscription is created, so the functions must be running by then.
# Run infra/azure/deploy.sh --help for the flags; docs/deploy-azure.md for more.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
template="$here/weft.json"

usage() {
  cat <<'EOF'
Usage: infra/azure/deploy.sh --resource-group NAME --operator-issuer URL
         --operator-audience AUD --operator-jwks-url URL [options]

Deploys weft's control plane into one resource group (created if missing):
template stage 1, the functions' code, template stage 2 (Event Grid subscriptions).

Required:
  -g, --resource-group NAME     resource group to create or update
      --operator-issuer URL     iss of operator tokens (https)
      --operator-audience AUD   aud operator tokens carry
      --operator-jwks-url URL   the issuer's JWKS (https)

Options:
  -s, --subscription ID         Azure subscription (default: the CLI's current one)
  -l, --location REGION         region with Flex Consumption (default: eastus)
  -n, --name NAME               name of this control plane, [a-z][a-z0-9]{0,9} (default: main)
      --operator-role-claim C   claim holding operator roles
      --peers-file FILE         peer clouds, JSON [{"cloud","url","keys":[JWK with kid]}]
      --root-cert FILE          a federated mesh's root certificate (PEM)
      --push-audience URI       app ID URI of the Entra app Event Grid authenticates
                                deliveries for (recommended); without it, deliveries
                                carry a random secret generated here
      --push-tenant ID          that app's tenant (default: the subscription's)
      --msi-audience URI        audience of agents' managed identity tokens (azure_msi)
      --default-environment E   Environment of tag-registered Workloads (default: azure-<location>)
      --package ZIP             deploy this code package (built by infra/azure/bundle.ts)
                                instead of bundling the working tree
      --no-monitoring           no Application Insights / Log Analytics
      --recover-vault           recover the soft-deleted vault of an earlier deployment
                                with this name and resource group (keys included)
      --dry-run                 print every command (prefixed "+ ") and run none
  -h, --help                    this help

Progress goes to stderr; the deployment's outputs (API URL, topic endpoint,
vault URL, ...) go to stdout as JSON.
EOF
}

say() { printf 'weft: %s\n' "$*" >&2; }
die() {
  say "$*"
  exit 2
}

dry_run=false
# Prints a command as `+ cmd args` on stderr, then runs it unless --dry-run.
run() {
  printf '+' >&2
  printf ' %q' "$@" >&2
  printf '\n' >&2
  if [[ $dry_run == false ]]; then "$@"; fi
}

# Runs `run "$@"` up to `tries` times, `delay` seconds apart.
retry() {
  local tries=$1 delay=$2 attempt=1
  shift 2
  until run "$@"; do
    ((attempt >= tries)) && return 1
    say "failed (attempt $attempt of $tries); retrying in ${delay}s"
    sleep "$delay"
    attempt=$((attempt + 1))
  done
}

subscription="" resource_group="" location="eastus" name="main"
operator_issuer="" operator_audience="" operator_jwks_url="" operator_role_claim=""
peers_file="" root_cert_file="" push_audience="" push_tenant="" msi_audience=""
default_environment="" monitoring=true recover_vault=false package=""

need_value() { [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value (see --help)"; }
while [[ $# -gt 0 ]]; do
  case $1 in
    -h | --help)
      usage
      exit 0
      ;;
    --dry-run) dry_run=true ;;
    --no-monitoring) monitoring=false ;;
    --recover-vault) recover_vault=true ;;
    -s | --subscription | -g | --resource-group | -l | --location | -n | --name | --operator-issuer | \
      --operator-audience | --operator-jwks-url | --operator-role-claim | --peers-file | --root-cert | \
      --push-audience | --push-tenant | --msi-audience | --default-environment | --package)
      need_value "$@"
      case $1 in
        -s | --subscription) subscription=$2 ;;
        -g | --resource-group) resource_group=$2 ;;
        -l | --location) location=$2 ;;
        -n | --name) name=$2 ;;
        --operator-issuer) operator_issuer=$2 ;;
        --operator-audience) operator_audience=$2 ;;
        --operator-jwks-url) operator_jwks_url=$2 ;;
        --operator-role-claim) operator_role_claim=$2 ;;
        --peers-file) peers_file=$2 ;;
        --root-cert) root_cert_file=$2 ;;
        --push-audience) push_audience=$2 ;;
        --push-tenant) push_tenant=$2 ;;
        --msi-audience) msi_audience=$2 ;;
        --default-environment) default_environment=$2 ;;
        --package) package=$2 ;;
      esac
      shift
      ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
  shift
done

missing=()
[[ -n $resource_group ]] || missing+=(--resource-group)
[[ -n $operator_issuer ]] || missing+=(--operator-issuer)
[[ -n $operator_audience ]] || missing+=(--operator-audience)
[[ -n $operator_jwks_url ]] || missing+=(--operator-jwks-url)
((${#missing[@]} == 0)) || die "missing ${missing[*]} (see --help)"
[[ $name =~ ^[a-z][a-z0-9]{0,9}$ ]] || die "--name must be 1-10 lower-case letters and digits, starting with a letter: got '$name'"
[[ $operator_issuer == https://* ]] || die "--operator-issuer must be an https URL: got '$operator_issuer'"
[[ $operator_jwks_url == https://* ]] || die "--operator-jwks-url must be an https URL: got '$operator_jwks_url'"
peers="[]"
if [[ -n $peers_file ]]; then peers="$(<"$peers_file")" || die "cannot read --peers-file $peers_file"; fi
root_cert=""
if [[ -n $root_cert_file ]]; then root_cert="$(<"$root_cert_file")" || die "cannot read --root-cert $root_cert_file"; fi
if [[ -n $package ]]; then
  [[ -f $package ]] || die "--package $package is not a file"
  package="$(cd "$(dirname "$package")" && pwd)/$(basename "$package")"
fi
command -v node >/dev/null || die "node (20.19 or later) is needed to bundle the functions"
[[ -f $template ]] || die "$template is missing: run npm run synth:azure"

if [[ $dry_run == true ]]; then say "dry run: printing the commands, running none"; fi
work="$(mktemp -d "${TMPDIR:-/tmp}/weft-azure.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# Without an Entra app, Event Grid authenticates deliveries with a shared secret
# (a new one per deployment; the app setting and the subscriptions change together).
push_secret=""
if [[ -z $push_audience ]]; then
  say "no --push-audience: deliveries carry a generated secret (see docs/deploy-azure.md for the Entra app)"
  push_secret="$(node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("hex"))')"
fi

# The parameters go in a file: JSON values (peers, a PEM) survive intact and
# the secret stays off the command line.
params="$work/parameters.json"
# shellcheck disable=SC2016 # the single-quoted program is JavaScript: its ${...} are not the shell's
WEFT_P_name=$name WEFT_P_location=$location WEFT_P_operatorIssuer=$operator_issuer \
  WEFT_P_operatorAudience=$operator_audience WEFT_P_operatorJwksUrl=$operator_jwks_url \
  WEFT_P_operatorRoleClaim=$operator_role_claim WEFT_P_peers=$peers WEFT_P_rootCert=$root_cert \
  WEFT_P_pushTenantId=$push_tenant WEFT_P_pushAudience=$push_audience WEFT_P_pushSecret=$push_secret \
  WEFT_P_msiAudience=$msi_audience WEFT_P_defaultEnvironment=$default_environment \
  WEFT_B_monitoring=$monitoring WEFT_B_recoverVault=$recover_vault \
  node -e '
    const parameters = {};
    for (const [key, value] of Object.entries(process.env).sort()) {
      const [, kind, name] = /^WEFT_([PB])_(\w+)$/.exec(key) ?? [];
      if (!name) continue;
      // Empty strings are left to the template defaults (pushTenantId: the subscription tenant).
      if (kind === "P" && value !== "") parameters[name] = { value };
      if (kind === "B") parameters[name] = { value: value === "true" };
    }
    const file = { $schema: "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
      contentVersion: "1.0.0.0", parameters };
    require("node:fs").writeFileSync(process.argv[1], JSON.stringify(file, null, 2));
    if (parameters.pushSecret) parameters.pushSecret = { value: "<generated>" };
    process.stderr.write(`weft: parameters: ${JSON.stringify(Object.fromEntries(
      Object.entries(parameters).map(([k, v]) => [k, v.value])))}\n`);
  ' "$params"

deployment="weft-$name"
group_args=(--resource-group "$resource_group")
if [[ -n $subscription ]]; then
  group_args+=(--subscription "$subscription")
  run az account set --subscription "$subscription"
fi

say "registering the resource providers weft uses (once per subscription)"
for namespace in Microsoft.Web Microsoft.Storage Microsoft.KeyVault Microsoft.EventGrid \
  Microsoft.ManagedIdentity Microsoft.Insights Microsoft.OperationalInsights; do
  run az provider register --namespace "$namespace" --wait
done

say "resource group $resource_group in $location"
run az group create --name "$resource_group" --location "$location" \
  --tags "weft:control-plane=$name" --output none

say "stage 1: storage, identity, Key Vault, Event Grid topics, Function App (no subscriptions)"
app="$(run az deployment group create "${group_args[@]}" --name "$deployment" \
  --template-file "$template" --parameters "@$params" deploySubscriptions=false \
  --query properties.outputs.functionAppName.value --output tsv)"
if [[ $dry_run == true ]]; then app="function-app-from-stage-1"; fi

if [[ -n $package ]]; then
  zip=$package
else
  say "bundling the functions"
  cd "$root" # node resolves tsx from here
  zip="$(run node --import tsx infra/azure/bundle.ts "$work/package")"
  if [[ $dry_run == true ]]; then zip="$work/package/weft-functions.zip"; fi
fi

# A role assignment made in stage 1 can take minutes to reach storage, so the first
# upload of the package may be refused (403): retried.
say "deploying the code to $app"
retry 6 30 az functionapp deployment source config-zip "${group_args[@]}" --name "$app" --src "$zip" \
  --output none

# Event Grid's validation request reaches a function that may still be starting: retried.
say "stage 2: Event Grid subscriptions to weftCompile, weftRelay, weftRegistrar"
retry 3 30 az deployment group create "${group_args[@]}" --name "$deployment" \
  --template-file "$template" --parameters "@$params" deploySubscriptions=true recoverVault=false \
  --output none

say "done; outputs:"
run az deployment group show "${group_args[@]}" --name "$deployment" \
  --query properties.outputs --output json
