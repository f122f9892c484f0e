#!/usr/bin/env bash
# Builds one of the Go tools the tests run on upstream's own code (tools/talos-validate: Talos's
# machinery; tools/engine-aliases: Pulumi's engine) from the Go module proxy into a cache outside the
# repository, once per source version, and prints the binary's path.
#   go-tool.sh <tool directory> build   a program (go build)
#   go-tool.sh <tool directory> test    a test binary (go test -c)
set -euo pipefail
dir=$1
mode=$2
name=$(basename "$dir")
cd "$dir"
if ! command -v go >/dev/null; then
  echo "Go is not installed: the tests build $name from Go modules. Install Go 1.26 (https://go.dev/doc/install), then run npm test again." >&2
  exit 2
fi
hash=$(cat go.mod go.sum ./*.go | sha256sum | cut -c1-16)
cache=${TALOS_PROXMOX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/talos-proxmox}
binary=$cache/$name-$hash
if [ ! -x "$binary" ]; then
  mkdir -p "$cache"
  case $mode in
    build) go build -trimpath -o "$binary.tmp" . >&2 ;;
    test) go test -c -trimpath -o "$binary.tmp" . >&2 ;;
    *) echo "go-tool.sh: mode must be build or test, not $mode" >&2; exit 2 ;;
  esac
  mv "$binary.tmp" "$binary"
fi
echo "$binary"
