# Shared by the rolling commands (rollout, config-roll): the cluster's nodes as Kubernetes lists them,
# the health gate after each node, and the walk through them in ORDER, control planes strictly one at
# a time, workers in batches of MAX_PARALLEL_WORKERS. A step stops at the first failure; nodes that
# need nothing are skipped, so running the command again resumes where it stopped.
#   roll_cluster <per-node function>: calls it as `<function> <name> <ip>` for every node; the function
#   touches "$work/changed" when it changed the node, which is what triggers a health gate.
require_talosctl
require_kubectl
use_kubeconfig "$(endpoint_for "")"

nodes_of() { # "control-plane" | "worker" -> lines "name ip", sorted by name
  local selector=node-role.kubernetes.io/control-plane
  [ "$1" = "worker" ] && selector="!$selector"
  kubectl get nodes -l "$selector" \
    -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}' |
    sort
}
control_planes=$(nodes_of control-plane)
workers=$(nodes_of worker)
ips_of() { printf '%s\n' "$1" | awk 'NF {print $2}' | paste -sd, -; }
cp_ips=$(ips_of "$control_planes")
worker_ips=$(ips_of "$workers")
first_cp=$(printf '%s\n' "$control_planes" | awk 'NF {print $2; exit}')
[ -n "$first_cp" ] || fail "the cluster lists no control-plane node; is the API reachable?"

# Talos's own cluster checks (talosctl health, run by a control plane: etcd healthy on every member and
# its members the control planes, every node's API and boot, the Kubernetes nodes registered).
talos_health() {
  set -- --control-plane-nodes "$cp_ips" --wait-timeout "$HEALTH_TIMEOUT"
  [ -z "$worker_ips" ] || set -- "$@" --worker-nodes "$worker_ips"
  talosctl -e "$first_cp" -n "$first_cp" health "$@"
}

# Before a control plane goes down: Talos's checks, so that every etcd member is healthy and quorum
# survives losing this one. Nothing else checks it: talosctl upgrade of a 1.13 node goes through
# LifecycleService.Upgrade, which skips the old etcd check (ValidateForUpgrade,
# internal/app/machined/internal/server/v1alpha1/v1alpha1_server.go), a reboot has no etcd step
# (v1alpha1_sequencer.go), and the gate after a node runs only after a node that changed: the first
# control plane of a roll, or of a resume, would go down unchecked.
before_control_plane() {
  local name=$1 ip=$2
  case ",$cp_ips," in
    *",$ip,"*) ;;
    *) return 0 ;;
  esac
  log "$name ($ip): checking etcd and the cluster before this control plane goes down"
  talos_health ||
    fail "$name ($ip): the cluster is not healthy (talosctl health above), so taking this control plane down could lose etcd quorum; nothing was done to it. Fix it (talosctl -n $ip etcd status), then run pulumi up again to resume."
}

health_gate() {
  local after=$1
  log "health gate after $after: Talos, etcd, every Kubernetes node Ready, CoreDNS and the CNI rolled out"
  talos_health ||
    fail "the cluster is not healthy after $after: the roll stops here. Fix it, then run pulumi up again to resume."
  kubernetes_ready "$HEALTH_TIMEOUT" ||
    fail "Kubernetes is not ready after $after (nodes Ready, CoreDNS${CNI:+ and $CNI} rolled out): the roll stops here. Fix it, then run pulumi up again to resume."
}

roll_control_planes() {
  local step=$1 name ip
  while read -r name ip; do
    [ -n "$name" ] || continue
    rm -f "$work/changed"
    "$step" "$name" "$ip" </dev/null
    [ ! -e "$work/changed" ] || health_gate "$name"
  done <<<"$control_planes"
}

roll_workers() {
  local step=$1 batch="" count=0 name ip
  while read -r name ip; do
    [ -n "$name" ] || continue
    batch="$batch$name $ip"$'\n'
    count=$((count + 1))
    if [ "$count" -eq "$MAX_PARALLEL_WORKERS" ]; then
      roll_batch "$step" "$batch"
      batch=""
      count=0
    fi
  done <<<"$workers"
  [ -z "$batch" ] || roll_batch "$step" "$batch"
}

roll_batch() {
  local step=$1 pids="" pid failed="" name ip
  rm -f "$work/changed"
  while read -r name ip; do
    [ -n "$name" ] || continue
    "$step" "$name" "$ip" </dev/null &
    pids="$pids $!"
  done <<<"$2"
  for pid in $pids; do
    wait "$pid" || failed=1
  done
  [ -z "$failed" ] || fail "a worker of this batch failed; the roll stops here. Run pulumi up again to resume."
  [ ! -e "$work/changed" ] || health_gate "$(printf '%s' "$2" | awk '{print $1}' | paste -sd, -)"
}

roll_cluster() {
  # Never start taking nodes down in a cluster that is not whole: this also waits out nodes that were
  # just created and are still installing (a config apply returns before the node reboots into Talos).
  log "waiting for Kubernetes before the roll: every node Ready, CoreDNS${CNI:+ and $CNI} rolled out"
  kubernetes_ready "$HEALTH_TIMEOUT" ||
    fail "Kubernetes is not ready before the roll (nodes Ready, CoreDNS${CNI:+ and $CNI} rolled out); nothing was touched. Fix it, then run pulumi up again."
  case "$ORDER" in
    workers-first)
      roll_workers "$1"
      roll_control_planes "$1"
      ;;
    control-plane-first)
      roll_control_planes "$1"
      roll_workers "$1"
      ;;
    *) fail "unknown upgrade order $ORDER" ;;
  esac
}
