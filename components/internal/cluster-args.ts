/**
 * A whole cluster's description, read and checked in one place: TalosCluster's args, which are also a
 * stack's `talos-proxmox:cluster` config. Every rule that needs several parts at once (unique names,
 * addresses and VM ids, one network, who owns which address, what Longhorn needs in the image) lives
 * here, and every problem's path is relative to the description ("network.cidr"), so that the stack
 * and a program that builds a TalosCluster get the same message at their own root.
 */
import { checkConfigPatches, checkOwnedSettings, patchText } from "./config-patches";
import {
  Cidr,
  cidrToString,
  exampleHost,
  formatIPv4,
  hostBitsSet,
  isUsableHost,
  parseCidr,
  parseIPv4,
} from "./ipv4";
import { checkBridge, checkNameservers, checkNodeInterface, checkVlan } from "./network-rules";
import {
  checkCpuType,
  checkNodeSize,
  checkScsiHardware,
  checkVmId,
  DEFAULT_CPU_TYPE,
  DEFAULT_SCSI_HARDWARE,
  NodeRole,
  ScsiHardware,
} from "./node-rules";
import { checkNodeLabels, checkNodeTaints } from "./kubernetes-names";
import {
  checkCiliumValues,
  checkCiliumVersion,
  DEFAULT_CILIUM_VERSION,
  masqueradesWithBpf,
} from "./cilium-values";
import { UPGRADE_ORDERS, UpgradeOrder } from "../cluster-upgrade";
import { VipProvider } from "../control-plane";
import { checkRanges, IpRange, takenAddresses } from "./ip-ranges";
import { DEFAULT_KUBE_VIP_CLOUD_PROVIDER_VERSION, DEFAULT_KUBE_VIP_VERSION } from "./kube-vip-manifests";
import { Cni } from "./machine-config";
import { checkExtensions, DEFAULT_EXTENSIONS, LONGHORN_EXTENSIONS } from "./schematic";
import { checkDnsLabel, checkImageTag, checkInteger, checkStorageId, Problem, show } from "./validation";
import {
  checkKubernetesSupported,
  checkKubernetesVersion,
  checkReleased,
  checkTalosVersion,
} from "./versions";
import {
  CILIUM_CHART_RELEASES,
  KUBE_VIP_CLOUD_PROVIDER_RELEASES,
  KUBE_VIP_RELEASES,
  TALOS_RELEASES,
} from "./releases";
import { ConfigObject, ConfigReader } from "./config-reader";

export interface NodeSpec {
  /** Hostname, VM name and Kubernetes node name. */
  name: string;
  /** Proxmox node that runs the VM. */
  pveNode: string;
  /** Static IPv4 address inside `network.cidr`. */
  ip: string;
  vmId?: number;
}

export interface NodePoolSpec {
  cores: number;
  memoryMiB: number;
  diskGiB: number;
  cpuType: string;
  /** Proxmox storage for the VM disks. */
  datastore: string;
  /** SCSI controller of the VM disks. */
  scsiHardware: ScsiHardware;
  /** Whether the description names the controller (an unset one follows the library's default). */
  scsiHardwareSet: boolean;
  nodes: NodeSpec[];
  /** Extra machine-config patches, as YAML. */
  configPatches: string[];
}

export interface WorkerPoolSpec extends NodePoolSpec {
  name: string;
  labels: Record<string, string>;
  /** Talos form: `key: "value:Effect"`. */
  taints: Record<string, string>;
}

export interface NetworkSpec {
  /** Normalised network, e.g. `192.168.10.0/24`. */
  cidr: string;
  prefixLength: number;
  gateway: string;
  nameservers: string[];
  bridge: string;
  vlan?: number;
}

export interface CiliumSpec {
  version: string;
  hubble: boolean;
  hostLegacyRouting: boolean;
  /** Cilium owns Service LoadBalancer IPs: L2 announcements of an LB-IPAM pool of these ranges. */
  l2Announcements: { enabled: boolean; ranges: string[] };
  /** Extra Helm values, merged over the Talos values. */
  values: Record<string, unknown>;
}

export interface KubeVipSpec {
  /** kube-vip owns Service LoadBalancer IPs (services mode DaemonSet and cloud provider). */
  enabled: boolean;
  version: string;
  cloudProviderVersion: string;
  /** Unset: kube-vip takes the interface of the default route. */
  interface?: string;
  /** `global` and/or namespace names to ranges. */
  serviceRanges: Record<string, string[]>;
}

export interface ClusterSpec {
  name: string;
  talosVersion: string;
  kubernetesVersion: string;
  network: NetworkSpec;
  vip: { ip: string; provider: VipProvider };
  image: { extensions: string[]; datastore: string; sharedDatastore: boolean };
  /** `cilium`: Talos runs no CNI and no kube-proxy, Cilium replaces both. `flannel`: Talos's defaults. */
  cni: Cni;
  controlPlane: NodePoolSpec;
  workerPools: WorkerPoolSpec[];
  /** Prepare the workers for Longhorn (kubelet mount; the image must carry iscsi and util-linux tools). */
  longhorn: { enabled: boolean };
  cilium: CiliumSpec;
  kubeVip: KubeVipSpec;
  /** Talos forwards kube-dns to its host DNS; off when Cilium masquerades in eBPF. */
  forwardKubeDnsToHost: boolean;
  upgrade: {
    order: UpgradeOrder;
    maxParallelWorkers: number;
    /** The VMs already have changed settings (changed by hand, node by node): accept them once. */
    vmSettingsChangedByHand: boolean;
  };
  /** The whole cluster goes next: node removal skips drains and etcd leaves. */
  teardown: boolean;
  /** Guard the cluster secrets and the control-plane VMs against deletion. */
  deletionProtection: boolean;
  /** The control plane must survive a node failure: at least 3 control-plane nodes. */
  highAvailability: boolean;
}

const CLUSTER_KEYS = [
  "name",
  "talosVersion",
  "kubernetesVersion",
  "network",
  "vip",
  "image",
  "cni",
  "controlPlane",
  "workerPools",
  "longhorn",
  "cilium",
  "kubeVip",
  "upgrade",
  "teardown",
  "deletionProtection",
  "highAvailability",
] as const;
/** Keys of earlier releases, with their new names. */
const RENAMED_KEYS: Record<string, string> = { protect: "deletionProtection" };
const CILIUM_KEYS = ["version", "hubble", "hostLegacyRouting", "l2Announcements", "values"];
const KUBE_VIP_KEYS = ["enabled", "version", "cloudProviderVersion", "interface", "serviceRanges"];
const CNIS: readonly Cni[] = ["cilium", "flannel"];
const NETWORK_KEYS = ["cidr", "gateway", "nameservers", "bridge", "vlan"];
const VIP_KEYS = ["ip", "provider"];
const VIP_PROVIDERS: readonly VipProvider[] = ["talos", "kube-vip"];
const IMAGE_KEYS = ["extensions", "datastore", "sharedDatastore"];
const POOL_KEYS = [
  "cores",
  "memoryMiB",
  "diskGiB",
  "cpuType",
  "datastore",
  "scsiHardware",
  "nodes",
  "configPatches",
];
const WORKER_POOL_KEYS = ["name", ...POOL_KEYS, "labels", "taints"];
const NODE_KEYS = ["name", "pveNode", "ip", "vmId"];

/** Reads a cluster description; `spec` is set when it has no problem. Paths are relative to it. */
export function readClusterArgs(raw: unknown): { spec?: ClusterSpec; problems: Problem[] } {
  const reader = new ConfigReader();
  const spec = parseCluster(raw, reader);
  return reader.problems.length === 0 && spec ? { spec, problems: [] } : { problems: reader.problems };
}

function parseCluster(raw: unknown, reader: ConfigReader): ClusterSpec | undefined {
  const path = "";
  const obj = reader.object(raw, path, CLUSTER_KEYS, RENAMED_KEYS);
  if (!obj) {
    return undefined;
  }

  const name = reader.string(obj, "name", path);
  if (name !== undefined) {
    reader.problems.push(...checkDnsLabel(name, "name", "the cluster name"));
  }
  const talosVersion = reader.string(obj, "talosVersion", path);
  if (talosVersion !== undefined) {
    reader.problems.push(
      ...checkReleased(
        checkTalosVersion(talosVersion, "talosVersion"),
        talosVersion,
        TALOS_RELEASES,
        "talosVersion",
        "Talos",
      ),
    );
  }
  const kubernetesVersion = reader.string(obj, "kubernetesVersion", path);
  if (kubernetesVersion !== undefined) {
    const format = checkKubernetesVersion(kubernetesVersion, "kubernetesVersion");
    const versionsWellFormed =
      format.length === 0 && talosVersion !== undefined && checkTalosVersion(talosVersion, "").length === 0;
    reader.problems.push(
      ...format,
      ...(versionsWellFormed
        ? checkKubernetesSupported(talosVersion, kubernetesVersion, "kubernetesVersion")
        : []),
    );
  }
  const deletionProtection = reader.optionalBoolean(obj, "deletionProtection", path) ?? false;
  const highAvailability = reader.optionalBoolean(obj, "highAvailability", path) ?? false;
  const teardown = reader.optionalBoolean(obj, "teardown", path) ?? false;
  if (teardown && deletionProtection) {
    reader.report(
      "teardown",
      "is true while deletionProtection is true: a protected cluster cannot be torn down. Set deletionProtection: false too, pulumi up, then pulumi destroy.",
    );
  }
  const upgrade = parseUpgrade(obj.upgrade, "upgrade", reader);
  const cni = reader.optionalString(obj, "cni", path) ?? "cilium";
  if (!CNIS.includes(cni as Cni)) {
    reader.report("cni", `${show(cni)} is not supported. Use "cilium" (default) or "flannel".`);
  }

  const parsedNetwork = parseNetwork(obj.network, "network", reader);
  const vip = parseVip(obj.vip, "vip", reader, parsedNetwork?.block, parsedNetwork?.spec.gateway);
  const image = parseImage(obj.image, "image", reader);
  const controlPlaneObj = reader.object(obj.controlPlane, "controlPlane", POOL_KEYS);
  const controlPlane = controlPlaneObj && parsePool(controlPlaneObj, "controlPlane", "controlplane", reader);
  const workerPools = parseWorkerPools(obj, reader);
  const longhorn = parseLonghorn(obj.longhorn, "longhorn", reader, image?.extensions);

  if (controlPlane && controlPlane.nodes.length % 2 === 0) {
    reader.report(
      "controlPlane.nodes",
      `has ${controlPlane.nodes.length} nodes; etcd needs an odd number to keep quorum (1, 3 or 5). ` +
        `Add or remove one control-plane node.`,
    );
  }
  if (controlPlane && (highAvailability || deletionProtection) && controlPlane.nodes.length < 3) {
    const why = [highAvailability ? "highAvailability" : "", deletionProtection ? "deletionProtection" : ""]
      .filter(Boolean)
      .join(" and ");
    reader.report(
      "controlPlane.nodes",
      `has ${controlPlane.nodes.length} node(s), but ${why} ${why.includes(" and ") ? "are" : "is"} on: etcd keeps ` +
        `quorum through a node failure only with at least 3 control-plane nodes. Add nodes, ideally on different Proxmox nodes.`,
    );
  }
  if (controlPlane && workerPools) {
    checkNodesTogether(
      controlPlane,
      workerPools,
      parsedNetwork?.block,
      vip?.ip,
      parsedNetwork?.spec.gateway,
      reader,
    );
  }

  const nodeIps = [controlPlane, ...(workerPools ?? [])].flatMap(
    (pool) => pool?.nodes.map((n) => n.ip) ?? [],
  );
  const loadBalancing = parseLoadBalancing(obj, reader, {
    cni: cni as Cni,
    network: parsedNetwork?.block,
    taken: [
      ...nodeIps.map((ip) => ({ ip, owner: "a node's address" })),
      ...(vip ? [{ ip: vip.ip, owner: "the API VIP (vip.ip)" }] : []),
      ...(parsedNetwork ? [{ ip: parsedNetwork.spec.gateway, owner: "the gateway (network.gateway)" }] : []),
    ],
  });

  if (
    name === undefined ||
    talosVersion === undefined ||
    kubernetesVersion === undefined ||
    !parsedNetwork ||
    !vip ||
    !image ||
    !controlPlane ||
    !workerPools ||
    !longhorn ||
    !loadBalancing ||
    !upgrade
  ) {
    return undefined;
  }
  const spec: ClusterSpec = {
    name,
    talosVersion,
    kubernetesVersion,
    network: parsedNetwork.spec,
    vip,
    image,
    cni: cni as Cni,
    controlPlane,
    workerPools,
    longhorn,
    ...loadBalancing,
    upgrade,
    teardown,
    deletionProtection,
    highAvailability,
  };
  reader.problems.push(...checkWholeCluster(spec));
  return spec;
}

/**
 * Rules over the whole description once every part has read well: patches that set what the
 * description owns, a roll budget that would empty a pool, a highly available control plane crowded on
 * too few Proxmox nodes, Longhorn with nothing to prepare.
 */
function checkWholeCluster(cluster: ClusterSpec): Problem[] {
  const problems = poolsWithPaths(cluster).flatMap(([pool, path]) =>
    checkOwnedSettings(pool.configPatches, `${path}.configPatches`, {
      role: pool === cluster.controlPlane ? "controlplane" : "worker",
      cni: cluster.cni,
      hasWorkers: cluster.workerPools.length > 0,
      vip: cluster.vip,
    }),
  );
  // The rolls take workers in batches of maxParallelWorkers across pools (scripts/roll.sh roll_workers):
  // a pool no larger than a batch can go down whole. A pool of one node always does: a warning.
  const budget = cluster.upgrade.maxParallelWorkers;
  cluster.workerPools.forEach((pool, i) => {
    if (pool.nodes.length > 1 && budget >= pool.nodes.length) {
      problems.push({
        path: "upgrade.maxParallelWorkers",
        message:
          `is ${budget}, and worker pool ${show(pool.name)} (workerPools[${i}]) has ${pool.nodes.length} nodes: a ` +
          `roll could drain and reboot the whole pool at once, and whatever runs only there would stop. Set it ` +
          `below ${pool.nodes.length} (at most ${pool.nodes.length - 1}), or add nodes to the pool.`,
      });
    }
  });
  // Losing one Proxmox node must keep etcd's quorum: no Proxmox node may hold more control planes
  // than the quorum can spare.
  const count = cluster.controlPlane.nodes.length;
  const spare = count - (Math.floor(count / 2) + 1);
  if (cluster.highAvailability && count >= 3) {
    const placed = new Map<string, string[]>();
    cluster.controlPlane.nodes.forEach((node, i) => {
      const here = placed.get(node.pveNode) ?? [];
      if (here.length >= spare) {
        problems.push({
          path: `controlPlane.nodes[${i}].pveNode`,
          message:
            `${show(node.pveNode)} would run ${node.name} next to ${here.join(", ")}, but highAvailability is on: ` +
            `of ${count} control planes etcd can lose ${spare}, so a Proxmox node may run at most ${spare}, or ` +
            `that node's failure loses quorum. Put ${node.name} on another Proxmox node, or set highAvailability: false.`,
        });
      }
      placed.set(node.pveNode, [...here, node.name]);
    });
  }
  if (cluster.longhorn.enabled && cluster.workerPools.length === 0) {
    problems.push({
      path: "longhorn.enabled",
      message:
        `is true, but the cluster has no workers: Longhorn's mount is prepared on workers only, and the ` +
        `control planes would run Longhorn unprepared. Add a worker pool, or set longhorn.enabled: false.`,
    });
  }
  return problems;
}

function parseUpgrade(raw: unknown, path: string, reader: ConfigReader): ClusterSpec["upgrade"] | undefined {
  const obj = reader.object(raw ?? {}, path, ["order", "maxParallelWorkers", "vmSettingsChangedByHand"]);
  if (!obj) {
    return undefined;
  }
  const order = reader.optionalString(obj, "order", path) ?? "workers-first";
  const maxParallelWorkers = reader.optionalInteger(obj, "maxParallelWorkers", path) ?? 1;
  if (!UPGRADE_ORDERS.includes(order as UpgradeOrder)) {
    reader.report(
      `${path}.order`,
      `${show(order)} is not an order. Use "workers-first" (default) or "control-plane-first".`,
    );
  }
  reader.problems.push(
    ...checkInteger(maxParallelWorkers, `${path}.maxParallelWorkers`, {
      min: 1,
      what: "the number of workers upgraded at once",
    }),
  );
  const vmSettingsChangedByHand = reader.optionalBoolean(obj, "vmSettingsChangedByHand", path) ?? false;
  return { order: order as UpgradeOrder, maxParallelWorkers, vmSettingsChangedByHand };
}

/**
 * Cilium's and kube-vip's settings, and who owns what: one system owns Service LoadBalancer IPs, their
 * ranges lie in the node network and take no node's, the VIP's or the gateway's address.
 */
function parseLoadBalancing(
  cluster: ConfigObject,
  reader: ConfigReader,
  context: { cni: Cni; network?: Cidr; taken: { ip: string; owner: string }[] },
): Pick<ClusterSpec, "cilium" | "kubeVip" | "forwardKubeDnsToHost"> | undefined {
  const ciliumPath = "cilium";
  const kubeVipPath = "kubeVip";
  const ciliumObj = reader.object(cluster.cilium ?? {}, ciliumPath, CILIUM_KEYS);
  const kubeVipObj = reader.object(cluster.kubeVip ?? {}, kubeVipPath, KUBE_VIP_KEYS);
  if (!ciliumObj || !kubeVipObj) {
    return undefined;
  }
  if (context.cni !== "cilium" && cluster.cilium !== undefined) {
    reader.report(ciliumPath, `is set but cni is ${show(context.cni)}. Remove it, or set cni: cilium.`);
  }

  const version = reader.optionalString(ciliumObj, "version", ciliumPath) ?? DEFAULT_CILIUM_VERSION;
  reader.problems.push(
    ...checkReleased(
      checkCiliumVersion(version, `${ciliumPath}.version`),
      version,
      CILIUM_CHART_RELEASES,
      `${ciliumPath}.version`,
      "Cilium chart",
    ),
  );
  const values = reader.optionalMapping(ciliumObj, "values", ciliumPath) ?? {};
  // bpf.masquerade needs Talos's kube-dns forwarding off: the cluster turns it off on every node.
  const forwardKubeDnsToHost = !(context.cni === "cilium" && masqueradesWithBpf(values));
  reader.problems.push(...checkCiliumValues(values, forwardKubeDnsToHost, `${ciliumPath}.values`));
  const l2Path = `${ciliumPath}.l2Announcements`;
  const l2Obj = reader.object(ciliumObj.l2Announcements ?? {}, l2Path, ["enabled", "ranges"]);
  const l2Enabled = (l2Obj && reader.optionalBoolean(l2Obj, "enabled", l2Path)) ?? false;
  const l2Ranges = (l2Obj && reader.optionalStringList(l2Obj, "ranges", l2Path)) ?? [];

  const enabled = reader.optionalBoolean(kubeVipObj, "enabled", kubeVipPath) ?? false;
  const kubeVip: KubeVipSpec = {
    enabled,
    version: reader.optionalString(kubeVipObj, "version", kubeVipPath) ?? DEFAULT_KUBE_VIP_VERSION,
    cloudProviderVersion:
      reader.optionalString(kubeVipObj, "cloudProviderVersion", kubeVipPath) ??
      DEFAULT_KUBE_VIP_CLOUD_PROVIDER_VERSION,
    interface: reader.optionalString(kubeVipObj, "interface", kubeVipPath),
    serviceRanges: parseServiceRanges(kubeVipObj.serviceRanges, `${kubeVipPath}.serviceRanges`, reader) ?? {},
  };
  const released = (tag: string, releases: readonly string[], path: string, what: string) =>
    checkReleased(checkImageTag(tag, path), tag, releases, path, what);
  reader.problems.push(
    ...released(kubeVip.version, KUBE_VIP_RELEASES, `${kubeVipPath}.version`, "kube-vip"),
    ...released(
      kubeVip.cloudProviderVersion,
      KUBE_VIP_CLOUD_PROVIDER_RELEASES,
      `${kubeVipPath}.cloudProviderVersion`,
      "kube-vip-cloud-provider",
    ),
    ...(kubeVip.interface === undefined
      ? []
      : checkNodeInterface(kubeVip.interface, `${kubeVipPath}.interface`)),
  );

  // Only one system may own Service LoadBalancer IPs.
  if (enabled && l2Enabled) {
    reader.report(
      `${kubeVipPath}.enabled`,
      `kube-vip and Cilium L2 announcements would both own Service LoadBalancer IPs. Keep one: ` +
        `set kubeVip.enabled or cilium.l2Announcements.enabled to false.`,
    );
  }
  const rangeCount = Object.values(kubeVip.serviceRanges).flat().length;
  if (enabled && rangeCount === 0) {
    reader.report(
      `${kubeVipPath}.serviceRanges`,
      `is empty: kube-vip needs addresses to give out. Add e.g. ["192.168.10.200-192.168.10.220"].`,
    );
  }
  if (!enabled && rangeCount > 0) {
    reader.report(
      `${kubeVipPath}.serviceRanges`,
      `is set but kube-vip's services mode is off. Set kubeVip.enabled: true, or remove the ranges.`,
    );
  }
  if (l2Enabled && l2Ranges.length === 0) {
    reader.report(
      `${l2Path}.ranges`,
      `is empty: Cilium's LB-IPAM pool needs addresses. Add e.g. ["192.168.10.200-192.168.10.220"].`,
    );
  }
  if (!l2Enabled && l2Ranges.length > 0) {
    reader.report(
      `${l2Path}.ranges`,
      `is set but L2 announcements are off. Set enabled: true, or remove the ranges.`,
    );
  }

  const taken = takenAddresses(context.taken);
  const seen: { range: IpRange; path: string }[] = [];
  for (const [scope, texts] of Object.entries(kubeVip.serviceRanges)) {
    const checked = checkRanges(texts, `${kubeVipPath}.serviceRanges.${scope}`, context.network, taken, seen);
    reader.problems.push(...checked.problems);
    seen.push(...checked.ranges);
  }
  reader.problems.push(...checkRanges(l2Ranges, `${l2Path}.ranges`, context.network, taken, seen).problems);

  return {
    cilium: {
      version,
      hubble: reader.optionalBoolean(ciliumObj, "hubble", ciliumPath) ?? false,
      hostLegacyRouting: reader.optionalBoolean(ciliumObj, "hostLegacyRouting", ciliumPath) ?? true,
      l2Announcements: { enabled: l2Enabled, ranges: l2Ranges },
      values,
    },
    kubeVip,
    forwardKubeDnsToHost,
  };
}

/** A list (global) or a mapping of `global`/namespace to lists. */
function parseServiceRanges(
  raw: unknown,
  path: string,
  reader: ConfigReader,
): Record<string, string[]> | undefined {
  if (raw === undefined) {
    return undefined;
  }
  if (Array.isArray(raw)) {
    const list = reader.optionalStringList(
      { serviceRanges: raw },
      "serviceRanges",
      path.replace(/\.serviceRanges$/, ""),
    );
    return list && { global: list };
  }
  const obj = reader.optionalMapping(
    { serviceRanges: raw },
    "serviceRanges",
    path.replace(/\.serviceRanges$/, ""),
  );
  if (!obj) {
    return undefined;
  }
  const scopes: Record<string, string[]> = {};
  for (const scope of Object.keys(obj)) {
    if (scope !== "global") {
      reader.problems.push(...checkDnsLabel(scope, `${path}.${scope}`, "a namespace"));
    }
    const list = reader.optionalStringList(obj, scope, path);
    if (list) {
      scopes[scope] = list;
    }
  }
  return scopes;
}

function parseNetwork(
  raw: unknown,
  path: string,
  reader: ConfigReader,
): { spec: NetworkSpec; block: Cidr } | undefined {
  const obj = reader.object(raw, path, NETWORK_KEYS);
  if (!obj) {
    return undefined;
  }
  const cidrText = reader.string(obj, "cidr", path);
  const gateway = reader.string(obj, "gateway", path);
  // Required, as a node's DNS is the user's choice: unset, the VMs' cloud-init would carry none, and
  // the nodes would take whatever their platform falls back to.
  if (obj.nameservers === undefined) {
    reader.report(
      `${path}.nameservers`,
      `is required: the nodes' DNS servers, given through cloud-init. List at least one, e.g. ["1.1.1.1"].`,
    );
  }
  const nameservers = reader.optionalStringList(obj, "nameservers", path) ?? [];
  const bridge = reader.optionalString(obj, "bridge", path) ?? "vmbr0";
  const vlan = reader.optionalInteger(obj, "vlan", path);
  reader.problems.push(
    ...(obj.nameservers === undefined ? [] : checkNameservers(nameservers, `${path}.nameservers`)),
    ...checkBridge(bridge, `${path}.bridge`),
    ...(vlan === undefined ? [] : checkVlan(vlan, `${path}.vlan`)),
  );
  if (cidrText === undefined || gateway === undefined) {
    return undefined;
  }

  const block = parseCidr(cidrText);
  if (!block) {
    reader.report(`${path}.cidr`, `${show(cidrText)} is not an IPv4 CIDR. Use e.g. "192.168.10.0/24".`);
    return undefined;
  }
  if (block.prefixLength < 8 || block.prefixLength > 30) {
    reader.report(`${path}.cidr`, `prefix /${block.prefixLength} is out of range: use a /8 to /30 network.`);
    return undefined;
  }
  if (hostBitsSet(cidrText, block)) {
    reader.report(
      `${path}.cidr`,
      `${show(cidrText)} has host bits set. Use the network address: "${cidrToString(block)}".`,
    );
    return undefined;
  }
  const gatewayIp = parseIPv4(gateway);
  if (gatewayIp === undefined || !isUsableHost(block, gatewayIp)) {
    reader.report(
      `${path}.gateway`,
      `${show(gateway)} is not a host address inside ${cidrToString(block)}. Use your router's address there, e.g. "${formatIPv4(block.first + 1)}".`,
    );
  }
  return {
    spec: { cidr: cidrToString(block), prefixLength: block.prefixLength, gateway, nameservers, bridge, vlan },
    block,
  };
}

function parseVip(
  raw: unknown,
  path: string,
  reader: ConfigReader,
  block: Cidr | undefined,
  gateway: string | undefined,
): ClusterSpec["vip"] | undefined {
  const obj = reader.object(raw, path, VIP_KEYS);
  if (!obj) {
    return undefined;
  }
  const ip = reader.string(obj, "ip", path);
  const provider = reader.optionalString(obj, "provider", path) ?? "talos";
  if (!VIP_PROVIDERS.includes(provider as VipProvider)) {
    reader.report(
      `${path}.provider`,
      `${show(provider)} is not supported. Use "talos" (default) or "kube-vip".`,
    );
    return undefined;
  }
  if (ip === undefined) {
    return undefined;
  }
  const address = parseIPv4(ip);
  if (address === undefined) {
    reader.report(
      `${path}.ip`,
      `${show(ip)} is not an IPv4 address. Use a free address of the node network.`,
    );
    return undefined;
  }
  if (block && !isUsableHost(block, address)) {
    reader.report(
      `${path}.ip`,
      `${show(ip)} is not a host address inside ${cidrToString(block)}: the VIP is an L2 address of the node network. Use a free one, e.g. "${exampleHost(block)}".`,
    );
  }
  if (ip === gateway) {
    reader.report(`${path}.ip`, `${show(ip)} is the gateway (network.gateway). Use a free address.`);
  }
  return { ip, provider: provider as VipProvider };
}

function parseImage(raw: unknown, path: string, reader: ConfigReader): ClusterSpec["image"] | undefined {
  const obj = reader.object(raw ?? {}, path, IMAGE_KEYS);
  if (!obj) {
    return undefined;
  }
  const extensions = reader.optionalStringList(obj, "extensions", path) ?? [...DEFAULT_EXTENSIONS];
  const datastore = reader.optionalString(obj, "datastore", path) ?? "local";
  const sharedDatastore = reader.optionalBoolean(obj, "sharedDatastore", path) ?? false;
  reader.problems.push(
    ...checkExtensions(extensions, `${path}.extensions`),
    ...checkStorageId(datastore, `${path}.datastore`),
  );
  return { extensions, datastore, sharedDatastore };
}

function parseLonghorn(
  raw: unknown,
  path: string,
  reader: ConfigReader,
  extensions: string[] | undefined,
): ClusterSpec["longhorn"] | undefined {
  const obj = reader.object(raw ?? {}, path, ["enabled"]);
  if (!obj) {
    return undefined;
  }
  const enabled = reader.optionalBoolean(obj, "enabled", path) ?? false;
  const missing = LONGHORN_EXTENSIONS.filter((e) => !(extensions ?? LONGHORN_EXTENSIONS).includes(e));
  if (enabled && missing.length > 0) {
    reader.report(
      `${path}.enabled`,
      `Longhorn needs ${missing.join(" and ")} in the image. Add ${missing.length === 1 ? "it" : "them"} to image.extensions.`,
    );
  }
  return { enabled };
}

function parseWorkerPools(cluster: ConfigObject, reader: ConfigReader): WorkerPoolSpec[] | undefined {
  const raw = cluster.workerPools ?? [];
  if (!Array.isArray(raw)) {
    reader.report("workerPools", `must be a list of pools (got ${show(raw)}).`);
    return undefined;
  }
  const pools: WorkerPoolSpec[] = [];
  const names = new Map<string, string>();
  raw.forEach((rawPool, i) => {
    const poolPath = `workerPools[${i}]`;
    const obj = reader.object(rawPool, poolPath, WORKER_POOL_KEYS);
    if (!obj) {
      return;
    }
    const name = reader.string(obj, "name", poolPath);
    if (name !== undefined) {
      reader.problems.push(...checkDnsLabel(name, `${poolPath}.name`, "the pool name"));
      const first = names.get(name);
      if (first) {
        reader.report(`${poolPath}.name`, `${show(name)} is already the name of ${first}. Rename one pool.`);
      }
      names.set(name, poolPath);
    }
    const pool = parsePool(obj, poolPath, "worker", reader);
    const labels = reader.optionalStringMap(obj, "labels", poolPath) ?? {};
    const taints = reader.optionalStringMap(obj, "taints", poolPath) ?? {};
    reader.problems.push(
      ...checkNodeLabels(labels, `${poolPath}.labels`),
      ...checkNodeTaints(taints, `${poolPath}.taints`),
    );
    if (pool && name !== undefined) {
      pools.push({ name, ...pool, labels, taints });
    }
  });
  return pools.length === raw.length ? pools : undefined;
}

function parsePool(
  obj: ConfigObject,
  path: string,
  role: NodeRole,
  reader: ConfigReader,
): NodePoolSpec | undefined {
  const cores = reader.integer(obj, "cores", path);
  const memoryMiB = reader.integer(obj, "memoryMiB", path);
  const diskGiB = reader.integer(obj, "diskGiB", path);
  const cpuType = reader.optionalString(obj, "cpuType", path) ?? DEFAULT_CPU_TYPE;
  const datastore = reader.optionalString(obj, "datastore", path) ?? "local-lvm";
  const scsiHardwareSet = obj.scsiHardware !== undefined;
  const scsiHardware = reader.optionalString(obj, "scsiHardware", path) ?? DEFAULT_SCSI_HARDWARE;
  reader.problems.push(
    ...checkCpuType(cpuType, `${path}.cpuType`),
    ...checkStorageId(datastore, `${path}.datastore`),
    ...checkScsiHardware(scsiHardware, `${path}.scsiHardware`),
  );
  if (cores !== undefined && memoryMiB !== undefined && diskGiB !== undefined) {
    reader.problems.push(
      ...checkNodeSize(
        role,
        { cores, memoryMiB, diskGiB },
        { cores: `${path}.cores`, memoryMiB: `${path}.memoryMiB`, diskGiB: `${path}.diskGiB` },
      ),
    );
  }
  const configPatches = (reader.optionalDocumentList(obj, "configPatches", path) ?? []).map(patchText);
  reader.problems.push(...checkConfigPatches(configPatches, `${path}.configPatches`));
  const rawNodes = reader.list(obj, "nodes", path, "nodes");
  const nodes = rawNodes?.map((rawNode, i) => parseNode(rawNode, `${path}.nodes[${i}]`, reader));
  if (
    cores === undefined ||
    memoryMiB === undefined ||
    diskGiB === undefined ||
    !nodes ||
    nodes.some((n) => n === undefined)
  ) {
    return undefined;
  }
  return {
    cores,
    memoryMiB,
    diskGiB,
    cpuType,
    datastore,
    scsiHardware: scsiHardware as ScsiHardware,
    scsiHardwareSet,
    nodes: nodes as NodeSpec[],
    configPatches,
  };
}

function parseNode(raw: unknown, path: string, reader: ConfigReader): NodeSpec | undefined {
  const obj = reader.object(raw, path, NODE_KEYS);
  if (!obj) {
    return undefined;
  }
  const name = reader.string(obj, "name", path);
  const pveNode = reader.string(obj, "pveNode", path);
  const ip = reader.string(obj, "ip", path);
  const vmId = reader.optionalInteger(obj, "vmId", path);
  if (name !== undefined) {
    reader.problems.push(...checkDnsLabel(name, `${path}.name`, "the node name"));
  }
  if (pveNode !== undefined) {
    reader.problems.push(...checkDnsLabel(pveNode, `${path}.pveNode`, "the Proxmox node name"));
  }
  if (vmId !== undefined) {
    reader.problems.push(...checkVmId(vmId, `${path}.vmId`));
  }
  if (name === undefined || pveNode === undefined || ip === undefined) {
    return undefined;
  }
  return { name, pveNode, ip, vmId };
}

/** Names, addresses and VM ids must be unique across the cluster; addresses must fit the network. */
function checkNodesTogether(
  controlPlane: NodePoolSpec,
  workerPools: WorkerPoolSpec[],
  block: Cidr | undefined,
  vip: string | undefined,
  gateway: string | undefined,
  reader: ConfigReader,
): void {
  const entries = [
    ...controlPlane.nodes.map((node, i) => ({ node, path: `controlPlane.nodes[${i}]` })),
    ...workerPools.flatMap((pool, p) =>
      pool.nodes.map((node, i) => ({ node, path: `workerPools[${p}].nodes[${i}]` })),
    ),
  ];
  const names = new Map<string, string>();
  const ips = new Map<number, string>();
  const vmIds = new Map<number, string>();
  for (const { node, path } of entries) {
    const sameName = names.get(node.name);
    if (sameName) {
      reader.report(
        `${path}.name`,
        `${show(node.name)} is already used by ${sameName}. Node names must be unique.`,
      );
    }
    names.set(node.name, `${path}.name`);

    if (node.vmId !== undefined) {
      const sameId = vmIds.get(node.vmId);
      if (sameId) {
        reader.report(`${path}.vmId`, `${node.vmId} is already used by ${sameId}. Give each VM its own id.`);
      }
      vmIds.set(node.vmId, `${path}.vmId`);
    }

    const ipPath = `${path}.ip`;
    const address = parseIPv4(node.ip);
    if (address === undefined) {
      const example = block ? exampleHost(block) : "192.168.10.21";
      reader.report(
        ipPath,
        `${show(node.ip)} is not an IPv4 address. Use a dotted quad such as "${example}".`,
      );
      continue;
    }
    if (block && !isUsableHost(block, address)) {
      reader.report(
        ipPath,
        `${show(node.ip)} is not a host address inside network.cidr ${cidrToString(block)}. Use e.g. "${exampleHost(block)}".`,
      );
    }
    if (node.ip === gateway) {
      reader.report(ipPath, `${show(node.ip)} is the gateway (network.gateway). Use a free address.`);
    }
    if (node.ip === vip) {
      reader.report(
        ipPath,
        `${show(node.ip)} is the VIP (vip.ip), which floats between control planes. Use another address.`,
      );
    }
    const sameIp = ips.get(address);
    if (sameIp) {
      reader.report(ipPath, `${show(node.ip)} is already used by ${sameIp}. Give each node its own address.`);
    }
    ips.set(address, ipPath);
  }
}

/** Every pool of the cluster, control plane first, with its path. */
export function poolsWithPaths(cluster: ClusterSpec): [NodePoolSpec, string][] {
  return [
    [cluster.controlPlane, "controlPlane"],
    ...cluster.workerPools.map((pool, i): [NodePoolSpec, string] => [pool, `workerPools[${i}]`]),
  ];
}
