# Shared by the talos-proxmox lifecycle commands. Parameters come from the environment; the
# talosconfig comes on stdin and goes to a private temporary file, never to a command line or the log.
# Portable to macOS's bash 3.2: no mapfile, no associative arrays, no flock.
set -euo pipefail

log() { printf 'talos-proxmox: %s\n' "$*"; }
fail() {
  printf 'talos-proxmox: error: %s\n' "$*" >&2
  exit 1
}

umask 077
work=$(mktemp -d "${TMPDIR:-/tmp}/talos-proxmox.XXXXXX")
trap 'rm -rf "$work"' EXIT
cat >"$work/talosconfig"
export TALOSCONFIG="$work/talosconfig"

# talosctl must be there and of the target's minor: an older client can miss API the upgrade needs.
require_talosctl() {
  command -v talosctl >/dev/null 2>&1 ||
    fail "talosctl is not on the PATH of the machine running Pulumi. Install talosctl $TALOS_MINOR.x (https://www.talos.dev/install) and run pulumi up again."
  local client
  client=$(talosctl version --client --short 2>/dev/null | grep -o 'v[0-9][0-9]*\.[0-9][0-9]*' | head -n 1 || true)
  [ "$client" = "$TALOS_MINOR" ] ||
    fail "talosctl is ${client:-of unknown version}, but the cluster runs Talos $TALOS_MINOR. Install talosctl $TALOS_MINOR.x and run pulumi up again."
}

require_kubectl() {
  command -v kubectl >/dev/null 2>&1 ||
    fail "kubectl is not on the PATH of the machine running Pulumi. Install it (https://kubernetes.io/docs/tasks/tools/) and run pulumi up again."
}

# A control-plane endpoint other than the node itself (whose API goes away while it reboots or resets).
endpoint_for() {
  local ep
  for ep in $CONTROL_PLANE_ENDPOINTS; do
    if [ "$ep" != "$1" ]; then
      echo "$ep"
      return
    fi
  done
  echo "$1"
}

# The cluster's admin kubeconfig, fetched through Talos from control plane $1 into the private directory.
use_kubeconfig() {
  talosctl -e "$1" -n "$1" kubeconfig --force --merge=false "$work/kubeconfig" >/dev/null
  export KUBECONFIG="$work/kubeconfig"
}
