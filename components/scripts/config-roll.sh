# Reboots, one node at a time (workers in batches of MAX_PARALLEL_WORKERS) in ORDER, the nodes that
# hold a staged machine config: the config applies run in staged_if_needing_reboot mode, so a change
# Talos cannot apply live waits on disk instead of rebooting every node at once. Each reboot cordons and
# drains the node first and uncordons it once it is back (talosctl v1.13.9 reboot --drain,
# cmd/talosctl/cmd/talos/reboot.go; Talos's own reboot sequence does not drain), then a health gate.
# Nodes without a staged config are skipped, so a second run resumes and a converged cluster is left
# alone.
config_state() {
  talosctl -e "$(endpoint_for "$1")" -n "$1" get machineconfig -o json | talos_config_state
}

reboot_node() {
  local name=$1 ip=$2 state
  state=$(config_state "$ip") || fail "$name ($ip): cannot read its machine config; the roll stops here."
  if [ "$state" != "staged" ]; then
    log "$name ($ip): runs its latest config, skipped"
    return 0
  fi
  before_control_plane "$name" "$ip"
  log "$name ($ip): a staged config waits for a reboot: cordon, drain, reboot, uncordon"
  # The drain is bounded by the roll's timeout, not talosctl's own 5 minutes (--drain-timeout,
  # cmd/talosctl/pkg/talos/nodedrain/nodedrain.go DefaultDrainTimeout): a PodDisruptionBudget that
  # allows no eviction holds it until then.
  talosctl -e "$(endpoint_for "$ip")" -n "$ip" reboot --drain --drain-timeout "$REBOOT_TIMEOUT" --wait --timeout "$REBOOT_TIMEOUT" ||
    fail "$name ($ip): the reboot failed; the roll stops here.$(budgets_hint) Inspect it (talosctl -n $ip dmesg), then run pulumi up again to resume."
  [ "$(config_state "$ip")" = "applied" ] ||
    fail "$name ($ip) came back still holding a staged config; the roll stops here."
  log "$name ($ip): runs its new config"
  touch "$work/changed"
}

log "rebooting the nodes that hold a staged config, $ORDER"
roll_cluster reboot_node
log "every node runs its latest config"
