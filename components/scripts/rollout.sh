# Rolls the cluster to TARGET_IMAGE (Talos TARGET_VERSION, schematic TARGET_SCHEMATIC), one node at a
# time (workers in batches of MAX_PARALLEL_WORKERS) in ORDER, with a health gate after each node, then
# Kubernetes to KUBERNETES_VERSION with talosctl upgrade-k8s. Nodes already on the target are skipped,
# so running it again after a failure resumes where it stopped.
# The Versions resource's spec is {name, version}, version the build tag such as v1.13.9
# (pkg/machinery/resources/runtime/version.go, controllers/runtime/version.go).
running_version() {
  talosctl -e "$(endpoint_for "$1")" -n "$1" get version -o json | talos_spec_values version
}
# Image Factory records the schematic as an extension named "schematic" whose version is the schematic
# id; an ExtensionStatus spec is {image, metadata: {name, version, ...}} (pkg/machinery/extensions).
running_schematic() {
  talosctl -e "$(endpoint_for "$1")" -n "$1" get extensions -o json |
    talos_spec_values metadata.version metadata.name schematic
}
on_target() {
  [ "$(running_version "$1")" = "$TARGET_VERSION" ] && [ "$(running_schematic "$1")" = "$TARGET_SCHEMATIC" ]
}

# Upgrades one node unless it is on the target (a step of roll_cluster, roll.sh).
upgrade_node() {
  local name=$1 ip=$2
  if on_target "$ip"; then
    log "$name ($ip): on $TARGET_VERSION with the target schematic, skipped"
    return 0
  fi
  before_control_plane "$name" "$ip"
  log "$name ($ip): upgrading to $TARGET_IMAGE (install, cordon, drain, reboot)"
  # The drain is bounded by the roll's timeout, not talosctl's own 5 minutes (see config-roll.sh).
  talosctl -e "$(endpoint_for "$ip")" -n "$ip" upgrade --image "$TARGET_IMAGE" --drain-timeout "$UPGRADE_TIMEOUT" --wait --timeout "$UPGRADE_TIMEOUT" ||
    fail "$name ($ip): the upgrade failed; the roll stops here.$(budgets_hint) Inspect it (talosctl -n $ip dmesg), then run pulumi up again to resume."
  on_target "$ip" ||
    fail "$name ($ip) came back on $(running_version "$ip"), not $TARGET_VERSION with the target schematic; the roll stops here."
  log "$name ($ip): on $TARGET_VERSION"
  touch "$work/changed"
}

roll_kubernetes() {
  local server kubelets
  # The API server's /version is JSON (k8s.io/apimachinery pkg/version/types.go, Info.GitVersion).
  server=$(kubectl get --raw /version | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).gitVersion)')
  kubelets=$(kubectl get nodes -o jsonpath='{range .items[*]}{.status.nodeInfo.kubeletVersion}{"\n"}{end}' | sort -u)
  if [ "$server" = "v$KUBERNETES_VERSION" ] && [ "$kubelets" = "v$KUBERNETES_VERSION" ]; then
    log "Kubernetes: on $KUBERNETES_VERSION, skipped"
    return 0
  fi
  log "Kubernetes: upgrading from ${server:-unknown} to $KUBERNETES_VERSION (talosctl upgrade-k8s)"
  talosctl -e "$first_cp" -n "$first_cp" upgrade-k8s --to "$KUBERNETES_VERSION" ||
    fail "talosctl upgrade-k8s failed; fix the cause and run pulumi up again to resume."
}

log "rolling to Talos $TARGET_VERSION ($TARGET_IMAGE), Kubernetes $KUBERNETES_VERSION, $ORDER"
roll_cluster upgrade_node
roll_kubernetes
log "the cluster runs Talos $TARGET_VERSION and Kubernetes $KUBERNETES_VERSION"
