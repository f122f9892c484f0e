# The cluster ready for workloads, which Talos's health check does not confirm while its CNI is "none"
# (see kubernetes_ready): every Kubernetes node Ready, CoreDNS and, with Cilium, its agents rolled out.
# Runs when the cluster is created and again whenever its set of nodes (NODES) changes.
require_talosctl
require_kubectl
ep=$(answering_control_plane "")
use_kubeconfig "$ep"
log "waiting for Kubernetes: nodes $NODES Ready, CoreDNS${CNI:+ and $CNI} rolled out"
kubernetes_ready "$READY_TIMEOUT" ||
  fail "Kubernetes is not ready after $READY_TIMEOUT (kubectl get nodes; kubectl -n kube-system get pods). Fix it, then run pulumi up again."
log "Kubernetes ready"
