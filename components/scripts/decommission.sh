# Takes NODE_NAME (NODE_IP, ROLE) out of the cluster before its VM is deleted: a drain that must succeed,
# a graceful reset (for a control plane, leaving etcd), then its Kubernetes Node object. One removal at a
# time, so etcd members never leave together. With TEARDOWN=true (the whole cluster goes) it does nothing.
if [ "$TEARDOWN" = "true" ]; then
  log "$NODE_NAME ($NODE_IP): teardown, no drain and no etcd leave; the VM goes with the cluster"
  exit 0
fi
require_talosctl
require_kubectl

# A lock directory: portable (macOS has no flock), held by this shell until it exits.
lock="${TMPDIR:-/tmp}/talos-proxmox-$CLUSTER.lock"
until mkdir "$lock" 2>/dev/null; do
  holder=$(cat "$lock/pid" 2>/dev/null || true)
  if [ -n "$holder" ] && ! kill -0 "$holder" 2>/dev/null; then
    rm -rf "$lock"
    continue
  fi
  log "$NODE_NAME: waiting for another node's removal to finish"
  sleep 5
done
echo $$ >"$lock/pid"
trap 'rm -rf "$work" "$lock"' EXIT

# The control-plane endpoints come from this command's last state: some may be gone by now (removed in
# this same update, say). Queries go to one that answers; the reset may use any of them.
ep=$(live_control_plane "$NODE_IP")
if [ -z "$ep" ]; then
  [ "$ROLE" = "controlplane" ] ||
    fail "$NODE_NAME ($NODE_IP): no control plane of $CONTROL_PLANE_ENDPOINTS answers, so the node cannot be drained. Bring one back, or set cluster.teardown: true if the whole cluster goes, then run again."
  ep=$NODE_IP # the last control plane: it answers for itself
fi
use_kubeconfig "$ep"
if [ "$ROLE" = "controlplane" ]; then
  # talosctl etcd members has no structured output: it prints a table, a header line and then a row per
  # member (v1.13.9 cmd/talosctl/cmd/talos/etcd.go). Count the rows.
  members=$(talosctl -e "$ep" -n "$ep" etcd members | awk 'NR > 1 && NF' | wc -l | tr -d ' ')
  if [ "$members" -le 1 ]; then
    log "$NODE_NAME ($NODE_IP): the last etcd member; nothing to leave"
    exit 0
  fi
  read_nodes
  HEALTH_TIMEOUT=$RESET_TIMEOUT
  check_etcd_before "$NODE_NAME" "$NODE_IP" "its removal"
  log "$NODE_NAME ($NODE_IP): leaving etcd ($members members) and draining"
else
  log "$NODE_NAME ($NODE_IP): draining"
fi
# Drain first, and stop if it fails: Talos's graceful reset only logs a drain error and goes on
# (v1.13.9 v1alpha1_sequencer.go, taskErrorHandler(logError, CordonAndDrainNode)). kubectl drain
# evicts through the Eviction API, so PodDisruptionBudgets hold, with the options talosctl's own drain
# uses (cmd/talosctl/pkg/talos/nodedrain/nodedrain.go: Force, IgnoreAllDaemonSets, DeleteEmptyDirData).
if kubectl get node "$NODE_NAME" >/dev/null 2>&1; then
  quiet kubectl drain "$NODE_NAME" --ignore-daemonsets --delete-emptydir-data --force --timeout "$RESET_TIMEOUT" ||
    fail "$NODE_NAME ($NODE_IP): the drain failed (above; a PodDisruptionBudget that allows no eviction holds it), so the node was not reset and its VM stays. It is cordoned. Let its pods go (or scale what the budget protects), or set cluster.teardown: true if the whole cluster goes, then run pulumi up again."
else
  log "$NODE_NAME: no Kubernetes node of that name (it never registered): nothing to drain"
fi
quiet talosctl -e "$(other_endpoints "$NODE_IP")" -n "$NODE_IP" reset --graceful=true --reboot=false --wait --timeout "$RESET_TIMEOUT" ||
  fail "$NODE_NAME ($NODE_IP): the graceful reset failed, so its VM stays. Inspect it (talosctl -n $NODE_IP dmesg), or set cluster.teardown: true if the whole cluster goes, then run again."
kubectl delete node "$NODE_NAME" --ignore-not-found
# talosctl reset --wait returns at the start of the reset's stopAllServices task (talos v1.13.9 and v1.14.1
# cmd/talosctl/pkg/talos/action/tracker.go StopAllServicesEventFn), which goes on to stop every service,
# apid among them (v1alpha1_sequencer_tasks.go StopAllServices). Until then the node still answers, and the
# removal that comes next in this update would take it for a live control plane (live_control_plane) and
# ask it for the cluster's health as it goes down. So the removal ends when the node stops answering.
limit=$((SECONDS + $(seconds_of "$RESET_TIMEOUT")))
while talosctl -e "$NODE_IP" -n "$NODE_IP" version --short >/dev/null 2>&1; do
  if [ "$SECONDS" -ge "$limit" ]; then
    log "$NODE_NAME ($NODE_IP): its Talos API still answers $RESET_TIMEOUT after the reset; deleting its VM stops it"
    break
  fi
  sleep 1
done
log "$NODE_NAME: out of the cluster"
