import * as pulumi from "@pulumi/pulumi";
import { blockOf, isUsableHost, parseIPv4 } from "./internal/ipv4";
import { DEFAULT_KUBE_VIP_VERSION } from "./internal/kube-vip-manifests";
import { Cni, kubeVipIdentityPatch, nodePatches, renderPatch } from "./internal/machine-config";
import { checkOwnedSettings, PatchContext } from "./internal/config-patches";
import { checkNodeInterface } from "./internal/network-rules";
import { ClusterMembers, JoiningPool } from "./internal/cluster-members";
import { checkImageTag, Problem, show, throwIfProblems } from "./internal/validation";
import {
  checkConfigContract,
  checkKubernetesSupported,
  checkKubernetesVersion,
  checkTalosVersion,
  talosMinor,
} from "./internal/versions";
import { healthGate, leavingReason } from "./health";
import { checkRollSettings, ClusterUpgrade, UpgradeOrder } from "./cluster-upgrade";
import { checkNodePool, createPoolNodes, NodeLifecycle, NodePoolArgs, PoolNode } from "./node-pool";
import * as talos from "./talos";
import { ClientConfiguration } from "./talos/provider";

export interface ControlPlaneArgs extends NodePoolArgs {
  /** Cluster name (DNS label): Talos cluster name, kubeconfig context, Proxmox tag. */
  clusterName: string;
  /** Talos version the nodes install, a v1.13 or v1.14 release such as `"v1.14.1"`. */
  talosVersion: string;
  /**
   * The machine-config contract the configs are rendered with (`"v1.13"`, `"v1.14"`): never ahead of a
   * minor any node runs. TalosCluster passes the minor every node ran at the last update, so a minor
   * upgrade moves it in the update after the roll.
   * @default the contract the cluster was created with (the minor of its first talosVersion)
   */
  configContract?: string;
  /** Kubernetes version, e.g. `"1.36.1"`; must be one the Talos minor supports. */
  kubernetesVersion: string;
  /**
   * The API address, a free IP of the node network. The cluster endpoint is `https://<vip>:6443`; it is
   * in the API server certificate, and Talos holds it on one control plane at a time.
   */
  vip: string;
  /**
   * Who holds the VIP: `talos` (Talos's native Layer2VIPConfig) or `kube-vip` (a static pod on every
   * control plane, from the machine config, so it works before the API is reachable through the VIP).
   * Exactly one of them: never both.
   * @default "talos"
   */
  vipProvider?: VipProvider;
  /** kube-vip image tag, when it holds the VIP. @default "v1.2.3" */
  kubeVipVersion?: string;
  /**
   * Interface kube-vip announces the VIP on. Unset, kube-vip takes the interface of the default route
   * (the VM's only NIC); check it with `talosctl get links`.
   * @default the interface of the default route
   */
  kubeVipInterface?: string;
  /**
   * Control planes take workloads: Talos registers them without the `node-role.kubernetes.io/control-plane`
   * NoSchedule taint. Needed when the cluster has no workers, or Hubble, kube-vip's cloud provider and
   * every user workload stay Pending.
   * @default false
   */
  allowSchedulingOnControlPlanes?: boolean;
  /**
   * `cilium`: Talos deploys no CNI and no kube-proxy, and a CiliumCni must follow. `flannel`: Talos's
   * defaults.
   * @default "cilium"
   */
  cni?: Cni;
  /**
   * Talos forwards kube-dns queries to its host DNS (Talos's default). Turn off when Cilium masquerades
   * in eBPF (`bpf.masquerade`), which breaks CoreDNS otherwise. Applies to every node of the cluster.
   * @default true
   */
  forwardKubeDnsToHost?: boolean;
  /**
   * Guards the cluster secrets and the control-plane VMs against deletion (Pulumi's `protect` on those
   * resources, and Proxmox's protection flag on the VMs). `opts.protect` would guard only the component.
   * @default false
   */
  deletionProtection?: boolean;
  /** How version changes roll through the cluster. @default { order: "workers-first", maxParallelWorkers: 1 } */
  upgrade?: {
    /** Which role rolls first. @default "workers-first" */
    order?: UpgradeOrder;
    /** Workers upgraded at the same time; control planes always go one by one. @default 1 */
    maxParallelWorkers?: number;
    /** How long one node's upgrade may take (Go duration). @default "30m" */
    upgradeTimeout?: string;
    /** How long the health gate after a node may wait (Go duration). @default "20m" */
    healthTimeout?: string;
  };
  /**
   * The whole cluster is going (`pulumi destroy` next): node removal skips the drain and the etcd
   * leave, which a cluster that loses every node at once cannot do. Set it, `pulumi up`, then destroy.
   * @default false
   */
  teardown?: boolean;
  /**
   * Nodes of the cluster (control planes or workers) that this update removes. Each leaves etcd and
   * Kubernetes only when Pulumi deletes it, after the program has run, and Talos's health checks want
   * etcd's members and the Kubernetes nodes to be exactly the listed nodes (talos v1.14.1
   * pkg/cluster/check/etcd.go EtcdControlPlaneNodesAssertion, kubernetes.go K8sAllNodesReportedAssertion),
   * so with any the health gate would fail until its timeout: it is skipped in such an update. Each
   * removal checks the cluster's health itself first. TalosCluster sets it from its last update.
   * @default []
   */
  nodesLeaving?: string[];
}

export type VipProvider = "talos" | "kube-vip";

/** What a WorkerPool needs from the cluster it joins. None of it waits for bootstrap. */
export interface ClusterJoinInfo extends NodeLifecycle {
  /**
   * Checks a pool joining the cluster against it (unique names, addresses and VM ids, one network,
   * the VIP free, the cluster's Talos version, Longhorn's extensions), with paths relative to the pool's
   * args, and records its nodes when it fits.
   */
  join(owner: string, pool: JoiningPool): Problem[];
  /** The Kubernetes version the cluster runs: resolves after any roll, and configs follow it. */
  readonly kubernetesVersion: pulumi.Output<string>;
  /** The machine-config contract the configs are rendered with (e.g. "v1.14"): the minor every node ran at the last update. */
  readonly configContract: pulumi.Output<string>;
  /** The CNI the configs set up: `cilium` (CNI none, kube-proxy off) or `flannel`. */
  readonly cni: Cni;
  /** Whether Talos forwards kube-dns to its host DNS (off when Cilium masquerades in eBPF). */
  readonly forwardKubeDnsToHost: boolean;
  /** `https://<vip>:6443` */
  readonly endpoint: pulumi.Output<string>;
  /** The cluster's CAs, keys and tokens (secret): what worker configs are rendered from. */
  readonly machineSecrets: pulumi.Output<talos.machine.MachineSecrets>;
  /** Talos API client credentials (secret). */
  readonly clientConfiguration: pulumi.Output<ClientConfiguration>;
}

/**
 * What CiliumCni and KubeVip take from the cluster they run in: the node network and the addresses it
 * holds (their Service ranges must lie in the one and take none of the others), and Talos's kube-dns
 * forwarding (Cilium's eBPF masquerading needs it off).
 */
export interface ClusterAddresses {
  /** Whether Talos forwards kube-dns to its host DNS on the nodes. */
  readonly forwardKubeDnsToHost: boolean;
  /**
   * The node network (`"192.168.10.0/24"`, when known) and every address the cluster holds at the call:
   * the nodes of the pools that joined so far, the VIP and the gateway. Create add-ons after the pools.
   */
  addresses(): { network?: string; inUse: { ip: string; owner: string }[] };
}

/** How long bootstrap and the health gate may take on a fresh cluster. */
const BOOTSTRAP_TIMEOUT = "20m";
const HEALTH_TIMEOUT = "20m";

/**
 * The cluster's identity and its control plane, the way `talosctl gen secrets / gen config /
 * apply-config / bootstrap / kubeconfig` does it, ordered by data: secrets, the cluster's rolling
 * upgrade (a no-op on creation), then per node a VM and a config apply (in parallel), one etcd
 * bootstrap on the first node once its config is in, the kubeconfig after bootstrap, and a health
 * gate (Talos, etcd, kubelet; Kubernetes checks wait for the CNI) before `kubeconfig` resolves.
 */
export class ControlPlane extends pulumi.ComponentResource implements ClusterJoinInfo, ClusterAddresses {
  static readonly TYPE = "talos-proxmox:index:ControlPlane";

  /** Admin kubeconfig (secret); resolves once the control plane is bootstrapped and healthy. */
  public readonly kubeconfig: pulumi.Output<string>;
  /** talosconfig for `talosctl` (secret), with the node IPs as endpoints, never the VIP. */
  public readonly talosconfig: pulumi.Output<string>;
  /** `https://<vip>:6443` */
  public readonly endpoint: pulumi.Output<string>;
  /** The control-plane node IPs, bootstrap node first. */
  public readonly nodeIps: pulumi.Output<string[]>;
  /** The cluster's CAs, keys and tokens (secret): what a WorkerPool's configs are rendered from. */
  public readonly machineSecrets: pulumi.Output<talos.machine.MachineSecrets>;
  /** Talos API client credentials (secret): CA, client certificate and key. */
  public readonly clientConfiguration: pulumi.Output<ClientConfiguration>;
  /** The cluster name: Talos cluster name, kubeconfig context, Proxmox tag. */
  public readonly clusterName: string;
  /** The Talos version the nodes run, e.g. "v1.14.1". */
  public readonly talosVersion: string;
  /** The Kubernetes version the cluster runs: resolves after any roll, and configs follow it. */
  public readonly kubernetesVersion: pulumi.Output<string>;
  /** The machine-config contract (e.g. "v1.14") the configs are rendered with. */
  public readonly configContract: pulumi.Output<string>;
  /** Control-plane node IPs: the Talos API endpoints of talosconfig and the commands (never the VIP). */
  public readonly controlPlaneEndpoints: readonly string[];
  /** The rolling-upgrade command: config applies wait for it, so they never run ahead of an upgrade. */
  public readonly rollout: pulumi.Resource;
  /** The whole cluster is going: removing a node skips the drain and the etcd leave. */
  public readonly teardown: boolean;
  /** The CNI the configs set up: `cilium` (CNI none, kube-proxy off, installed by CiliumCni) or `flannel`. */
  public readonly cni: Cni;
  /** Whether Talos forwards kube-dns to its host DNS (off when Cilium masquerades in eBPF). */
  public readonly forwardKubeDnsToHost: boolean;
  /** Who holds the VIP. */
  public readonly vipProvider: VipProvider;
  /** What a joining worker pool's patches may not set. */
  private readonly workerPatches: PatchContext;
  /** The nodes, with their VMs and config applies. */
  public readonly nodes: readonly PoolNode[];
  private readonly members: ClusterMembers;

  constructor(name: string, args: ControlPlaneArgs, opts?: pulumi.ComponentResourceOptions) {
    const cni = args.cni ?? "cilium";
    const protect = args.deletionProtection ?? false;
    const vipProvider = args.vipProvider ?? "talos";
    const forwardKubeDnsToHost = args.forwardKubeDnsToHost ?? true;
    throwIfProblems(`ControlPlane "${name}"`, validateControlPlaneArgs(args));
    super(ControlPlane.TYPE, name, {}, opts);
    this.members = new ClusterMembers(
      args.talosVersion,
      args.vip,
      args.gateway,
      args.nodes[0]?.ip,
      args.prefixLength,
    );
    this.members.add(`ControlPlane "${name}"`, args);
    const endpoint = `https://${args.vip}:6443`;
    const ips = args.nodes.map((n) => n.ip);

    // Generated once and kept in state. The contract is fixed at creation (ignoreChanges): a Talos
    // upgrade must never regenerate the cluster's CAs and tokens, and configs keep that contract.
    const secrets = new talos.machine.Secrets(
      `${name}-secrets`,
      { talosVersion: talosMinor(args.talosVersion) },
      { parent: this, protect, ignoreChanges: ["talosVersion"] },
    );
    this.talosconfig = talos.client.getConfigurationOutput(
      {
        clusterName: args.clusterName,
        clientConfiguration: secrets.clientConfiguration,
        endpoints: ips,
        nodes: ips,
      },
      { parent: this },
    ).talosConfig;
    const upgrade = new ClusterUpgrade(
      `${name}-upgrade`,
      {
        clusterName: args.clusterName,
        talosVersion: args.talosVersion,
        kubernetesVersion: args.kubernetesVersion,
        image: args.image,
        controlPlaneEndpoints: ips,
        talosconfig: this.talosconfig,
        order: args.upgrade?.order,
        maxParallelWorkers: args.upgrade?.maxParallelWorkers,
        upgradeTimeout: args.upgrade?.upgradeTimeout,
        healthTimeout: args.upgrade?.healthTimeout,
        cni,
      },
      { parent: this },
    );
    this.clusterName = args.clusterName;
    this.talosVersion = args.talosVersion;
    this.kubernetesVersion = upgrade.kubernetesVersion;
    this.configContract =
      args.configContract !== undefined ? pulumi.output(args.configContract) : secrets.talosVersion;
    this.controlPlaneEndpoints = ips;
    this.rollout = upgrade.rollout;
    this.teardown = args.teardown ?? false;
    this.clientConfiguration = secrets.clientConfiguration;
    this.machineSecrets = secrets.machineSecrets;

    const config = talos.machine.getConfigurationOutput(
      {
        clusterName: args.clusterName,
        clusterEndpoint: endpoint,
        machineSecrets: secrets.machineSecrets,
        machineType: "controlplane",
        talosVersion: this.configContract,
        kubernetesVersion: this.kubernetesVersion,
        docs: false,
        examples: false,
      },
      { parent: this },
    );

    const nodes = createPoolNodes(this, name, {
      role: "controlplane",
      args,
      cluster: this,
      machineConfiguration: config.machineConfiguration,
      protect,
      patchesFor: (node) =>
        nodePatches({
          role: "controlplane",
          hostname: node.name,
          ip: node.ip,
          cni,
          allowSchedulingOnControlPlanes: args.allowSchedulingOnControlPlanes,
          forwardKubeDnsToHost,
          apiServerCertSans: [args.vip],
          ...(vipProvider === "talos"
            ? { talosVip: args.vip }
            : {
                kubeVip: {
                  version: args.kubeVipVersion ?? DEFAULT_KUBE_VIP_VERSION,
                  vip: args.vip,
                  iface: args.kubeVipInterface,
                },
              }),
        }),
      // kube-vip's identity carries its token: that patch stays secret.
      secretPatches:
        vipProvider === "kube-vip"
          ? [
              pulumi.secret(
                secrets.machineSecrets.apply((ms) =>
                  renderPatch(kubeVipIdentityPatch(ms.certs.k8s.cert, ms.cluster.secret)),
                ),
              ),
            ]
          : [],
    });
    const first = nodes[0];

    // Exactly one bootstrap, on the first node, once its config is applied. It never runs again.
    const bootstrap = new talos.machine.Bootstrap(
      `${name}-bootstrap`,
      {
        node: first.ip,
        clientConfiguration: secrets.clientConfiguration,
        timeouts: { create: BOOTSTRAP_TIMEOUT },
      },
      { parent: this, dependsOn: [first.apply] },
    );
    const kubeconfig = new talos.cluster.Kubeconfig(
      `${name}-kubeconfig`,
      { node: first.ip, clientConfiguration: secrets.clientConfiguration },
      { parent: this, dependsOn: [bootstrap] },
    );
    // Nodes stay NotReady until the CNI runs, so Kubernetes checks belong after it; here: Talos up on
    // every control plane, etcd healthy with all members, kubelets running.
    const healthy = healthGate(
      {
        clientConfiguration: secrets.clientConfiguration,
        controlPlaneNodes: ips,
        kubernetes: false,
        timeout: HEALTH_TIMEOUT,
        skippedBecause: leavingReason(args.nodesLeaving),
      },
      { parent: this, dependsOn: [bootstrap, ...nodes.map((n) => n.apply)] },
    );

    this.kubeconfig = pulumi.secret(pulumi.all([kubeconfig.kubeconfigRaw, healthy]).apply(([raw]) => raw));
    this.endpoint = pulumi.output(endpoint);
    this.nodeIps = pulumi.output(ips);
    this.cni = cni;
    this.forwardKubeDnsToHost = forwardKubeDnsToHost;
    this.vipProvider = vipProvider;
    this.workerPatches = {
      role: "worker",
      cni,
      vip: { ip: args.vip, provider: vipProvider },
      hasWorkers: true,
    };
    this.nodes = nodes;
    this.registerOutputs({
      kubeconfig: this.kubeconfig,
      talosconfig: this.talosconfig,
      endpoint: this.endpoint,
      nodeIps: this.nodeIps,
    });
  }

  /** See {@link ClusterAddresses.addresses}: CiliumCni and KubeVip check their ranges against it. */
  addresses(): { network?: string; inUse: { ip: string; owner: string }[] } {
    return { network: this.members.network(), inUse: this.members.addressesInUse() };
  }

  /** See {@link ClusterJoinInfo.join}: a WorkerPool calls it before it creates anything. */
  join(owner: string, pool: JoiningPool): Problem[] {
    const problems = [
      ...this.members.check(pool),
      ...checkOwnedSettings(pool.configPatches ?? [], "args.configPatches", this.workerPatches),
    ];
    if (problems.length === 0) {
      this.members.add(owner, pool);
    }
    return problems;
  }
}

function validateControlPlaneArgs(args: ControlPlaneArgs): Problem[] {
  const problems: Problem[] = [
    ...checkVipProvider(args),
    ...checkRollSettings(
      {
        ...args.upgrade,
        timeouts: {
          upgradeTimeout: args.upgrade?.upgradeTimeout,
          healthTimeout: args.upgrade?.healthTimeout,
        },
      },
      "args.upgrade",
    ),
    ...checkNodePool("controlplane", args),
    ...checkOwnedSettings(args.configPatches ?? [], "args.configPatches", {
      role: "controlplane",
      cni: args.cni ?? "cilium",
      vip: { ip: args.vip, provider: args.vipProvider ?? "talos" },
      hasWorkers: !(args.allowSchedulingOnControlPlanes ?? false),
    }),
    ...checkTalosVersion(args.talosVersion, "args.talosVersion"),
    ...checkKubernetesVersion(args.kubernetesVersion, "args.kubernetesVersion"),
  ];
  if (problems.length === 0) {
    problems.push(
      ...checkKubernetesSupported(args.talosVersion, args.kubernetesVersion, "args.kubernetesVersion"),
      ...(args.configContract !== undefined
        ? checkConfigContract(args.configContract, args.talosVersion, "args.configContract")
        : []),
    );
  }
  if (args.image.talosVersion !== args.talosVersion) {
    problems.push({
      path: "args.image",
      message: `is an image of Talos ${args.image.talosVersion}, but args.talosVersion is ${args.talosVersion}. Use one version.`,
    });
  }
  if (args.deletionProtection && args.nodes.length < 3) {
    problems.push({
      path: "args.nodes",
      message:
        `has ${args.nodes.length} node(s); deletionProtection is on, which needs at least 3 control-plane nodes, so etcd ` +
        `keeps quorum when one fails. Add nodes, ideally on different Proxmox nodes.`,
    });
  }
  if (args.nodes.length === 0) {
    problems.push({
      path: "args.nodes",
      message: "is empty. A cluster needs 1, 3 or 5 control-plane nodes.",
    });
  } else if (args.nodes.length % 2 === 0) {
    problems.push({
      path: "args.nodes",
      message: `has ${args.nodes.length} nodes; etcd needs an odd number to keep quorum (1, 3 or 5). Add or remove one.`,
    });
  }
  const vip = parseIPv4(args.vip);
  const firstIp = args.nodes.length > 0 ? parseIPv4(args.nodes[0].ip) : undefined;
  if (vip === undefined) {
    problems.push({
      path: "args.vip",
      message: `${show(args.vip)} is not an IPv4 address. Use a free address of the node network.`,
    });
  } else if (args.nodes.some((n) => parseIPv4(n.ip) === vip)) {
    problems.push({
      path: "args.vip",
      message: `${show(args.vip)} is a node's address; the VIP needs an address of its own.`,
    });
  } else if (
    firstIp !== undefined &&
    Number.isInteger(args.prefixLength) &&
    !isUsableHost(blockOf(firstIp, args.prefixLength), vip)
  ) {
    problems.push({
      path: "args.vip",
      message: `${show(args.vip)} is outside the node network: a layer-2 VIP must share it.`,
    });
  }
  return problems;
}

function checkVipProvider(args: ControlPlaneArgs): Problem[] {
  const provider = args.vipProvider ?? "talos";
  if (provider !== "talos" && provider !== "kube-vip") {
    return [
      { path: "args.vipProvider", message: `${show(provider)} is not supported. Use "talos" or "kube-vip".` },
    ];
  }
  const problems: Problem[] = [];
  if (provider === "talos" && (args.kubeVipVersion !== undefined || args.kubeVipInterface !== undefined)) {
    problems.push({
      path: "args.vipProvider",
      message: `is "talos" but kube-vip settings are given: the Talos VIP and kube-vip's control-plane mode exclude each other. Drop them, or set vipProvider to "kube-vip".`,
    });
  }
  if (args.kubeVipVersion !== undefined) {
    problems.push(...checkImageTag(args.kubeVipVersion, "args.kubeVipVersion"));
  }
  if (args.kubeVipInterface !== undefined) {
    problems.push(...checkNodeInterface(args.kubeVipInterface, "args.kubeVipInterface"));
  }
  return problems;
}
