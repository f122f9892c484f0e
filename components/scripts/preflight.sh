# Runs when the cluster is created: nodes install the target version directly, so there is nothing to
# roll; only make sure the tools that later upgrades and removals need are here.
require_talosctl
require_kubectl
log "talosctl and kubectl found; nodes install Talos $TARGET_VERSION and Kubernetes $KUBERNETES_VERSION directly"
