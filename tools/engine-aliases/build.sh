#!/usr/bin/env bash
# Builds tools/engine-aliases (a test binary of Pulumi's own engine, pulumi/pulumi pkg/v3 from the Go
# module proxy) into a cache outside the repository, once per source version, and prints its path.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v go >/dev/null; then
  echo "Go is not installed: Pulumi's engine is built from Go modules for the alias test. Install Go 1.26 (https://go.dev/doc/install), then run npm test again." >&2
  exit 2
fi
hash=$(cat go.mod go.sum aliases_test.go | sha256sum | cut -c1-16)
cache=${TALOS_PROXMOX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/talos-proxmox}
binary=$cache/engine-aliases-$hash
if [ ! -x "$binary" ]; then
  mkdir -p "$cache"
  go test -c -trimpath -o "$binary.tmp" . >&2
  mv "$binary.tmp" "$binary"
fi
echo "$binary"
