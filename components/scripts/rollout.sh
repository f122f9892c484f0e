# Rolls the cluster to TARGET_IMAGE (Talos TARGET_VERSION, schematic TARGET_SCHEMATIC), one node at a
# time (workers in batches of MAX_PARALLEL_WORKERS) in ORDER, with a health gate after each node, then
# Kubernetes to KUBERNETES_VERSION with talosctl upgrade-k8s. Nodes already on the target are skipped,
# so running it again after a failure resumes where it stopped.
# The Versions resource's spec is {name, version}, version the build tag such as v1.13.9
# (pkg/machinery/resources/runtime/version.go, controllers/runtime/version.go).
running_version() {
  talos_get -e "$(answering_control_plane "$1")" -n "$1" get version -o json | talos_spec_values version
}
# Image Factory records the schematic as an extension named "schematic" whose version is the schematic
# id; an ExtensionStatus spec is {image, metadata: {name, version, ...}} (pkg/machinery/extensions).
running_schematic() {
  talos_get -e "$(answering_control_plane "$1")" -n "$1" get extensions -o json |
    talos_spec_values metadata.version metadata.name schematic
}
on_target() {
  [ "$(running_version "$1")" = "$TARGET_VERSION" ] && [ "$(running_schematic "$1")" = "$TARGET_SCHEMATIC" ]
}

# Upgrades one node unless it is on the target (a step of roll_cluster, roll.sh).
upgrade_node() {
  local name=$1 ip=$2 minor
  if on_target "$ip"; then
    log "$name ($ip): on $TARGET_VERSION with the target schematic, skipped"
    return 0
  fi
  minor=$(node_minor "$ip") || fail "$name ($ip): cannot read its Talos version; the roll stops here."
  check_minor "$name" "$ip" "$minor" "nothing was done to this node"
  before_control_plane "$name" "$ip" "the upgrade"
  log "$name ($ip): upgrading to $TARGET_IMAGE (install, cordon, drain, reboot)"
  # The drain is bounded by the roll's timeout, not talosctl's own 5 minutes (see reboot_node, roll.sh).
  quiet talosctl -e "$(answering_control_plane "$ip")" -n "$ip" upgrade --image "$TARGET_IMAGE" --drain-timeout "$UPGRADE_TIMEOUT" --wait --timeout "$UPGRADE_TIMEOUT" ||
    fail "$name ($ip): the upgrade failed; the roll stops here.$(budgets_hint)$(left_cordoned "$name" "with $TARGET_IMAGE installed (talosctl installs before it drains), so its next boot, planned or not, runs $TARGET_VERSION") Inspect it (talosctl -n $ip dmesg), then run pulumi up again to resume."
  on_target "$ip" ||
    fail "$name ($ip) came back on $(running_version "$ip"), not $TARGET_VERSION with the target schematic; the roll stops here."
  log "$name ($ip): on $TARGET_VERSION"
  touch "$work/changed"
}

# The API server's version (its /version is JSON: k8s.io/apimachinery pkg/version/types.go,
# Info.GitVersion), e.g. v1.36.3.
server_version() {
  kubectl get --raw /version | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).gitVersion)'
}
minor_of() { printf '%s\n' "${1#v}" | cut -d. -f2; }

# Before any node is touched: a Kubernetes move talosctl upgrade-k8s cannot make would otherwise fail
# after the whole Talos roll. It moves within a minor or to the next one only (siderolabs/go-kubernetes
# v0.2.39 kubernetes/upgrade/path.go; talos v1.13.9 pkg/cluster/kubernetes/talos_managed.go: "unsupported
# upgrade path"), from the lowest version its control-plane pods run (detect.go), which the API
# server's version stands for here.
check_kubernetes_move() {
  local server from to
  server=$(server_version) || fail "cannot read the API server's version (kubectl get --raw /version); nothing was touched."
  from=$(minor_of "$server")
  to=$(minor_of "$KUBERNETES_VERSION")
  if [ "$to" -lt "$from" ]; then
    fail "Kubernetes cannot go from $server down to $KUBERNETES_VERSION: talosctl upgrade-k8s moves within a minor or to the next one, never to an older minor. Keep kubernetesVersion at 1.$from.x or newer; nothing was touched."
  fi
  if [ "$to" -gt $((from + 1)) ]; then
    fail "Kubernetes cannot go from $server to $KUBERNETES_VERSION in one step: talosctl upgrade-k8s moves one minor at a time. Set kubernetesVersion to the newest 1.$((from + 1)).x, run pulumi up, then go on minor by minor; nothing was touched."
  fi
}

# A node runs the target's minor or the one before it: the roll moves Talos one minor per update (the
# library's checks refuse more against the last update; this catches a stack whose record says
# otherwise), and never down a minor: the newer minor's etcd (3.7 on v1.14) has written data the older
# one's reads only after etcd's own downgrade, which no roll runs.
#   check_minor <name> <ip> <minor it runs> <what was done so far>
check_minor() {
  local target=${TALOS_MINOR#v1.}
  if [ "${3#v1.}" -gt "$target" ]; then
    fail "$1 ($2) runs Talos $3, a minor newer than $TARGET_VERSION: the roll never takes a node down a minor (a control plane's etcd data may no longer be readable by the older etcd, and the roll runs no etcd downgrade). Keep talosVersion at $3.x or newer; $4."
  fi
  if [ "${3#v1.}" -lt $((target - 1)) ]; then
    fail "$1 ($2) runs Talos $3: the roll moves Talos one minor per update. Set talosVersion to the newest v1.$((target - 1)).x, run pulumi up, then go on to $TARGET_VERSION; $4."
  fi
}

# Before any node is touched, check_minor on every node that answers; one that does not (a resume past
# a broken node) is checked when the roll reaches it, in upgrade_node.
check_talos_move() {
  local name ip minor
  while read -r name ip; do
    [ -n "$name" ] || continue
    if minor=$(node_minor "$ip" 2>/dev/null); then
      check_minor "$name" "$ip" "$minor" "nothing was touched"
    else
      log "$name ($ip): does not answer now; its Talos version is checked when the roll reaches it"
    fi
  done <<<"$control_planes
$workers"
}

roll_kubernetes() {
  local server kubelets via
  server=$(server_version)
  kubelets=$(kubectl get nodes -o jsonpath='{range .items[*]}{.status.nodeInfo.kubeletVersion}{"\n"}{end}' | sort -u)
  if [ "$server" = "v$KUBERNETES_VERSION" ] && [ "$kubelets" = "v$KUBERNETES_VERSION" ]; then
    log "Kubernetes: on $KUBERNETES_VERSION, skipped"
    return 0
  fi
  # upgrade-k8s re-applies each node's running config, patched, with mode NO_REBOOT, which overwrites a
  # config staged for the next boot (talos v1.13.9 pkg/cluster/kubernetes/patch.go patchNodeConfig reads
  # MachineConfig "v1alpha1"; v1alpha1_server.go NO_REBOOT persists it). So the nodes that still hold one
  # (a config roll that stopped) reboot into it first, drained, one at a time.
  log "Kubernetes: before upgrade-k8s, which would overwrite a staged config, rebooting the nodes that hold one"
  REBOOT_TIMEOUT=$UPGRADE_TIMEOUT
  roll_cluster reboot_node
  log "Kubernetes: upgrading from ${server:-unknown} to $KUBERNETES_VERSION (talosctl upgrade-k8s)"
  via=$(answering_control_plane "")
  quiet talosctl -e "$via" -n "$via" upgrade-k8s --to "$KUBERNETES_VERSION" ||
    fail "talosctl upgrade-k8s failed; fix the cause and run pulumi up again to resume."
}

log "rolling to Talos $TARGET_VERSION ($TARGET_IMAGE), Kubernetes $KUBERNETES_VERSION, $ORDER"
check_talos_move
check_kubernetes_move
roll_cluster upgrade_node
roll_kubernetes
log "the cluster runs Talos $TARGET_VERSION and Kubernetes $KUBERNETES_VERSION"
