# Shared by the rolling commands (rollout, config-roll): the cluster's nodes as Kubernetes lists them,
# the health gate after each node, and the walk through them in ORDER, control planes strictly one at
# a time, workers in batches of MAX_PARALLEL_WORKERS. A step stops at the first failure; nodes that
# need nothing are skipped, so running the command again resumes where it stopped.
#   roll_cluster <per-node function>: calls it as `<function> <name> <ip>` for every node; the function
#   touches "$work/changed" when it changed the node, which is what triggers a health gate.
require_talosctl
require_kubectl
ep=$(answering_control_plane "")
use_kubeconfig "$ep"
read_nodes

# Before a control plane goes down (see check_etcd_before); workers need no etcd check.
before_control_plane() {
  case ",$cp_ips," in
    *",$2,"*) check_etcd_before "$1" "$2" "$3" ;;
  esac
}

# After a step on node $1 failed: whether it was left cordoned, what it holds ($2), and how to go on.
# talosctl upgrade and reboot --drain register their uncordon only after the drain succeeded, so a failed
# drain leaves the node cordoned (v1.13.9 cmd/talosctl/cmd/talos/upgrade.go upgradeViaLifecycleService,
# reboot.go).
left_cordoned() {
  [ "$(kubectl get node "$1" -o jsonpath='{.spec.unschedulable}' 2>/dev/null || true)" = "true" ] || return 0
  printf ' %s is left cordoned, %s. pulumi up resumes with it (drained, then rebooted); kubectl uncordon %s lets it take pods until then.' "$1" "$2" "$1"
}

# "staged" or "applied" (talos_config_state, common.sh) for the node at $1.
config_state() {
  talosctl -e "$(answering_control_plane "$1")" -n "$1" get machineconfig -o json | talos_config_state
}

# A step of roll_cluster: reboots a node that holds a staged config. The reboot cordons and drains the
# node first and uncordons it once it is back (talosctl v1.13.9 reboot --drain,
# cmd/talosctl/cmd/talos/reboot.go; Talos's own reboot sequence does not drain), then a health gate.
reboot_node() {
  local name=$1 ip=$2 state
  state=$(config_state "$ip") || fail "$name ($ip): cannot read its machine config; the roll stops here."
  if [ "$state" != "staged" ]; then
    log "$name ($ip): runs its latest config, skipped"
    return 0
  fi
  before_control_plane "$name" "$ip" "the reboot"
  log "$name ($ip): a staged config waits for a reboot: cordon, drain, reboot, uncordon"
  # The drain is bounded by the roll's timeout, not talosctl's own 5 minutes (--drain-timeout,
  # cmd/talosctl/pkg/talos/nodedrain/nodedrain.go DefaultDrainTimeout): a PodDisruptionBudget that
  # allows no eviction holds it until then.
  quiet talosctl -e "$(answering_control_plane "$ip")" -n "$ip" reboot --drain --drain-timeout "$REBOOT_TIMEOUT" --wait --timeout "$REBOOT_TIMEOUT" ||
    fail "$name ($ip): the reboot failed; the roll stops here.$(budgets_hint)$(left_cordoned "$name" "its staged config still waiting for its next boot") Inspect it (talosctl -n $ip dmesg), then run pulumi up again to resume."
  [ "$(config_state "$ip")" = "applied" ] ||
    fail "$name ($ip) came back still holding a staged config; the roll stops here."
  log "$name ($ip): runs its new config"
  touch "$work/changed"
}

health_gate() {
  local after=$1
  log "health gate after $after: Talos, etcd, every Kubernetes node Ready, CoreDNS and the CNI rolled out"
  talos_health "" ||
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
