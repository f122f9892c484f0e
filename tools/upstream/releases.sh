#!/usr/bin/env bash
# Writes components/internal/releases.ts: the released versions (no pre-releases) of what a stack pins,
# which the cluster's checks compare its versions with. Talos, kube-vip and kube-vip-cloud-provider
# release by git tag (vMAJOR.MINOR.PATCH; their images are tagged the same); Cilium's chart versions
# are the entries of its Helm repository's index, where the chart is fetched from.
#
#   bash tools/upstream/releases.sh
#
# Each source can be pointed elsewhere (a local clone, a mirror, a saved index):
#   TALOS_GIT                    git dir or URL of siderolabs/talos   (https://github.com/siderolabs/talos.git)
#   KUBE_VIP_GIT                 ... of kube-vip/kube-vip              (https://github.com/kube-vip/kube-vip.git)
#   KUBE_VIP_CLOUD_PROVIDER_GIT  ... of kube-vip/kube-vip-cloud-provider
#   CILIUM_INDEX                 path or URL of the chart index       (https://helm.cilium.io/index.yaml)
#   TALOS_TAGS_ALSO              Talos releases to add, separated by spaces, when TALOS_GIT is a snapshot
#                                older than them (each one checked by hand, e.g. the Go module proxy
#                                serving github.com/siderolabs/talos at that version)
#
# Why not the Go module proxy: its version lists hold only what the proxy has cached, and the proxy
# these machines reach answers 403 for siderolabs/talos and kube-vip (see kube-vip-manifests.sh); the
# tags and the chart index are what the releases are.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=components/internal/releases.ts
talos=${TALOS_GIT:-https://github.com/siderolabs/talos.git}
kube_vip=${KUBE_VIP_GIT:-https://github.com/kube-vip/kube-vip.git}
cloud_provider=${KUBE_VIP_CLOUD_PROVIDER_GIT:-https://github.com/kube-vip/kube-vip-cloud-provider.git}
cilium=${CILIUM_INDEX:-https://helm.cilium.io/index.yaml}

# Release tags of a repository, oldest first.
tags() {
  local list
  list=$(git ls-remote --tags --refs "$1" | awk '{ sub("refs/tags/", "", $2); print $2 }' |
    grep -E '^v[0-9]+\.[0-9]+\.[0-9]+$' | sort -V)
  [ -n "$list" ] || { echo "no release tags in $1" >&2; exit 1; }
  echo "$list"
}

# Versions of the cilium chart in a Helm index (entries.cilium[].version), oldest first.
chart_versions() {
  local index list
  if [[ "$1" == http* ]]; then index=$(curl -fsSL "$1"); else index=$(cat "$1"); fi
  list=$(awk '/^  [^ -]/ { in_chart = ($1 == "cilium:") } in_chart && /^    version: / { print $2 }' <<<"$index" |
    tr -d '"' | grep -E '^[0-9]+\.[0-9]+\.[0-9]+$' | sort -V)
  [ -n "$list" ] || { echo "no cilium chart versions in $1" >&2; exit 1; }
  echo "$list"
}

constant() {
  echo ""
  echo "/** $2 */"
  echo "export const $1: readonly string[] = ["
  while read -r version; do echo "  \"$version\","; done <<<"$3"
  echo "];"
}

talos_list=$( (tags "$talos"; printf '%s\n' ${TALOS_TAGS_ALSO:-}) | grep -E '^v[0-9]+\.[0-9]+\.[0-9]+$' | sort -uV)
kube_vip_list=$(tags "$kube_vip")
cloud_provider_list=$(tags "$cloud_provider")
cilium_list=$(chart_versions "$cilium")
{
  echo "/**"
  echo " * Released versions, oldest first, without pre-releases: the git release tags of siderolabs/talos,"
  echo " * kube-vip/kube-vip and kube-vip/kube-vip-cloud-provider, and the cilium chart's versions in Cilium's"
  echo " * Helm repository index. Written by tools/upstream/releases.sh; do not edit: run it again to refresh."
  echo " */"
  constant TALOS_RELEASES "siderolabs/talos release tags." "$talos_list"
  constant CILIUM_CHART_RELEASES "Versions of the cilium chart at https://helm.cilium.io/." "$cilium_list"
  constant KUBE_VIP_RELEASES "kube-vip/kube-vip release tags (ghcr.io/kube-vip/kube-vip image tags)." "$kube_vip_list"
  constant KUBE_VIP_CLOUD_PROVIDER_RELEASES \
    "kube-vip/kube-vip-cloud-provider release tags (ghcr.io/kube-vip/kube-vip-cloud-provider image tags)." \
    "$cloud_provider_list"
} >"$out"
echo "wrote $out: Talos $(tail -n1 <<<"$talos_list"), Cilium $(tail -n1 <<<"$cilium_list"), kube-vip $(tail -n1 <<<"$kube_vip_list"), kube-vip-cloud-provider $(tail -n1 <<<"$cloud_provider_list")"
