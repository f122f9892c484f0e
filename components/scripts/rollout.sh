# Rolls the cluster to TARGET_IMAGE (Talos TARGET_VERSION, schematic TARGET_SCHEMATIC), one node at a
# time (workers in batches of MAX_PARALLEL_WORKERS) in ORDER, with a health gate after each node, then
# Kubernetes to KUBERNETES_VERSION with talosctl upgrade-k8s. Nodes already on the target are skipped,
# so running it again after a failure resumes where it stopped.
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

health_gate() {
  local after=$1
  log "health gate after $after: Talos, etcd, every Kubernetes node Ready, CoreDNS and the CNI rolled out"
  set -- --control-plane-nodes "$cp_ips" --wait-timeout "$HEALTH_TIMEOUT"
  [ -z "$worker_ips" ] || set -- "$@" --worker-nodes "$worker_ips"
  talosctl -e "$first_cp" -n "$first_cp" health "$@" ||
    fail "the cluster is not healthy after $after: the roll stops here. Fix it, then run pulumi up again to resume."
  kubernetes_ready "$HEALTH_TIMEOUT" ||
    fail "Kubernetes is not ready after $after (nodes Ready, CoreDNS${CNI:+ and $CNI} rolled out): the roll stops here. Fix it, then run pulumi up again to resume."
}

# Upgrades one node unless it is on the target; leaves a mark in $work/upgraded when it did.
upgrade_node() {
  local name=$1 ip=$2
  if on_target "$ip"; then
    log "$name ($ip): on $TARGET_VERSION with the target schematic, skipped"
    return 0
  fi
  log "$name ($ip): upgrading to $TARGET_IMAGE (cordon, drain, install, reboot)"
  talosctl -e "$(endpoint_for "$ip")" -n "$ip" upgrade --image "$TARGET_IMAGE" --wait --timeout "$UPGRADE_TIMEOUT" ||
    fail "$name ($ip): the upgrade failed; the roll stops here. Inspect it (talosctl -n $ip dmesg), then run pulumi up again to resume."
  on_target "$ip" ||
    fail "$name ($ip) came back on $(running_version "$ip"), not $TARGET_VERSION with the target schematic; the roll stops here."
  log "$name ($ip): on $TARGET_VERSION"
  touch "$work/upgraded"
}

roll_control_planes() {
  local name ip
  while read -r name ip; do
    [ -n "$name" ] || continue
    rm -f "$work/upgraded"
    upgrade_node "$name" "$ip" </dev/null
    [ ! -e "$work/upgraded" ] || health_gate "$name"
  done <<<"$control_planes"
}

roll_workers() {
  local batch="" count=0 name ip
  while read -r name ip; do
    [ -n "$name" ] || continue
    batch="$batch$name $ip"$'\n'
    count=$((count + 1))
    if [ "$count" -eq "$MAX_PARALLEL_WORKERS" ]; then
      roll_batch "$batch"
      batch=""
      count=0
    fi
  done <<<"$workers"
  [ -z "$batch" ] || roll_batch "$batch"
}

roll_batch() {
  local pids="" pid failed="" name ip
  rm -f "$work/upgraded"
  while read -r name ip; do
    [ -n "$name" ] || continue
    upgrade_node "$name" "$ip" </dev/null &
    pids="$pids $!"
  done <<<"$1"
  for pid in $pids; do
    wait "$pid" || failed=1
  done
  [ -z "$failed" ] || fail "a worker of this batch failed; the roll stops here. Run pulumi up again to resume."
  [ ! -e "$work/upgraded" ] || health_gate "$(printf '%s' "$1" | awk '{print $1}' | paste -sd, -)"
}

roll_kubernetes() {
  local server kubelets
  server=$(kubectl get --raw /version | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p')
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
case "$ORDER" in
  workers-first)
    roll_workers
    roll_control_planes
    ;;
  control-plane-first)
    roll_control_planes
    roll_workers
    ;;
  *) fail "unknown upgrade order $ORDER" ;;
esac
roll_kubernetes
log "the cluster runs Talos $TARGET_VERSION and Kubernetes $KUBERNETES_VERSION"
