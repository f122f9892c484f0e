/**
 * The change-impact contract: for every stack-config key, what changing it on a running stack does.
 * `npm run docs` writes it into the README; test/change-contract.spec.ts makes each case through the
 * real program against the stack's last update and checks that the plan does exactly that
 * (tools/offline/changes.ts classifies each resource change by the rules of its provider).
 */

/** What a change does to the cluster, from the least to the most disruptive. */
export const EFFECTS = [
  "nothing",
  "in place",
  "live config",
  "nodes join or leave",
  "live config, rolling reboot",
  "staged config, rolling reboot",
  "rolling Kubernetes upgrade",
  "rolling Talos upgrade",
  "VM reboot or replacement",
  "refused",
] as const;
export type Effect = (typeof EFFECTS)[number];

/** What each effect means, for the README. */
export const EFFECT_MEANINGS: Record<Effect, string> = {
  nothing: "no resource changes",
  "in place":
    "resources update in place (Proxmox, Helm, Kubernetes objects, the commands' settings); no node reboots",
  "live config":
    "the nodes' machine configs change and Talos applies them without a reboot, on every node concerned at once",
  "nodes join or leave":
    "new nodes are created, install and join; removed nodes are drained (control planes also leave etcd) one at a time before their VMs go",
  "live config, rolling reboot":
    "Talos v1.14 applies it live, but it takes effect only at a reboot: the config roll reboots the nodes it touched one at a time, drained, with a health gate after each",
  "staged config, rolling reboot":
    "Talos v1.13 needs a reboot for it: each config is staged, then the config roll reboots the nodes one at a time, drained, with a health gate after each",
  "rolling Kubernetes upgrade": "`talosctl upgrade-k8s`, after which the configs follow the new version",
  "rolling Talos upgrade":
    "`talosctl upgrade` node by node in the upgrade order, drained, with a health gate after each; resumes where it stopped",
  "VM reboot or replacement": "never allowed: every such change is refused",
  refused: "the update stops before any resource is registered; the message names the key and the safe way",
};

export interface ChangeCase {
  /** Which change, when a key has several outcomes. */
  when?: string;
  effect: Effect;
  /** What happens, and why. */
  what: string;
}

export interface ContractRow {
  /** A stack-config key, as in the configuration reference. */
  key: string;
  cases: ChangeCase[];
}

const REFUSED_VM =
  "refused on existing nodes. Changing it by hand, one node at a time, then `pulumi refresh` and `cluster.upgrade.vmSettingsChangedByHand: true` once, is the way";
const CLOUD_INIT =
  "every VM's cloud-init drive would change, which bpg applies by rebooting them all at once (vm.go: initialization sets rebootRequired)";
const PROVIDER =
  "the explicit provider updates in place: pulumi-proxmoxve marks no setting ForcesProviderReplace (provider/resources.go), and the bridge's DiffConfig replaces only for those (pulumi-terraform-bridge#1683)";
const PATCHES: ChangeCase[] = [
  {
    when: "sections Talos applies live",
    effect: "live config",
    what: "on v1.14 everything but the sections below; on v1.13 for example machine.sysctls, kubelet, nodeLabels, cluster.*, and any document other than v1alpha1",
  },
  {
    when: "on v1.14, etcd, environment, kernel modules, files, disk encryption",
    effect: "live config, rolling reboot",
    what: "Talos v1.14 applies every change live and never stages one; these take effect only at a boot (Talos's list, and machine.files, written while booting), so the library finds them (reboot-sections.ts) and the config roll reboots the nodes they touch. Any change to machine.kernel.modules counts, though an added module loads live",
  },
  {
    when: "on v1.13, other sections",
    effect: "staged config, rolling reboot",
    what: "for example machine.files, udev or kubelet-unrelated features: v1.13.9 CanApplyImmediate lists what applies live; the rest is staged",
  },
];
const SHAPE = (pool: "control plane" | "worker pool"): ChangeCase[] => [
  {
    effect: "refused",
    what:
      pool === "worker pool"
        ? "refused on existing nodes: bpg reboots every VM of the pool at once. Add a pool with the new value, let it join, remove the old one"
        : `${REFUSED_VM}: bpg would reboot every control plane at once and lose quorum`,
  },
];
const DISK: ChangeCase[] = [
  {
    when: "grow",
    effect: "in place",
    what: "Proxmox resizes the disk online; Talos grows EPHEMERAL (grow: true) when it next sets up its volumes, at the next boot",
  },
  { when: "shrink", effect: "refused", what: "Proxmox cannot shrink a disk; bpg would fail halfway" },
];
const NODES = (role: "control-plane" | "worker"): ChangeCase[] => [
  {
    when: "add",
    effect: "nodes join or leave",
    what: "the new VMs boot the ISO, install and join; the config roll and readiness check run again",
  },
  {
    when: "remove",
    effect: "nodes join or leave",
    what:
      role === "control-plane"
        ? "each is drained and leaves etcd before its VM goes, one at a time; dropping below the last update's quorum is refused"
        : "each is drained and its Node object deleted before its VM goes, one at a time",
  },
];
const RENAMED_NODE =
  "a renamed node that keeps its IP or VM id is a new VM created before the old one goes. Remove it, then add it under the new name";
const REPLACED_NODE =
  "refused: the VM would be replaced with Pulumi creating the new one first. Remove the node (one update), then add it back";

export const CHANGE_CONTRACT: ContractRow[] = [
  { key: "proxmoxve:endpoint", cases: [{ effect: "in place", what: PROVIDER }] },
  { key: "proxmoxve:apiToken", cases: [{ effect: "in place", what: PROVIDER }] },
  { key: "proxmoxve:insecure", cases: [{ effect: "in place", what: PROVIDER }] },
  {
    key: "cluster.name",
    cases: [
      {
        effect: "refused",
        what: "every resource is named after it: Pulumi would build a new cluster and delete this one",
      },
    ],
  },
  {
    key: "cluster.talosVersion",
    cases: [
      {
        when: "a release of the same minor",
        effect: "rolling Talos upgrade",
        what: "the configs then carry the new installer image (live)",
      },
      {
        when: "v1.13 to v1.14",
        effect: "rolling Talos upgrade",
        what: "with talosctl v1.14 (the roll checks it first), node by node as for a patch, while the nodes run both minors; the configs keep the v1.13 contract until the next update, once every node runs v1.14 (through the provider 0.8.1 both contracts render the same configs)",
      },
      {
        when: "down a minor, or over one",
        effect: "refused",
        what: "the roll moves Talos one minor per update, never down one: the newer etcd's data is not read by the older. The message gives the steps",
      },
      {
        when: "to a minor that does not run the cluster's Kubernetes",
        effect: "refused",
        what: "while the roll goes the nodes run both minors: move Kubernetes into the new minor's range first",
      },
    ],
  },
  {
    key: "cluster.kubernetesVersion",
    cases: [
      { effect: "rolling Kubernetes upgrade", what: "then the configs follow the version it reports (live)" },
    ],
  },
  { key: "cluster.network.cidr", cases: [{ effect: "refused", what: CLOUD_INIT }] },
  { key: "cluster.network.gateway", cases: [{ effect: "refused", what: CLOUD_INIT }] },
  { key: "cluster.network.nameservers", cases: [{ effect: "refused", what: CLOUD_INIT }] },
  {
    key: "cluster.network.bridge",
    cases: [
      {
        effect: "refused",
        what: "every VM's NIC would move at once (hot-plugged): the whole cluster drops off its network together",
      },
    ],
  },
  {
    key: "cluster.network.vlan",
    cases: [
      {
        effect: "refused",
        what: "every VM's NIC would move at once (hot-plugged): the whole cluster drops off its network together",
      },
    ],
  },
  {
    key: "cluster.vip.ip",
    cases: [
      {
        effect: "refused",
        what: "every node's config, the API server certificate and every kubeconfig name the API address",
      },
    ],
  },
  {
    key: "cluster.vip.provider",
    cases: [
      {
        effect: "refused",
        what: "kube-vip's kubeconfig is a machine.files entry, applied only at a reboot: during the roll Talos and kube-vip would both hold the address",
      },
    ],
  },
  {
    key: "cluster.image.extensions",
    cases: [
      {
        when: "other extensions",
        effect: "rolling Talos upgrade",
        what: "a new schematic (replaced, so its id and installer image change), installed node by node",
      },
      {
        when: "adding or removing qemu-guest-agent",
        effect: "refused",
        what: "every VM's agent setting would change, which bpg applies by rebooting them all at once",
      },
    ],
  },
  {
    key: "cluster.image.datastore",
    cases: [
      {
        effect: "in place",
        what: "the ISO is downloaded to the new storage and the VMs' CD drives switch live",
      },
    ],
  },
  {
    key: "cluster.image.sharedDatastore",
    cases: [{ effect: "in place", what: "the ISO downloads change and the VMs' CD drives switch live" }],
  },
  {
    key: "cluster.cni",
    cases: [
      {
        effect: "refused",
        what: "Talos never deletes what it deployed (the old CNI, kube-proxy): both would run",
      },
    ],
  },
  { key: "cluster.controlPlane.cores", cases: SHAPE("control plane") },
  { key: "cluster.controlPlane.memoryMiB", cases: SHAPE("control plane") },
  { key: "cluster.controlPlane.diskGiB", cases: DISK },
  { key: "cluster.controlPlane.cpuType", cases: SHAPE("control plane") },
  { key: "cluster.controlPlane.datastore", cases: SHAPE("control plane") },
  { key: "cluster.controlPlane.scsiHardware", cases: SHAPE("control plane") },
  { key: "cluster.controlPlane.configPatches", cases: PATCHES },
  { key: "cluster.controlPlane.nodes", cases: NODES("control-plane") },
  {
    key: "cluster.controlPlane.nodes[].name",
    cases: [
      {
        effect: "refused",
        what: RENAMED_NODE,
      },
    ],
  },
  { key: "cluster.controlPlane.nodes[].pveNode", cases: [{ effect: "refused", what: REPLACED_NODE }] },
  {
    key: "cluster.controlPlane.nodes[].ip",
    cases: [{ effect: "refused", what: `${CLOUD_INIT}; etcd and the endpoints hold it too` }],
  },
  { key: "cluster.controlPlane.nodes[].vmId", cases: [{ effect: "refused", what: REPLACED_NODE }] },
  {
    key: "cluster.workerPools",
    cases: [
      {
        when: "add or remove a pool",
        effect: "nodes join or leave",
        what: "as for adding or removing its nodes",
      },
    ],
  },
  {
    key: "cluster.workerPools[].name",
    cases: [
      {
        effect: "refused",
        what: "the nodes' resources are named after their pool: each VM would be created again before the old one goes",
      },
    ],
  },
  { key: "cluster.workerPools[].cores", cases: SHAPE("worker pool") },
  { key: "cluster.workerPools[].memoryMiB", cases: SHAPE("worker pool") },
  { key: "cluster.workerPools[].diskGiB", cases: DISK },
  { key: "cluster.workerPools[].cpuType", cases: SHAPE("worker pool") },
  { key: "cluster.workerPools[].datastore", cases: SHAPE("worker pool") },
  { key: "cluster.workerPools[].scsiHardware", cases: SHAPE("worker pool") },
  { key: "cluster.workerPools[].configPatches", cases: PATCHES },
  {
    key: "cluster.workerPools[].labels",
    cases: [{ effect: "live config", what: "machine.nodeLabels, applied live on the pool's nodes" }],
  },
  {
    key: "cluster.workerPools[].taints",
    cases: [
      {
        effect: "live config",
        what: "the kubelet's registerWithTaints: nodes that join afterwards register with them; a node may not change its own taints (NodeRestriction), so taint the others with kubectl",
      },
    ],
  },
  { key: "cluster.workerPools[].nodes", cases: NODES("worker") },
  {
    key: "cluster.workerPools[].nodes[].name",
    cases: [
      {
        effect: "refused",
        what: RENAMED_NODE,
      },
    ],
  },
  { key: "cluster.workerPools[].nodes[].pveNode", cases: [{ effect: "refused", what: REPLACED_NODE }] },
  { key: "cluster.workerPools[].nodes[].ip", cases: [{ effect: "refused", what: CLOUD_INIT }] },
  { key: "cluster.workerPools[].nodes[].vmId", cases: [{ effect: "refused", what: REPLACED_NODE }] },
  {
    key: "cluster.cilium.version",
    cases: [
      {
        effect: "in place",
        what: "helm upgrade; Cilium's DaemonSet rolls its agents by its own update strategy",
      },
    ],
  },
  { key: "cluster.cilium.hubble", cases: [{ effect: "in place", what: "helm upgrade" }] },
  { key: "cluster.cilium.hostLegacyRouting", cases: [{ effect: "in place", what: "helm upgrade" }] },
  {
    key: "cluster.cilium.l2Announcements.enabled",
    cases: [{ effect: "in place", what: "helm upgrade; its IP pool and announcement policy come or go" }],
  },
  {
    key: "cluster.cilium.l2Announcements.ranges",
    cases: [{ effect: "in place", what: "the IP pool updates" }],
  },
  {
    key: "cluster.cilium.values",
    cases: [
      {
        effect: "in place",
        what: "helm upgrade; turning bpf.masquerade on or off also flips Talos's kube-dns forwarding, live",
      },
    ],
  },
  {
    key: "cluster.kubeVip.enabled",
    cases: [{ effect: "in place", what: "kube-vip's DaemonSet, cloud provider and RBAC come or go" }],
  },
  {
    key: "cluster.kubeVip.version",
    cases: [
      { effect: "in place", what: "the DaemonSet rolls (and, holding the VIP, the static pods, live)" },
    ],
  },
  {
    key: "cluster.kubeVip.cloudProviderVersion",
    cases: [{ effect: "in place", what: "the cloud provider's Deployment rolls" }],
  },
  {
    key: "cluster.kubeVip.interface",
    cases: [
      { effect: "in place", what: "the DaemonSet rolls (and, holding the VIP, the static pods, live)" },
    ],
  },
  {
    key: "cluster.kubeVip.serviceRanges",
    cases: [
      {
        effect: "in place",
        what:
          "the cloud provider's ConfigMap is replaced: deleted, then created again under its name " +
          "(pulumi-kubernetes treats a ConfigMap's data as immutable); Services keep their addresses",
      },
    ],
  },
  {
    key: "cluster.upgrade.order",
    cases: [
      {
        effect: "in place",
        what: "the roll commands' settings; the Talos roll runs and finds every node on target",
      },
    ],
  },
  {
    key: "cluster.upgrade.maxParallelWorkers",
    cases: [
      {
        effect: "in place",
        what: "the roll commands' settings; the Talos roll runs and finds every node on target",
      },
    ],
  },
  {
    key: "cluster.upgrade.vmSettingsChangedByHand",
    cases: [
      {
        effect: "refused",
        what: "alone, it is refused: it only accepts VM settings changed by hand, once, together with them",
      },
    ],
  },
  {
    key: "cluster.longhorn.enabled",
    cases: [{ effect: "live config", what: "the workers' kubelet mount for Longhorn, applied live" }],
  },
  {
    key: "cluster.teardown",
    cases: [
      {
        effect: "in place",
        what: "the decommission commands' settings: later removals skip drains and etcd leaves",
      },
    ],
  },
  {
    key: "cluster.deletionProtection",
    cases: [
      {
        effect: "in place",
        what: "Pulumi's protect and Proxmox's protection flag on the control planes, live",
      },
    ],
  },
  {
    key: "cluster.highAvailability",
    cases: [
      {
        effect: "nothing",
        what: "a rule, not a resource: with it, fewer than 3 control planes are refused",
      },
    ],
  },
];
