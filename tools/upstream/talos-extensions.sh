#!/usr/bin/env bash
# Writes components/internal/talos-extensions.ts: the names of Sidero's official system extensions at a
# siderolabs/extensions release, read from each extension's manifest (metadata.name). Image Factory
# serves these as "siderolabs/<name>".
#
#   bash tools/upstream/talos-extensions.sh <git dir of github.com/siderolabs/extensions> <tag, e.g. v1.13.9>
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=${1:?usage: talos-extensions.sh <extensions git dir> <tag>}
tag=${2:?usage: talos-extensions.sh <extensions git dir> <tag>}
out=components/internal/talos-extensions.ts

names=$(git --git-dir "$repo" ls-tree -r --name-only "$tag" | grep '/manifest.yaml.tmpl$' | while read -r file; do
  git --git-dir "$repo" show "$tag:$file" | awk '$1 == "name:" { print $2; exit }'
done | sort -u)

{
  echo "/**"
  echo " * Sidero's official system extensions at siderolabs/extensions $tag: the names Image Factory accepts"
  echo " * in a schematic's officialExtensions. Written by tools/upstream/talos-extensions.sh from each"
  echo " * extension's manifest.yaml.tmpl (metadata.name); do not edit."
  echo " */"
  echo "export const EXTENSIONS_RELEASE = \"$tag\";"
  echo ""
  echo "export const OFFICIAL_EXTENSIONS: readonly string[] = ["
  while read -r name; do echo "  \"siderolabs/$name\","; done <<<"$names"
  echo "];"
} >"$out"
echo "wrote $out ($(wc -l <<<"$names") extensions)"
