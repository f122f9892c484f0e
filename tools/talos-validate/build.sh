#!/usr/bin/env bash
# Builds tools/talos-validate (Talos's own machinery, from the Go module proxy) into a cache outside
# the repository, once per source version, and prints the binary's path.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v go >/dev/null; then
  echo "Go is not installed: Talos's config validation is built from Go modules. Install Go 1.26 (https://go.dev/doc/install), then run npm test again." >&2
  exit 2
fi
hash=$(cat go.mod go.sum main.go | sha256sum | cut -c1-16)
cache=${TALOS_PROXMOX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/talos-proxmox}
binary=$cache/talos-validate-$hash
if [ ! -x "$binary" ]; then
  mkdir -p "$cache"
  go build -trimpath -o "$binary.tmp" . >&2
  mv "$binary.tmp" "$binary"
fi
echo "$binary"
