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
  talos_get -e "$(answering_control_plane "$1")" -n "$1" get machineconfig -o json | talos_config_state
}

# The Talos minor node $1 runs (its Version resource, as running_version in rollout.sh reads it).
node_minor() {
  talos_get -e "$(answering_control_plane "$1")" -n "$1" get version -o json | talos_spec_values version |
    grep -o '^v[0-9][0-9]*\.[0-9][0-9]*' | head -n 1
}

# The config roll's reboot digests (REBOOT_DIGESTS, "name=digest ..."; unset in the other rolls): the
# digest of what of node $1's config only a boot puts in effect on Talos v1.14 (reboot-sections.ts), and
# the one of the config it last booted into, which the roll keeps on its Node as an annotation.
wanted_digest() {
  local pair
  for pair in ${REBOOT_DIGESTS:-}; do
    [ "${pair%%=*}" != "$1" ] || { echo "${pair#*=}"; return 0; }
  done
}
BOOT_DIGEST=talos-proxmox/boot-config-digest
booted_digest() {
  kubectl get node "$1" -o jsonpath="{.metadata.annotations.$BOOT_DIGEST}"
}
record_digest() {
  [ -n "$2" ] || return 0
  [ "$(booted_digest "$1")" != "$2" ] || return 0
  kubectl annotate node "$1" --overwrite "$BOOT_DIGEST=$2" >/dev/null ||
    fail "$1: cannot record the config it runs (kubectl annotate node $1); the roll stops here. Run pulumi up again."
}

# Why node $1 at $2 needs a reboot into its config, or nothing: it holds a staged config (Talos v1.13
# stages what it cannot apply live; talosctl reboot boots it), or it runs a minor of LIVE_MINORS (v1.14:
# every change applies live) and its config changed where only a boot puts it in effect since it last
# booted (no annotation yet: it booted into its config when it installed, or a talos-proxmox older than
# the annotation rolled it; the roll records the config it runs).
reboot_reason() {
  local name=$1 ip=$2 state want have minor
  state=$(config_state "$ip") || fail "$name ($ip): cannot read its machine config; the roll stops here."
  if [ "$state" = "staged" ]; then
    echo "a staged config waits for a reboot"
    return 0
  fi
  want=$(wanted_digest "$name")
  [ -n "$want" ] || return 0
  minor=$(node_minor "$ip") || fail "$name ($ip): cannot read its Talos version; the roll stops here."
  case " ${LIVE_MINORS:-} " in
    *" $minor "*) ;;
    *) return 0 ;;
  esac
  have=$(booted_digest "$name") || fail "$name: cannot read its Node; the roll stops here."
  if [ -n "$have" ] && [ "$have" != "$want" ]; then
    echo "Talos $minor applied its new config live, and only a reboot puts in effect what changed (etcd, environment, kernel modules, files, disk encryption)"
  fi
}

# A step of roll_cluster: reboots a node that needs it (reboot_reason). The reboot cordons and drains the
# node first and uncordons it once it is back (talosctl v1.13.9 reboot --drain,
# cmd/talosctl/cmd/talos/reboot.go; Talos's own reboot sequence does not drain), then a health gate.
reboot_node() {
  local name=$1 ip=$2 why
  why=$(reboot_reason "$name" "$ip")
  if [ -z "$why" ]; then
    log "$name ($ip): runs its latest config, skipped"
    record_digest "$name" "$(wanted_digest "$name")"
    return 0
  fi
  before_control_plane "$name" "$ip" "the reboot"
  log "$name ($ip): $why: cordon, drain, reboot, uncordon"
  # The drain is bounded by the roll's timeout, not talosctl's own 5 minutes (--drain-timeout,
  # cmd/talosctl/pkg/talos/nodedrain/nodedrain.go DefaultDrainTimeout): a PodDisruptionBudget that
  # allows no eviction holds it until then.
  quiet talosctl -e "$(answering_control_plane "$ip")" -n "$ip" reboot --drain --drain-timeout "$REBOOT_TIMEOUT" --wait --timeout "$REBOOT_TIMEOUT" ||
    fail "$name ($ip): the reboot failed; the roll stops here.$(budgets_hint)$(left_cordoned "$name" "its new config still waiting for its next boot") Inspect it (talosctl -n $ip dmesg), then run pulumi up again to resume."
  [ "$(config_state "$ip")" = "applied" ] ||
    fail "$name ($ip) came back still holding a staged config; the roll stops here."
  record_digest "$name" "$(wanted_digest "$name")"
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
