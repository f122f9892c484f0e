#!/usr/bin/env bash
# Builds one of the Go tools the tests run on upstream's own code (tools/talos-validate: Talos's
# machinery; tools/engine-aliases and tools/engine: Pulumi's engine, CLI, our language host and the
# stand-in provider plugins) from the Go module proxy into a cache outside the repository, once per
# source version, and prints the binary's path.
#   go-tool.sh <module dir> build [<package> [go build flags...]]
#                                     a program (go build); <package> defaults to the module's root,
#                                     a local one (./x) or one of its dependencies' (a/b/cmd/x)
#   go-tool.sh <module dir> test      a test binary (go test -c)
set -euo pipefail
dir=$1
mode=$2
package=${3:-.}
shift $(($# < 3 ? $# : 3))
cd "$dir"
name=$(basename "$dir")
[ "$package" = . ] || name=$name-$(basename "$package")
if ! command -v go >/dev/null; then
  echo "Go is not installed: the tests build $name from Go modules. Install Go 1.26 (https://go.dev/doc/install), then run the tests again." >&2
  exit 2
fi
# The key: the module's requirements, the package's own sources (none for a dependency's) and the flags.
sources=go.mod:go.sum
if [ -d "$package" ]; then
  sources=$sources:$(find "$package" -maxdepth 1 -name '*.go' | sort | tr '\n' ':')
fi
hash=$( (IFS=:; cat $sources; echo "$mode $package $*") | sha256sum | cut -c1-16)
cache=${TALOS_PROXMOX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/talos-proxmox}
binary=$cache/$name-$hash
if [ ! -x "$binary" ]; then
  mkdir -p "$cache"
  case $mode in
    build) go build -trimpath "$@" -o "$binary.tmp" "$package" >&2 ;;
    test) go test -c -trimpath -o "$binary.tmp" "$package" >&2 ;;
    *) echo "go-tool.sh: mode must be build or test, not $mode" >&2; exit 2 ;;
  esac
  mv "$binary.tmp" "$binary"
fi
echo "$binary"
