#!/usr/bin/env bash
# Installed as `talosctl` in the simulated cluster's PATH: every subcommand runs the real talosctl
# ($TALOS_PROXMOX_SIM_TALOSCTL: v1.13.9, or v1.14.1 for a v1.14 cluster), except `upgrade-k8s`, which
# stays a stand-in. Real upgrade-k8s (cmd/talosctl/cmd/talos/
# upgrade-k8s.go, pkg/cluster/kubernetes/talos_managed.go) pulls each component's image, patches every
# control plane's machine config and watches Talos's static pod, kubelet and manifest resources until
# the control-plane pods, which run no containers here, report the new version: a cluster of pods that
# only a real node runs. So this records the call and, through talos-api's control API, re-applies
# every node's running config as upgrade-k8s does (which overwrites a staged one) and moves every
# kubelet to the version; the kube-apiserver stays v1.36.3, the version it was built at.
set -euo pipefail
for arg in "$@"; do
  if [ "$arg" = "upgrade-k8s" ]; then
    to=""
    while [ $# -gt 0 ]; do
      case $1 in
        --to) to=$2; shift ;;
        --to=*) to=${1#--to=} ;;
      esac
      shift
    done
    [ -n "$to" ] || { echo "upgrade-k8s (stand-in): --to is required" >&2; exit 1; }
    echo "upgrade-k8s --to $to" >>"$TALOS_PROXMOX_SIM_CALLS"
    exec node -e '
      fetch(`http://${process.env.TALOS_PROXMOX_SIM_CONTROL}/kubernetes`, {
        method: "POST",
        body: JSON.stringify({ version: "v" + process.argv[1] }),
      }).then(async (res) => {
        if (!res.ok) { console.error(await res.text()); process.exit(1); }
        console.error(`upgrade-k8s (stand-in): every kubelet on v${process.argv[1]}`);
      });
    ' "$to"
  fi
done
exec "$TALOS_PROXMOX_SIM_TALOSCTL" "$@"
