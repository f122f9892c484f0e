# Reboots, one node at a time (workers in batches of MAX_PARALLEL_WORKERS) in ORDER, the nodes that
# hold a staged machine config (reboot_node, roll.sh): the config applies run in
# staged_if_needing_reboot mode, so a change Talos cannot apply live waits on disk instead of rebooting
# every node at once. Nodes without a staged config are skipped, so a second run resumes and a
# converged cluster is left alone.
log "rebooting the nodes that hold a staged config, $ORDER"
roll_cluster reboot_node
log "every node runs its latest config"
