#!/usr/bin/env bash
# Deletes a weft control plane from Azure: its whole resource group.
# Run infra/azure/teardown.sh --help for the flags; docs/deploy-azure.md for more.
set -euo pipefail

usage() {
  cat <<'EOF_USAGE'
Usage: infra/azure/teardown.sh --resource-group NAME [options]

Deletes the resource group and everything in it: functions, state (tables and
blobs), topics and subscriptions, identities and their role assignments, and
anything else in the group (virtual machines tagged for the registrar too:
the list is shown, and resources without the weft:control-plane tag are named,
before you confirm).

The Key Vault is only soft-deleted: purge protection keeps it, with the relay
and CA keys, recoverable (and its name reserved) for its retention period
(90 days unless deployed otherwise); nobody can purge it sooner. Deploying the
same --name into a group of the same name again needs --recover-vault.

Options:
  -g, --resource-group NAME   the group deploy.sh created (required)
  -s, --subscription ID       Azure subscription (default: the CLI's current one)
  -y, --yes                   do not ask for confirmation
      --dry-run               print every command (prefixed "+ ") and run none
  -h, --help                  this help
EOF_USAGE
}

say() { printf 'weft: %s\n' "$*" >&2; }
die() {
  say "$*"
  exit 2
}

dry_run=false
run() {
  printf '+' >&2
  printf ' %q' "$@" >&2
  printf '\n' >&2
  if [[ $dry_run == false ]]; then "$@"; fi
}

resource_group="" subscription="" yes=false
while [[ $# -gt 0 ]]; do
  case $1 in
    -h | --help)
      usage
      exit 0
      ;;
    --dry-run) dry_run=true ;;
    -y | --yes) yes=true ;;
    -g | --resource-group | -s | --subscription)
      [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value (see --help)"
      case $1 in
        -g | --resource-group) resource_group=$2 ;;
        -s | --subscription) subscription=$2 ;;
      esac
      shift
      ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
  shift
done
[[ -n $resource_group ]] || die "missing --resource-group (see --help)"
if [[ $dry_run == true ]]; then say "dry run: printing the commands, running none"; fi

sub_args=()
if [[ -n $subscription ]]; then sub_args=(--subscription "$subscription"); fi
group_args=(--resource-group "$resource_group" "${sub_args[@]}")

say "resources in $resource_group:"
run az resource list "${group_args[@]}" --query '[].{name:name, type:type}' --output table >&2
# The registrar watches this group, so tagged workloads may live here too: they go with it.
foreign="$(run az resource list "${group_args[@]}" \
  --query '[?tags."weft:control-plane" == null].[type, name]' --output tsv)"
if [[ -n $foreign ]]; then
  say "WARNING: these were not created by deploy.sh (no weft:control-plane tag) and will be deleted too:"
  printf '  %s\n' "$foreign" >&2
fi
vaults="$(run az keyvault list "${group_args[@]}" --query '[].name' --output tsv)"
if [[ $dry_run == true ]]; then vaults="vault-from-the-list-above"; fi

if [[ $yes == false && $dry_run == false ]]; then
  [[ -t 0 ]] || die "not a terminal: pass --yes to delete $resource_group without asking"
  read -r -p "Delete resource group $resource_group and everything in it? Type its name to confirm: " answer
  [[ $answer == "$resource_group" ]] || die "not confirmed; nothing deleted"
fi

say "deleting $resource_group (takes a few minutes)"
run az group delete --name "$resource_group" "${sub_args[@]}" --yes

# Purge protection: the vault cannot be purged, only recovered, until its retention ends.
for vault in $vaults; do
  say "Key Vault $vault is soft-deleted with its keys; recoverable (name reserved) until:"
  run az keyvault show-deleted --name "$vault" "${sub_args[@]}" --query properties.scheduledPurgeDate --output tsv >&2
done
say "not deleted: the Entra app registrations for push and agent audiences, if you made them"
