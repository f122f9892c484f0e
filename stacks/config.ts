/**
 * The stack configuration contract: `talos-proxmox:cluster` plus the Proxmox provider keys, read from
 * `Pulumi.<stack>.yaml`, validated as a whole before any resource exists, and mapped to typed specs.
 */
import * as proxmoxve from "@muhlba91/pulumi-proxmoxve";
import { checkConfigPatches } from "../components/internal/config-patches";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import {
  Cidr,
  cidrToString,
  exampleHost,
  formatIPv4,
  hostBitsSet,
  isUsableHost,
  parseCidr,
  parseIPv4,
} from "../components/internal/ipv4";
import {
  checkBridge,
  checkNameservers,
  checkNodeInterface,
  checkVlan,
} from "../components/internal/network-rules";
import {
  checkCpuType,
  checkNodeSize,
  checkScsiHardware,
  checkVmId,
  DEFAULT_CPU_TYPE,
  DEFAULT_SCSI_HARDWARE,
  NodeRole,
  PREVIOUS_DEFAULT_SCSI_HARDWARE,
  ScsiHardware,
} from "../components/internal/node-rules";
import { checkNodeLabels, checkNodeTaints } from "../components/internal/kubernetes-names";
import {
  checkCiliumValues,
  checkCiliumVersion,
  DEFAULT_CILIUM_VERSION,
  masqueradesWithBpf,
} from "../components/internal/cilium-values";
import { UPGRADE_ORDERS, UpgradeOrder } from "../components/cluster-upgrade";
import { VipProvider } from "../components/control-plane";
import { checkRanges, IpRange } from "../components/internal/ip-ranges";
import {
  DEFAULT_KUBE_VIP_CLOUD_PROVIDER_VERSION,
  DEFAULT_KUBE_VIP_VERSION,
} from "../components/internal/kube-vip-manifests";
import { Cni } from "../components/internal/machine-config";
import {
  checkExtensions,
  DEFAULT_EXTENSIONS,
  LONGHORN_EXTENSIONS,
  QEMU_GUEST_AGENT,
} from "../components/internal/schematic";
import {
  checkDnsLabel,
  checkImageTag,
  checkInteger,
  checkStorageId,
  nearest,
  Problem,
  show,
  throwIfProblems,
} from "../components/internal/validation";
import {
  checkKubernetesSupported,
  checkKubernetesVersion,
  checkTalosVersion,
} from "../components/internal/versions";
import { ConfigObject, ConfigReader } from "./config-reader";

export const PROJECT_NAMESPACE = "talos-proxmox";

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
  /** Whether the stack file names the controller (an unset one follows the library's default). */
  scsiHardwareSet: boolean;
  nodes: NodeSpec[];
  /** Extra machine-config patches (strategic merge), rendered to YAML. */
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
  /** Guard secrets and control-plane VMs against deletion. */
  protect: boolean;
}

export interface ProxmoxSpec {
  endpoint: string;
  insecure: boolean;
  /** From `proxmoxve:apiToken`; when unset the provider reads `PROXMOX_VE_API_TOKEN`. */
  apiToken?: pulumi.Output<string>;
}

export interface StackSpec {
  cluster: ClusterSpec;
  proxmox: ProxmoxSpec;
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
  "protect",
] as const;
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
/** Stacks with these names are production: they need a control plane that survives a node failure. */
const PRODUCTION_STACKS = ["prod", "production"];
const NODE_KEYS = ["name", "pveNode", "ip", "vmId"];

/** Reads and validates the whole stack config; throws a ValidationError listing every problem. */
export function readStackConfig(): StackSpec {
  const reader = new ConfigReader();
  for (const key of Object.keys(pulumi.runtime.allConfig())) {
    if (key.startsWith(`${PROJECT_NAMESPACE}:`) && key !== `${PROJECT_NAMESPACE}:cluster`) {
      reader.report(key, `is not a known setting. All settings live under ${PROJECT_NAMESPACE}:cluster.`);
    }
  }
  reader.problems.push(...checkProxmoxKeys());
  const proxmoxConfig = new pulumi.Config("proxmoxve");
  const endpoint = proxmoxConfig.get("endpoint");
  reader.problems.push(...checkEndpoint(endpoint));
  const proxmox: ProxmoxSpec = {
    endpoint: endpoint ?? "",
    insecure: proxmoxConfig.getBoolean("insecure") ?? false,
    apiToken: proxmoxConfig.getSecret("apiToken"),
  };

  const rawCluster = new pulumi.Config(PROJECT_NAMESPACE).getObject<unknown>("cluster");
  if (rawCluster === undefined) {
    reader.report(
      `${PROJECT_NAMESPACE}:cluster`,
      "is not set. Copy the talos-proxmox:cluster block of Pulumi.homelab.yaml into your stack file.",
    );
  }
  const cluster = rawCluster === undefined ? undefined : parseCluster(rawCluster, pulumi.getStack(), reader);
  throwIfProblems(`Invalid configuration of stack "${pulumi.getStack()}"`, reader.problems);
  if (!cluster) {
    throw new Error("unreachable: the cluster config parsed without problems but yielded nothing");
  }
  return { cluster, proxmox };
}

/**
 * The `proxmoxve:*` settings this stack passes to its Proxmox provider. The provider is explicit, so
 * Pulumi hands it only these: any other `proxmoxve:*` key in the stack file would be silently ignored.
 */
const PROXMOX_KEYS = ["endpoint", "apiToken", "insecure"];

function checkProxmoxKeys(): Problem[] {
  const problems: Problem[] = [];
  // Every setting of the pinned provider: the getters of its generated config module.
  const providerKeys = Object.keys(proxmoxve.config);
  for (const key of Object.keys(pulumi.runtime.allConfig())) {
    const name = key.startsWith("proxmoxve:") ? key.slice("proxmoxve:".length) : undefined;
    if (name === undefined || PROXMOX_KEYS.includes(name)) {
      continue;
    }
    const near = nearest(name, PROXMOX_KEYS);
    problems.push({
      path: key,
      message: providerKeys.includes(name)
        ? `is a Proxmox provider setting this stack does not pass on (it passes ${PROXMOX_KEYS.join(", ")}). Remove it.`
        : `is not a setting of the Proxmox provider.${near ? ` Did you mean proxmoxve:${near}?` : ""} ` +
          `This stack reads ${PROXMOX_KEYS.map((k) => `proxmoxve:${k}`).join(", ")}.`,
    });
  }
  if (
    pulumi.runtime.allConfig()["proxmoxve:apiToken"] !== undefined &&
    !isConfigSecret("proxmoxve:apiToken")
  ) {
    problems.push({
      path: "proxmoxve:apiToken",
      message:
        `is stored in plain text in the stack file. Encrypt it: pulumi config set --secret proxmoxve:apiToken ` +
        `'<user>@<realm>!<token id>=<secret>' (or remove it and export PROXMOX_VE_API_TOKEN, which the ` +
        `provider reads when the setting is unset). Then rotate the token: it has been readable in the file.`,
    });
  }
  return problems;
}

/**
 * Whether the stack file stores a key encrypted (`secure:`). The Pulumi CLI's language host passes the
 * secret keys in PULUMI_CONFIG_SECRET_KEYS (pulumi/pulumi sdk/nodejs/cmd/pulumi-language-nodejs), and
 * the SDK answers from them in `runtime.isConfigSecret` (sdk/nodejs/runtime/config.ts: exported, marked
 * internal). The pinned SDK has it; an SDK without it fails here rather than letting a token through.
 */
function isConfigSecret(key: string): boolean {
  const check = (pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean }).isConfigSecret;
  if (typeof check !== "function") {
    throw new Error("@pulumi/pulumi no longer has runtime.isConfigSecret: update stacks/config.ts.");
  }
  return check(key);
}

function checkEndpoint(endpoint: string | undefined): Problem[] {
  const path = "proxmoxve:endpoint";
  const fix = `Set it with: pulumi config set proxmoxve:endpoint https://pve1.example.net:8006/`;
  if (endpoint === undefined) {
    return [{ path, message: `is not set. ${fix}` }];
  }
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return [{ path, message: `${show(endpoint)} is not a URL. ${fix}` }];
  }
  if (url.protocol !== "https:") {
    return [{ path, message: `${show(endpoint)} must use https (the Proxmox API only serves TLS). ${fix}` }];
  }
  return [];
}

function parseCluster(raw: unknown, stack: string, reader: ConfigReader): ClusterSpec | undefined {
  const path = "cluster";
  const obj = reader.object(raw, path, CLUSTER_KEYS);
  if (!obj) {
    return undefined;
  }

  const name = reader.string(obj, "name", path);
  if (name !== undefined) {
    reader.problems.push(...checkDnsLabel(name, `${path}.name`, "the cluster name"));
  }
  const talosVersion = reader.string(obj, "talosVersion", path);
  if (talosVersion !== undefined) {
    reader.problems.push(...checkTalosVersion(talosVersion, `${path}.talosVersion`));
  }
  const kubernetesVersion = reader.string(obj, "kubernetesVersion", path);
  if (kubernetesVersion !== undefined) {
    const format = checkKubernetesVersion(kubernetesVersion, `${path}.kubernetesVersion`);
    const versionsWellFormed =
      format.length === 0 && talosVersion !== undefined && checkTalosVersion(talosVersion, "").length === 0;
    reader.problems.push(
      ...format,
      ...(versionsWellFormed
        ? checkKubernetesSupported(talosVersion, kubernetesVersion, `${path}.kubernetesVersion`)
        : []),
    );
  }
  const protect = reader.optionalBoolean(obj, "protect", path) ?? false;
  const teardown = reader.optionalBoolean(obj, "teardown", path) ?? false;
  if (teardown && protect) {
    reader.report(
      `${path}.teardown`,
      "is true while protect is true: a protected cluster cannot be torn down. Set protect: false too, pulumi up, then pulumi destroy.",
    );
  }
  const upgrade = parseUpgrade(obj.upgrade, `${path}.upgrade`, reader);
  const cni = reader.optionalString(obj, "cni", path) ?? "cilium";
  if (!CNIS.includes(cni as Cni)) {
    reader.report(`${path}.cni`, `${show(cni)} is not supported. Use "cilium" (default) or "flannel".`);
  }

  const parsedNetwork = parseNetwork(obj.network, `${path}.network`, reader);
  const vip = parseVip(obj.vip, `${path}.vip`, reader, parsedNetwork?.block, parsedNetwork?.spec.gateway);
  const image = parseImage(obj.image, `${path}.image`, reader);
  const controlPlaneObj = reader.object(obj.controlPlane, `${path}.controlPlane`, POOL_KEYS);
  const controlPlane =
    controlPlaneObj && parsePool(controlPlaneObj, `${path}.controlPlane`, "controlplane", reader);
  const workerPools = parseWorkerPools(obj, path, reader);
  const longhorn = parseLonghorn(obj.longhorn, `${path}.longhorn`, reader, image?.extensions);

  if (controlPlane && controlPlane.nodes.length % 2 === 0) {
    reader.report(
      `${path}.controlPlane.nodes`,
      `has ${controlPlane.nodes.length} nodes; etcd needs an odd number to keep quorum (1, 3 or 5). ` +
        `Add or remove one control-plane node.`,
    );
  }
  const production = PRODUCTION_STACKS.includes(stack) || protect;
  if (controlPlane && production && controlPlane.nodes.length < 3) {
    reader.report(
      `${path}.controlPlane.nodes`,
      `has ${controlPlane.nodes.length} node(s); a production cluster (stack "${stack}"${protect ? ", protect: true" : ""}) ` +
        `needs at least 3 control-plane nodes, so etcd keeps quorum when one fails. Add nodes, ideally on different Proxmox nodes.`,
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
  const loadBalancing = parseLoadBalancing(obj, path, reader, {
    cni: cni as Cni,
    network: parsedNetwork?.block,
    taken: [
      ...nodeIps.map((ip) => ({ ip, owner: "a node's address" })),
      ...(vip ? [{ ip: vip.ip, owner: "the API VIP (cluster.vip.ip)" }] : []),
      ...(parsedNetwork
        ? [{ ip: parsedNetwork.spec.gateway, owner: "the gateway (cluster.network.gateway)" }]
        : []),
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
  return {
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
    protect,
  };
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
  path: string,
  reader: ConfigReader,
  context: { cni: Cni; network?: Cidr; taken: { ip: string; owner: string }[] },
): Pick<ClusterSpec, "cilium" | "kubeVip" | "forwardKubeDnsToHost"> | undefined {
  const ciliumPath = `${path}.cilium`;
  const kubeVipPath = `${path}.kubeVip`;
  const ciliumObj = reader.object(cluster.cilium ?? {}, ciliumPath, CILIUM_KEYS);
  const kubeVipObj = reader.object(cluster.kubeVip ?? {}, kubeVipPath, KUBE_VIP_KEYS);
  if (!ciliumObj || !kubeVipObj) {
    return undefined;
  }
  if (context.cni !== "cilium" && cluster.cilium !== undefined) {
    reader.report(
      ciliumPath,
      `is set but cluster.cni is ${show(context.cni)}. Remove it, or set cni: cilium.`,
    );
  }

  const version = reader.optionalString(ciliumObj, "version", ciliumPath) ?? DEFAULT_CILIUM_VERSION;
  reader.problems.push(...checkCiliumVersion(version, `${ciliumPath}.version`));
  const values = reader.optionalMapping(ciliumObj, "values", ciliumPath) ?? {};
  // bpf.masquerade needs Talos's kube-dns forwarding off: the stack turns it off on every node.
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
  reader.problems.push(
    ...checkImageTag(kubeVip.version, `${kubeVipPath}.version`),
    ...checkImageTag(kubeVip.cloudProviderVersion, `${kubeVipPath}.cloudProviderVersion`),
    ...(kubeVip.interface === undefined
      ? []
      : checkNodeInterface(kubeVip.interface, `${kubeVipPath}.interface`)),
  );

  // Only one system may own Service LoadBalancer IPs.
  if (enabled && l2Enabled) {
    reader.report(
      `${kubeVipPath}.enabled`,
      `kube-vip and Cilium L2 announcements would both own Service LoadBalancer IPs. Keep one: ` +
        `set cluster.kubeVip.enabled or cluster.cilium.l2Announcements.enabled to false.`,
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
      `is set but kube-vip's services mode is off. Set cluster.kubeVip.enabled: true, or remove the ranges.`,
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

  const taken = context.taken.flatMap(({ ip, owner }) => {
    const address = parseIPv4(ip);
    return address === undefined ? [] : [{ address, owner }];
  });
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
  const nameservers = reader.optionalStringList(obj, "nameservers", path) ?? [];
  const bridge = reader.optionalString(obj, "bridge", path) ?? "vmbr0";
  const vlan = reader.optionalInteger(obj, "vlan", path);
  reader.problems.push(
    ...checkNameservers(nameservers, `${path}.nameservers`),
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
    reader.report(`${path}.ip`, `${show(ip)} is the gateway (cluster.network.gateway). Use a free address.`);
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
      `Longhorn needs ${missing.join(" and ")} in the image. Add ${missing.length === 1 ? "it" : "them"} to cluster.image.extensions.`,
    );
  }
  return { enabled };
}

function parseWorkerPools(
  cluster: ConfigObject,
  path: string,
  reader: ConfigReader,
): WorkerPoolSpec[] | undefined {
  const raw = cluster.workerPools ?? [];
  if (!Array.isArray(raw)) {
    reader.report(`${path}.workerPools`, `must be a list of pools (got ${show(raw)}).`);
    return undefined;
  }
  const pools: WorkerPoolSpec[] = [];
  const names = new Map<string, string>();
  raw.forEach((rawPool, i) => {
    const poolPath = `${path}.workerPools[${i}]`;
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
  const configPatches = (reader.optionalMappingList(obj, "configPatches", path) ?? []).map((patch) =>
    stringify(patch, { version: "1.1" }),
  );
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
    ...controlPlane.nodes.map((node, i) => ({ node, path: `cluster.controlPlane.nodes[${i}]` })),
    ...workerPools.flatMap((pool, p) =>
      pool.nodes.map((node, i) => ({ node, path: `cluster.workerPools[${p}].nodes[${i}]` })),
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
        `${show(node.ip)} is not a host address inside cluster.network.cidr ${cidrToString(block)}. Use e.g. "${exampleHost(block)}".`,
      );
    }
    if (node.ip === gateway) {
      reader.report(ipPath, `${show(node.ip)} is the gateway (cluster.network.gateway). Use a free address.`);
    }
    if (node.ip === vip) {
      reader.report(
        ipPath,
        `${show(node.ip)} is the VIP (cluster.vip.ip), which floats between control planes. Use another address.`,
      );
    }
    const sameIp = ips.get(address);
    if (sameIp) {
      reader.report(ipPath, `${show(node.ip)} is already used by ${sameIp}. Give each node its own address.`);
    }
    ips.set(address, ipPath);
  }
}

/**
 * Scaling the control plane down: never below the quorum of what the last update left, so etcd keeps a
 * majority even if the removed members were lost rather than left. `previousNodes` is the stack's own
 * `nodes` output from its last update (undefined for a new stack).
 */
export function checkControlPlaneScaleDown(previousNodes: unknown, controlPlaneCount: number): Problem[] {
  if (typeof previousNodes !== "object" || previousNodes === null) {
    return [];
  }
  const before = Object.values(previousNodes as Record<string, { role?: unknown }>).filter(
    (node) => node?.role === "controlplane",
  ).length;
  const quorum = Math.floor(before / 2) + 1;
  if (before === 0 || controlPlaneCount >= quorum) {
    return [];
  }
  return [
    {
      path: "cluster.controlPlane.nodes",
      message:
        `has ${controlPlaneCount} node(s); the last update left ${before}, whose etcd quorum is ${quorum}. ` +
        `Removing ${before - controlPlaneCount} at once could lose quorum: remove control planes in steps ` +
        `that keep at least ${quorum} (one pulumi up each).`,
    },
  ];
}

/** Every pool of the cluster, control plane first, with its config path. */
function poolsWithPaths(cluster: ClusterSpec): [NodePoolSpec, string][] {
  return [
    [cluster.controlPlane, "cluster.controlPlane"],
    ...cluster.workerPools.map((pool, i): [NodePoolSpec, string] => [pool, `cluster.workerPools[${i}]`]),
  ];
}

/** What the stack records of each node, for the next update to compare with. */
export interface RecordedNode {
  role: string;
  pool?: string;
  ip: string;
  /** The Proxmox node and VM id: a change replaces the VM. */
  pveNode?: string;
  vmId?: number;
  /** The VM settings whose change reboots it; absent in stacks last updated before talos-proxmox 0.2. */
  scsiHardware?: string;
  cores?: number;
  memoryMiB?: number;
  cpuType?: string;
  guestAgent?: boolean;
  /** Absent in stacks last updated before talos-proxmox 0.3. */
  datastore?: string;
  diskGiB?: number;
  cidr?: string;
  gateway?: string;
  nameservers?: string;
  bridge?: string;
  vlan?: number | null;
}

/** The VM settings the stack records per node. */
export type RecordedVm = Omit<RecordedNode, "role" | "pool" | "ip" | "pveNode" | "vmId">;

/** What a pool's VMs get, as the stack records it per node. */
export function recordedVm(pool: NodePoolSpec, cluster: ClusterSpec): RecordedVm {
  return {
    scsiHardware: pool.scsiHardware,
    cores: pool.cores,
    memoryMiB: pool.memoryMiB,
    cpuType: pool.cpuType,
    guestAgent: cluster.image.extensions.includes(QEMU_GUEST_AGENT),
    datastore: pool.datastore,
    diskGiB: pool.diskGiB,
    cidr: cluster.network.cidr,
    gateway: cluster.network.gateway,
    nameservers: cluster.network.nameservers.join(", "),
    bridge: cluster.network.bridge,
    // null, not undefined: an untagged NIC is a recorded value too.
    vlan: cluster.network.vlan ?? null,
  };
}

const REBOOTS = "which reboots every VM of the pool at once";
/** bpg v0.111.1 vm.go: any change of the initialization block sets rebootRequired (cloud-init drive). */
const CLOUD_INIT = "which rewrites every VM's cloud-init drive and reboots them all at once";
/** Settings whose change on existing VMs disrupts the whole pool at once, with where each is set. */
const DISRUPTIVE_SETTINGS: {
  key: keyof RecordedVm;
  what: string;
  at: (poolPath: string) => string;
  effect: string;
}[] = [
  { key: "cores", what: "the cores", at: (p) => `${p}.cores`, effect: REBOOTS },
  { key: "memoryMiB", what: "the memory", at: (p) => `${p}.memoryMiB`, effect: REBOOTS },
  { key: "cpuType", what: "the CPU type", at: (p) => `${p}.cpuType`, effect: REBOOTS },
  { key: "scsiHardware", what: "the SCSI controller", at: (p) => `${p}.scsiHardware`, effect: REBOOTS },
  {
    key: "guestAgent",
    what: "the guest agent (siderolabs/qemu-guest-agent)",
    at: () => "cluster.image.extensions",
    effect: REBOOTS,
  },
  {
    key: "datastore",
    what: "the storage",
    at: (p) => `${p}.datastore`,
    effect: "which moves every VM's disks and cloud-init drive and reboots them all at once",
  },
  { key: "cidr", what: "the network", at: () => "cluster.network.cidr", effect: CLOUD_INIT },
  { key: "gateway", what: "the gateway", at: () => "cluster.network.gateway", effect: CLOUD_INIT },
  {
    key: "nameservers",
    what: "the DNS servers",
    at: () => "cluster.network.nameservers",
    effect: CLOUD_INIT,
  },
  {
    key: "bridge",
    what: "the bridge",
    at: () => "cluster.network.bridge",
    effect:
      "which moves every VM's NIC at once (bpg hot-plugs it): the whole pool drops off its network together",
  },
  {
    key: "vlan",
    what: "the VLAN",
    at: () => "cluster.network.vlan",
    effect:
      "which moves every VM's NIC at once (bpg hot-plugs it): the whole pool drops off its network together",
  },
];

/** A recorded value for a message: an untagged VLAN is recorded as null. */
function shown(value: unknown): string {
  return value === null ? "untagged" : show(value);
}

/**
 * Existing VMs keep every setting whose change reboots them. bpg's VM resource reboots a VM after
 * updating its CPU (anything but vCPU hotplug), memory, agent, SCSI controller, boot order, BIOS or
 * machine (proxmoxtf/resource/vm/vm.go v0.111.1, reboot_after_update defaults to true), and Pulumi
 * updates a pool's VMs in parallel: every VM of the pool, control planes included, would go down at
 * once. Such a change is refused with the way to make it safely (or accepted once, with
 * cluster.upgrade.vmSettingsChangedByHand, when the VMs were changed by hand). Nodes recorded before 0.2 were created
 * with that release's SCSI default, virtio-scsi-single: a stack that leaves the setting to the new
 * default is refused until it names the controller its VMs have.
 */
export function checkVmSettingsKept(previousNodes: unknown, cluster: ClusterSpec): Problem[] {
  if (typeof previousNodes !== "object" || previousNodes === null) {
    return [];
  }
  const previous = previousNodes as Record<string, Partial<RecordedNode> | undefined>;
  const pools = poolsWithPaths(cluster);
  const problems: Problem[] = [];
  let changed = false;
  for (const [pool, path] of pools) {
    const existing = pool.nodes.filter((node) => previous[node.name] !== undefined).map((node) => node.name);
    if (existing.length === 0) {
      continue;
    }
    const now = recordedVm(pool, cluster);
    // A worker pool's own settings change safely through a new pool; the rest only by hand.
    const safeWay = (settingPath: string) =>
      pool !== cluster.controlPlane && settingPath.startsWith(`${path}.`)
        ? `To change it, add a pool with the new value, let its nodes join, then remove this pool.`
        : `To change it, do it one node at a time in Proxmox (talosctl -n <ip> shutdown, change the VM, ` +
          `start it, wait for talosctl health), then pulumi refresh, set the new value here with ` +
          `cluster.upgrade.vmSettingsChangedByHand: true, pulumi up, and remove that flag.`;
    for (const setting of DISRUPTIVE_SETTINGS) {
      const before = existing.map((name) => previous[name]?.[setting.key]).find((v) => v !== undefined);
      if (before !== undefined && before !== now[setting.key]) {
        changed = true;
        if (cluster.upgrade.vmSettingsChangedByHand) {
          continue;
        }
        problems.push({
          path: setting.at(path),
          message:
            `would change ${setting.what} of the VMs ${existing.join(", ")} from ${shown(before)} to ` +
            `${shown(now[setting.key])}, ${setting.effect}. Keep ${shown(before)}. ${safeWay(setting.at(path))}`,
        });
      }
    }
    const disk = existing.map((name) => previous[name]?.diskGiB).find((v) => v !== undefined);
    if (disk !== undefined && pool.diskGiB < disk) {
      problems.push({
        path: `${path}.diskGiB`,
        message:
          `would shrink the disks of ${existing.join(", ")} from ${disk} to ${pool.diskGiB} GiB, which Proxmox ` +
          `cannot do (bpg v0.111.1 vm.go: "Cannot shrink"): the update would fail halfway. Keep ${disk} or ` +
          `grow it (a larger disk is resized online).`,
      });
    }
    const poolName = pool === cluster.controlPlane ? undefined : (pool as WorkerPoolSpec).name;
    pool.nodes.forEach((node, i) => {
      problems.push(...checkVmKept(node, poolName, previous[node.name], `${path}.nodes[${i}]`));
    });
    const scsiRecorded = existing.some((name) => previous[name]?.scsiHardware !== undefined);
    if (!scsiRecorded && !pool.scsiHardwareSet) {
      problems.push({
        path: `${path}.scsiHardware`,
        message:
          `is not set, and its default is now ${show(DEFAULT_SCSI_HARDWARE)} (Sidero's Talos 1.13 Proxmox guide), ` +
          `but ${existing.join(", ")} were created with the earlier default ${show(PREVIOUS_DEFAULT_SCSI_HARDWARE)}; ` +
          `switching would reboot them all at once. Set scsiHardware: ${PREVIOUS_DEFAULT_SCSI_HARDWARE} to keep them.`,
      });
    }
  }
  if (cluster.upgrade.vmSettingsChangedByHand && !changed) {
    problems.push({
      path: "cluster.upgrade.vmSettingsChangedByHand",
      message:
        `is true, but no VM setting differs from what the last update recorded. Remove it: left on, it ` +
        `would let a later change reboot a whole pool at once.`,
    });
  }
  return problems;
}

/**
 * A node keeps its Proxmox node and VM id. bpg forces a new VM when node_name (without migrate) or
 * vm_id changes (proxmoxtf/resource/vm/vm.go v0.111.1, CustomizeDiff ForceNewIf), and Pulumi creates
 * the new VM before deleting the old one: with the same VM id and IP, which Proxmox refuses, and a new
 * VM that boots into maintenance mode that no config apply would ever see. The safe way is two updates.
 */
function checkVmKept(
  node: NodeSpec,
  pool: string | undefined,
  previous: Partial<RecordedNode> | undefined,
  path: string,
): Problem[] {
  if (previous === undefined) {
    return [];
  }
  const steps =
    `Remove ${node.name} from the stack and pulumi up (it is drained, and leaves etcd, before its VM goes), ` +
    `then add it back with the new value and pulumi up.`;
  const problems: Problem[] = [];
  const where = (role?: string, name?: string) =>
    role === "controlplane" ? "the control plane" : `worker pool ${show(name)}`;
  if (previous.role !== (pool === undefined ? "controlplane" : "worker") || previous.pool !== pool) {
    problems.push({
      path: `${path}.name`,
      message:
        `would move ${node.name} from ${where(previous.role, previous.pool)} to ` +
        `${where(pool === undefined ? "controlplane" : "worker", pool)}. Its resources are named after their pool, so ` +
        `Pulumi would create a second VM with the same name, id and IP before removing the first. ${steps}`,
    });
    return problems;
  }
  if (previous.ip !== undefined && previous.ip !== node.ip) {
    problems.push({
      path: `${path}.ip`,
      message:
        `would change the address of ${node.name} from ${show(previous.ip)} to ${show(node.ip)}: its cloud-init ` +
        `drive (a reboot), its etcd and kubelet addresses and the control-plane endpoints all hold it. ${steps}`,
    });
  }
  if (previous.pveNode !== undefined && previous.pveNode !== node.pveNode) {
    problems.push({
      path: `${path}.pveNode`,
      message:
        `would move ${node.name} from Proxmox node ${show(previous.pveNode)} to ${show(node.pveNode)}, which ` +
        `replaces its VM: Pulumi would create the new VM before deleting the old one, with the same id and IP. ${steps}`,
    });
  }
  if (node.vmId !== undefined && previous.vmId !== undefined && previous.vmId !== node.vmId) {
    problems.push({
      path: `${path}.vmId`,
      message:
        `would change the VM id of ${node.name} from ${previous.vmId} to ${node.vmId}, which replaces its VM: ` +
        `Pulumi would create the new VM before deleting the old one, with the same IP. ${steps}`,
    });
  }
  return problems;
}

/** What the stack records of the cluster itself, for the next update to compare with. */
export interface RecordedCluster {
  name: string;
  cni: string;
  vip: string;
  vipProvider: string;
}

export function recordedCluster(cluster: ClusterSpec): RecordedCluster {
  return { name: cluster.name, cni: cluster.cni, vip: cluster.vip.ip, vipProvider: cluster.vip.provider };
}

/**
 * A running cluster keeps its name, CNI and API address. `previous` is the stack's `cluster` output
 * from its last update, `previousEndpoint` its `endpoint` output (which stacks updated before
 * talos-proxmox 0.3 already have).
 */
export function checkClusterKept(
  previous: unknown,
  previousEndpoint: unknown,
  cluster: ClusterSpec,
): Problem[] {
  const recorded = (
    typeof previous === "object" && previous !== null ? previous : {}
  ) as Partial<RecordedCluster>;
  const problems: Problem[] = [];
  if (recorded.name !== undefined && recorded.name !== cluster.name) {
    problems.push({
      path: "cluster.name",
      message:
        `would rename the running cluster ${show(recorded.name)} to ${show(cluster.name)}. Every resource is ` +
        `named after it, so Pulumi would build a new cluster and delete this one. Keep ${show(recorded.name)}; ` +
        `for a second cluster, make a new stack.`,
    });
  }
  if (recorded.cni !== undefined && recorded.cni !== cluster.cni) {
    problems.push({
      path: "cluster.cni",
      message:
        `would switch the running cluster from ${show(recorded.cni)} to ${show(cluster.cni)}. Talos never ` +
        `deletes what it deployed (the old CNI, kube-proxy: controllers/k8s/manifest_apply.go only creates), ` +
        `so both would run at once. Keep ${show(recorded.cni)}; to switch, build a new cluster and move the workloads.`,
    });
  }
  if (recorded.vipProvider !== undefined && recorded.vipProvider !== cluster.vip.provider) {
    problems.push({
      path: "cluster.vip.provider",
      message:
        `would hand the API address of the running cluster from ${show(recorded.vipProvider)} to ` +
        `${show(cluster.vip.provider)}. kube-vip's kubeconfig is a machine.files entry, which Talos applies only ` +
        `at a reboot (v1.13.9 CanApplyImmediate), so the control planes would switch one reboot at a time, ` +
        `some holding the address through Talos and others through kube-vip meanwhile. Keep ` +
        `${show(recorded.vipProvider)}.`,
    });
  }
  const endpointVip =
    typeof previousEndpoint === "string"
      ? /^https:\/\/([^:/]+):6443$/.exec(previousEndpoint)?.[1]
      : undefined;
  const vip = recorded.vip ?? endpointVip;
  if (vip !== undefined && vip !== cluster.vip.ip) {
    problems.push({
      path: "cluster.vip.ip",
      message:
        `would move the API address of the running cluster from ${show(vip)} to ${show(cluster.vip.ip)}. Every ` +
        `node's config, the API server certificate and every kubeconfig name it. Keep ${show(vip)}.`,
    });
  }
  return problems;
}

/**
 * A node new to the stack takes neither the address nor the VM id of a node the last update recorded
 * under another name (a rename, say). That node goes in the same update, but Pulumi creates before it
 * deletes: Proxmox would refuse the id, and two VMs would claim the address.
 */
export function checkNodesNotReused(previousNodes: unknown, cluster: ClusterSpec): Problem[] {
  if (typeof previousNodes !== "object" || previousNodes === null) {
    return [];
  }
  const previous = Object.entries(previousNodes as Record<string, Partial<RecordedNode> | undefined>);
  const problems: Problem[] = [];
  const pools = poolsWithPaths(cluster);
  for (const [pool, path] of pools) {
    pool.nodes.forEach((node, i) => {
      if (previous.some(([name]) => name === node.name)) {
        return;
      }
      const holder = previous.find(
        ([, old]) => old?.ip === node.ip || (node.vmId !== undefined && old?.vmId === node.vmId),
      );
      if (holder) {
        const [name, old] = holder;
        const what = old?.ip === node.ip ? `the address ${show(node.ip)}` : `the VM id ${String(node.vmId)}`;
        problems.push({
          path: `${path}.nodes[${i}].name`,
          message:
            `${show(node.name)} is new but takes ${what} of ${show(name)}, which the last update recorded. ` +
            `Pulumi creates the new VM before it deletes the old one. Remove ${name} first (pulumi up), then add ` +
            `${node.name} (another pulumi up).`,
        });
      }
    });
  }
  return problems;
}
