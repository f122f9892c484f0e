# Reboots, one node at a time (workers in batches of MAX_PARALLEL_WORKERS) in ORDER, the nodes whose
# config waits for a reboot (reboot_reason, roll.sh): on Talos v1.13 a staged config (the applies run in
# staged_if_needing_reboot mode, so a change Talos cannot apply live waits on disk instead of rebooting
# every node at once); on v1.14 a reboot digest that moved since the node last booted. Nodes that need
# nothing are skipped, so a second run resumes and a converged cluster is left alone.
log "rebooting the nodes whose config waits for a reboot, $ORDER"
# First, every Node without a recorded digest gets the one it runs now, before anything can stop the
# roll: a node that joined has booted into its config, and without a record the next update could not
# tell what it booted into. (A stack last updated by an older talos-proxmox may not move to another
# Talos minor in the same update: last-update.ts.)
kubernetes_ready "$HEALTH_TIMEOUT" ||
  fail "Kubernetes is not ready before the roll (nodes Ready, CoreDNS${CNI:+ and $CNI} rolled out); nothing was touched. Fix it, then run pulumi up again."
for name in ${NODES:-}; do
  [ -n "$(booted_digest "$name")" ] || record_digest "$name" "$(wanted_digest "$name")"
done
roll_cluster reboot_node
log "every node runs its latest config"
