# Shared by the talos-proxmox lifecycle commands. Parameters come from the environment; the
# talosconfig comes on stdin and goes to a private temporary file, never to a command line or the log.
# Portable to macOS's bash 3.2: no mapfile, no associative arrays, no flock.
set -euo pipefail

log() { printf 'talos-proxmox: %s\n' "$*"; }
fail() {
  printf 'talos-proxmox: error: %s\n' "$*" >&2
  exit 1
}

umask 077
work=$(mktemp -d "${TMPDIR:-/tmp}/talos-proxmox.XXXXXX")
trap 'rm -rf "$work"' EXIT
cat >"$work/talosconfig"
export TALOSCONFIG="$work/talosconfig"

# talosctl must be there and of the target's minor: an older client can miss API the upgrade needs.
require_talosctl() {
  command -v talosctl >/dev/null 2>&1 ||
    fail "talosctl is not on the PATH of the machine running Pulumi. Install talosctl $TALOS_MINOR.x (https://www.talos.dev/install) and run pulumi up again."
  local client
  client=$(talosctl version --client --short 2>/dev/null | grep -o 'v[0-9][0-9]*\.[0-9][0-9]*' | head -n 1 || true)
  [ "$client" = "$TALOS_MINOR" ] ||
    fail "talosctl is ${client:-of unknown version}, but the cluster runs (or rolls to) Talos $TALOS_MINOR. Install talosctl $TALOS_MINOR.x and run pulumi up again."
}

# Runs a command that reports its progress a line per step (talosctl v1.13.9 pkg/reporter/reporter.go
# prints every new line when stderr is not a terminal; kubectl drain a line per pod) into a private
# file, and prints its last 20 lines only when it fails. What a command prints ends up in Pulumi's state
# (pulumi-command v1.2.1's stdout and stderr outputs, local/commandOutputs.go), which must not grow with
# every step of every node; this script's own log says what happens, a few lines per node.
quiet() {
  local out status=0
  out=$(mktemp "$work/output.XXXXXX")
  "$@" >"$out" 2>&1 || status=$?
  [ "$status" -eq 0 ] || tail -n 20 "$out" >&2
  rm -f "$out"
  return "$status"
}

# `talosctl get`, its stderr shown only when it fails: talosctl warns on stderr, once per call, about a
# node older than itself (v1.13.9 and v1.14.1 cmd/talosctl/pkg/talos/helpers/checks.go ClientVersionCheck),
# which during a roll to a new minor is every node at every step, and would land in Pulumi's state (see
# quiet).
talos_get() {
  local err status=0
  err=$(mktemp "$work/get.XXXXXX")
  talosctl "$@" 2>"$err" || status=$?
  [ "$status" -eq 0 ] || cat "$err" >&2
  rm -f "$err"
  return "$status"
}

require_kubectl() {
  command -v kubectl >/dev/null 2>&1 ||
    fail "kubectl is not on the PATH of the machine running Pulumi. Install it (https://kubernetes.io/docs/tasks/tools/) and run pulumi up again."
}

# talosctl v1.13.9 prints `get <type> -o json` as one indented JSON object per resource, back to back,
# each {"metadata": ..., "node": ..., "spec": ...} (cmd/talosctl/cmd/talos/output/json.go). This
# JavaScript (run by node, which Pulumi needs anyway) cuts the stream at each top-level object and
# parses each with JSON.parse: `resources(text)` is the list of them.
TALOS_JSON_STREAM='
  const resources = (text) => {
    const list = [];
    let depth = 0, start = 0, inString = false, escaped = false;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (c === "\\") escaped = true;
        else if (c === "\"") inString = false;
      } else if (c === "\"") inString = true;
      else if (c === "{" && depth++ === 0) start = i;
      else if (c === "}" && --depth === 0) list.push(JSON.parse(text.slice(start, i + 1)));
    }
    if (depth !== 0 || inString) throw new Error("talosctl printed incomplete JSON");
    return list;
  };
  const stdin = require("fs").readFileSync(0, "utf8");
'

#   talos_spec_values <spec path> [<spec path> <value>]: the value at the first path of each resource,
#   of the resources whose value at the second path is <value>; one per line.
talos_spec_values() {
  node -e "$TALOS_JSON_STREAM"'
    const [path, wherePath, whereValue] = process.argv.slice(1);
    const at = (obj, dotted) => dotted.split(".").reduce((v, k) => (v == null ? undefined : v[k]), obj.spec);
    for (const resource of resources(stdin)) {
      if (wherePath === undefined || at(resource, wherePath) === whereValue) {
        const value = at(resource, path);
        if (value !== undefined) console.log(value);
      }
    }
  ' "$@"
}

# "staged" when the node holds a machine config that waits for a reboot, else "applied"; from
# `talosctl get machineconfig -o json`. Talos keeps the running config as MachineConfig "v1alpha1" and
# the one on disk as "persistent", which a staged apply moves ahead of it (v1.13.9
# pkg/machinery/resources/config/machine_config.go; ApplyConfiguration STAGED calls only
# SetPersistedConfig, internal/app/machined/internal/server/v1alpha1/v1alpha1_server.go). After a boot
# from disk there is no "persistent" resource (controllers/config/acquire.go). The spec of both is
# the config as a YAML string; it never leaves this process.
talos_config_state() {
  node -e "$TALOS_JSON_STREAM"'
    const byId = Object.fromEntries(resources(stdin).map((r) => [r.metadata.id, r.spec]));
    if (typeof byId.v1alpha1 !== "string") throw new Error("talosctl listed no running machine config (v1alpha1)");
    const persistent = byId.persistent;
    console.log(persistent === undefined || persistent === byId.v1alpha1 ? "applied" : "staged");
  '
}

# Every control-plane endpoint but the node itself, comma-separated for talosctl -e, which fails over
# between them: a list replayed from state may name control planes that are already gone.
other_endpoints() {
  local ep list=""
  for ep in $CONTROL_PLANE_ENDPOINTS; do
    [ "$ep" = "$1" ] || list="${list:+$list,}$ep"
  done
  echo "${list:-$1}"
}

# The seconds in a duration as talosctl takes it, of hours, minutes and seconds ("20m", "1m30s").
seconds_of() {
  local rest=$1 total=0
  [ -n "$rest" ] || fail "an empty duration"
  while [ -n "$rest" ]; do
    [[ $rest =~ ^([0-9]+)([hms])(.*)$ ]] || fail "the duration $1 is not of hours, minutes and seconds (20m, 1m30s)"
    case ${BASH_REMATCH[2]} in
      h) total=$((total + 10#${BASH_REMATCH[1]} * 3600)) ;;
      m) total=$((total + 10#${BASH_REMATCH[1]} * 60)) ;;
      s) total=$((total + 10#${BASH_REMATCH[1]})) ;;
    esac
    rest=${BASH_REMATCH[3]}
  done
  echo "$total"
}

# The first control plane other than the node that answers (talosctl version), or nothing.
live_control_plane() {
  local ep
  for ep in $CONTROL_PLANE_ENDPOINTS; do
    if [ "$ep" != "$1" ] && talosctl -e "$ep" -n "$ep" version --short >/dev/null 2>&1; then
      echo "$ep"
      return
    fi
  done
}

# What Talos's own health checks skip while the cluster's CNI is "none", as it is until Cilium runs
# (v1.13.9 pkg/cluster/check/default.go: "all k8s nodes to report ready" and "coredns to report ready"
# return early when cniDisabledStatus): every Kubernetes node Ready, CoreDNS rolled out (Talos's
# coredns Deployment, controllers/k8s/internal/k8stemplates/coredns.go) and, with CNI=cilium, the
# Cilium agents rolled out (the chart's cilium DaemonSet). kubectl's exit statuses decide; nothing is
# parsed from its output.
# `kubectl wait --all` waits only for the Node objects that exist when it starts (kubectl v1.36
# pkg/cmd/wait/wait.go resolves the objects once), and a node still installing has none yet: so the
# nodes NODES names are first waited for to be created (--for=create, kubectl 1.31 and later), one
# kubectl wait each, within the one timeout: given several objects of which more than one is missing,
# `kubectl wait --for=create` fails at once instead of waiting (kubectl v1.36.3 wait.go RunWaitContext
# polls while the lookup's error IsNotFound, and the lookup of several missing objects fails with an
# aggregate of errors, which IsNotFound does not see through; the end-to-end lane's first pulumi up
# found it).
kubernetes_ready() {
  local node left deadline
  deadline=$((SECONDS + $(seconds_of "$1")))
  for node in ${NODES:-}; do
    left=$((deadline - SECONDS))
    [ "$left" -gt 0 ] || return 1
    kubectl wait --for=create "node/$node" --timeout "${left}s" >/dev/null || return 1
  done
  kubectl wait --for=condition=Ready nodes --all --timeout "$1" >/dev/null || return 1
  if [ "$CNI" = "cilium" ]; then
    kubectl -n kube-system rollout status daemonset/cilium --timeout "$1" >/dev/null || return 1
  fi
  kubectl -n kube-system rollout status deployment/coredns --timeout "$1" >/dev/null
}

# After a drain failed: the PodDisruptionBudgets that allow no eviction now, which hold a drain until its
# timeout (talosctl's drain and kubectl drain retry a refused eviction, k8s.io/kubectl pkg/drain; the
# error they end with names the pod, not the budget). Empty when there are none or the API cannot say.
budgets_hint() {
  local budgets
  budgets=$(kubectl get poddisruptionbudgets --all-namespaces \
    -o jsonpath='{range .items[?(@.status.disruptionsAllowed==0)]}{.metadata.namespace}/{.metadata.name}{" "}{end}' 2>/dev/null || true)
  [ -z "$budgets" ] || printf ' PodDisruptionBudgets that allow no eviction now: %s(a drain waits on them).' "$budgets"
}

# The cluster's admin kubeconfig, fetched through Talos from control plane $1 into the private directory.
use_kubeconfig() {
  talosctl -e "$1" -n "$1" kubeconfig --force --merge=false "$work/kubeconfig" >/dev/null
  export KUBECONFIG="$work/kubeconfig"
}

# A control plane other than $1 that answers, else $1 itself if given, else stop: never a fixed one,
# which may be the broken node a resume must get past.
answering_control_plane() {
  local ep
  ep=$(live_control_plane "$1")
  [ -n "$ep" ] || ep=$1
  [ -n "$ep" ] || fail "no control plane of $CONTROL_PLANE_ENDPOINTS answers; is the cluster up?"
  echo "$ep"
}

# The cluster's nodes as Kubernetes lists them: control_planes and workers ("name ip" lines, sorted by
# name), cp_ips and worker_ips (comma-separated).
read_nodes() {
  control_planes=$(nodes_of control-plane)
  workers=$(nodes_of worker)
  cp_ips=$(ips_of "$control_planes")
  worker_ips=$(ips_of "$workers")
  [ -n "$cp_ips" ] || fail "the cluster lists no control-plane node; is the API reachable?"
}
nodes_of() { # "control-plane" | "worker" -> lines "name ip", sorted by name
  local selector=node-role.kubernetes.io/control-plane
  [ "$1" = "worker" ] && selector="!$selector"
  kubectl get nodes -l "$selector" \
    -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}' |
    sort
}
ips_of() { printf '%s\n' "$1" | awk 'NF {print $2}' | paste -sd, -; }

# Talos's own cluster checks (talosctl health, run by a control plane other than $1 that answers: etcd
# healthy on every member and its members the control planes, every node's API and boot, the Kubernetes
# nodes registered), over the nodes read_nodes found.
talos_health() {
  local via
  via=$(answering_control_plane "$1") || return 1
  set -- --control-plane-nodes "$cp_ips" --wait-timeout "$HEALTH_TIMEOUT"
  [ -z "$worker_ips" ] || set -- "$@" --worker-nodes "$worker_ips"
  quiet talosctl -e "$via" -n "$via" health "$@"
}

# Before control plane $2 (named $1) goes down, for $3 ("the upgrade", "the reboot", "its removal"): Talos's
# checks, so that every etcd member is healthy and quorum survives losing this one. Nothing else checks
# it before the node is drained: talosctl upgrade of a 1.13 node goes through LifecycleService.Upgrade,
# which skips the old etcd check (ValidateForUpgrade, v1.13.9
# internal/app/machined/internal/server/v1alpha1/v1alpha1_server.go); a reboot has no etcd step
# (v1alpha1_sequencer.go); a graceful reset leaves etcd after its drain, and etcd's own guard there
# only counts connected members, not healthy ones (etcd v3.6.8 server/etcdserver/server.go
# mayRemoveMember), a refusal Talos retries for 5 minutes (internal/pkg/etcd/etcd.go LeaveCluster).
check_etcd_before() {
  log "$1 ($2): checking etcd and the cluster before $3 takes this control plane down"
  talos_health "$2" ||
    fail "$1 ($2): the cluster is not healthy (talosctl health above), so $3 could lose etcd quorum; nothing was done to this node. Fix it (talosctl -n $2 etcd status), then run pulumi up again to resume."
}
