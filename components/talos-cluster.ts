/**
 * One Talos cluster on Proxmox VE from one description: the image, the control plane, the worker
 * pools, the Kubernetes provider, Cilium, kube-vip, the health gates and the config roll, in the order
 * of the Talos guide. The description is a stack's `talos-proxmox:cluster` config, typed: the reference
 * program reads that and passes it here, so the two share every rule and every message.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CiliumCni } from "./cilium-cni";
import { UpgradeOrder } from "./cluster-upgrade";
import { configRoll } from "./config-roll";
import { ControlPlane, VipProvider } from "./control-plane";
import { healthGate, kubernetesReady, leavingReason } from "./health";
import { ClusterSpec, NodePoolSpec, poolsWithPaths, readClusterArgs } from "./internal/cluster-args";
import {
  checkLastUpdate,
  configContractOf,
  LastUpdate,
  RecordedCluster,
  recordedCluster,
  RecordedNode,
  recordedNodes,
  recordOfAttempt,
  removedNodes,
} from "./internal/last-update";
import { credentialsIn, patchText } from "./internal/config-patches";
import { Cni } from "./internal/machine-config";
import { Problem, ValidationError } from "./internal/validation";
import { clusterWarnings } from "./internal/warnings";
import { KubeVip } from "./kube-vip";
import { PoolNode, PoolNodeArgs } from "./node-pool";
import { TalosImage } from "./talos-image";
import { VmShapeArgs } from "./talos-vm";
import { WorkerPool } from "./worker-pool";

export type { LastUpdate };

/** A pool's VM shape, as the building blocks take it, and its nodes. */
export interface TalosClusterPoolArgs extends Pick<
  VmShapeArgs,
  "cores" | "memoryMiB" | "diskGiB" | "cpuType" | "datastore" | "scsiHardware"
> {
  /** The pool's nodes, each with its own name, Proxmox node and address. */
  nodes: PoolNodeArgs[];
  /**
   * Machine-config patches for every node of the pool, after the library's own: mappings (strategic
   * merge) or YAML strings (multi-document allowed, or RFC 6902 JSON patches). Refused: fields Talos
   * v1.13 deprecates, and what the library sets from this description (the hostname, the install disk,
   * the node address, the CNI under Cilium, the VIP...: the message names the setting to use). A patch
   * holding credentials (a RegistryAuthConfig password, ...) is passed on as a secret. @default []
   */
  configPatches?: (string | Record<string, unknown>)[];
}

export interface TalosClusterWorkerPoolArgs extends TalosClusterPoolArgs {
  /** Pool name (DNS label), unique in the cluster; its resources are named after it. */
  name: string;
  /** Kubernetes labels of every node of the pool. @default {} */
  labels?: Record<string, string>;
  /** Kubernetes taints of every node of the pool, in Talos form `key: "value:Effect"`. @default {} */
  taints?: Record<string, string>;
}

export interface TalosClusterArgs {
  /**
   * Cluster name (DNS label): Talos cluster name, kubeconfig context, Proxmox tag, and the prefix of
   * every child resource's name. The component's own resource name (the constructor's `name`) names the
   * component only; the two may differ (the stack program passes this one for both). A running cluster
   * keeps this one: changing it would rebuild the cluster, and the last update's record refuses it.
   */
  name: string;
  /**
   * Talos version, a v1.13 or v1.14 release such as `"v1.14.1"`. A change rolls through the nodes one by
   * one; a v1.13 cluster moves to v1.14 that way too (one minor per update, with talosctl of the new minor).
   */
  talosVersion: string;
  /** Kubernetes version the Talos minor supports, e.g. `"1.36.1"`. A change rolls the control plane. */
  kubernetesVersion: string;
  /** The node network: every node's address, the gateway and the VIP are in it. */
  network: {
    /** The network address and prefix, e.g. `"192.168.10.0/24"`. */
    cidr: string;
    /** The router's address inside `cidr`. */
    gateway: string;
    /** DNS servers of every node (IP addresses), through cloud-init: at least one. */
    nameservers: string[];
    /** The Proxmox bridge of every NIC. @default "vmbr0" */
    bridge?: string;
    /** VLAN tag of the NICs. @default untagged */
    vlan?: number;
  };
  /** The API address: `https://<ip>:6443`, held by Talos (default) or kube-vip on one control plane. */
  vip: {
    /** A free address of the node network, neither a node's nor the gateway's. */
    ip: string;
    /** Who holds it: `talos` (Talos's Layer2 VIP) or `kube-vip` (a static pod). @default "talos" */
    provider?: VipProvider;
  };
  /** The Image Factory image. @default the default extensions, ISO on "local" */
  image?: {
    /** System extensions. @default qemu-guest-agent, iscsi-tools, util-linux-tools */
    extensions?: string[];
    /** Proxmox storage for the ISO (content type iso). @default "local" */
    datastore?: string;
    /** The ISO storage is shared between Proxmox nodes: download it once. @default false */
    sharedDatastore?: boolean;
  };
  /** `cilium` (Talos runs no CNI and no kube-proxy; Cilium replaces both) or `flannel`. @default "cilium" */
  cni?: Cni;
  /** 1, 3 or 5 nodes. */
  controlPlane: TalosClusterPoolArgs;
  /** Named pools of workers, each of one size. @default [] (the control planes take workloads) */
  workerPools?: TalosClusterWorkerPoolArgs[];
  /** Longhorn readiness. @default { enabled: false } */
  longhorn?: {
    /** Prepare the workers for Longhorn (the image needs iscsi-tools and util-linux-tools). @default false */
    enabled?: boolean;
  };
  /** Cilium's settings, with `cni: cilium`. @default the defaults below */
  cilium?: {
    /** Chart version. @default "1.18.6" */
    version?: string;
    /** Hubble relay and UI. @default false */
    hubble?: boolean;
    /** `bpf.hostLegacyRouting` (cilium/cilium#36852). @default true */
    hostLegacyRouting?: boolean;
    /** Cilium owns Service LoadBalancer IPs. @default { enabled: false } */
    l2Announcements?: {
      /** L2 announcements (ARP) of an LB-IPAM pool. @default false */
      enabled?: boolean;
      /** The pool's ranges (`a.b.c.d-a.b.c.e` or CIDRs) inside the node network. @default [] */
      ranges?: string[];
    };
    /** Extra Helm values, merged over the Talos values. @default {} */
    values?: Record<string, unknown>;
  };
  /** kube-vip's settings. @default { enabled: false } */
  kubeVip?: {
    /** kube-vip owns Service LoadBalancer IPs (services mode DaemonSet and cloud provider). @default false */
    enabled?: boolean;
    /** kube-vip image tag (also of the control-plane static pod when `vip.provider` is kube-vip). @default "v1.2.3" */
    version?: string;
    /** kube-vip-cloud-provider image tag. @default "v0.0.12" */
    cloudProviderVersion?: string;
    /** Interface the VIPs are announced on. @default the interface of the default route */
    interface?: string;
    /** A list (every namespace), or `global` and namespace names to lists. @default [] */
    serviceRanges?: string[] | Record<string, string[]>;
  };
  /** How version and config changes roll through the nodes. @default the defaults below */
  upgrade?: {
    /** Which role rolls first. @default "workers-first" */
    order?: UpgradeOrder;
    /** Workers upgraded or rebooted at once; control planes always go one by one. @default 1 */
    maxParallelWorkers?: number;
    /** The VMs' settings were changed by hand, node by node: accept the new values once. @default false */
    vmSettingsChangedByHand?: boolean;
  };
  /** The whole cluster goes next: node removal skips drains and etcd leaves. @default false */
  teardown?: boolean;
  /**
   * Guards the cluster secrets and the control-plane VMs against deletion (Pulumi's `protect` on those
   * resources only; `opts.protect` would guard the components, not what they create). @default false
   */
  deletionProtection?: boolean;
  /** The control plane must survive a node failure: at least 3 control-plane nodes. @default false */
  highAvailability?: boolean;
  /**
   * What the last update recorded ({@link readLastUpdate}): changes a running cluster cannot take are
   * refused. Given, the constructor also writes the stack outputs `nodes`, `cluster` and `endpoint` at
   * once, before it creates anything: what this update may leave behind (every node recorded so far, and
   * every node it adds). A failed update keeps them, so the next one is still refused what the running
   * cluster cannot take; the program's own outputs replace them when the update succeeds. Pass the
   * awaited record (`await readLastUpdate()`, empty for a new stack), never the Promise: a Promise is
   * refused. Left out, nothing is compared, and the constructor warns. @default none
   */
  lastUpdate?: LastUpdate;
}

/** What a program exports for the next update to read back with {@link readLastUpdate}. */
export interface LastUpdateOutputs {
  /** Each node's role, pool, address, Proxmox node, VM id and VM settings. */
  nodes: Record<string, Omit<RecordedNode, "vmId"> & { vmId: pulumi.Output<number> }>;
  /** The cluster's name, CNI, VIP and who holds it. */
  cluster: RecordedCluster;
  /** `https://<vip>:6443` */
  endpoint: pulumi.Output<string>;
}

/**
 * A whole Talos cluster on Proxmox VE. Children carry an alias to the root stack, so that stacks built
 * before TalosCluster existed (the same components at the top level) keep every resource: the engine
 * gives their children the inherited aliases (pulumi/pulumi pkg/resource/deploy/step_generator.go
 * v3.260.0, generateAliases and inheritedChildAlias).
 */
export class TalosCluster extends pulumi.ComponentResource {
  static readonly TYPE = "talos-proxmox:index:TalosCluster";

  /** Admin kubeconfig (secret); resolves once every node is Ready and every staged config rolled. */
  public readonly kubeconfig: pulumi.Output<string>;
  /** talosconfig for `talosctl` (secret), with the control-plane node IPs as endpoints. */
  public readonly talosconfig: pulumi.Output<string>;
  /** `https://<vip>:6443` */
  public readonly endpoint: pulumi.Output<string>;
  /** The installer image the nodes run (`factory.talos.dev/nocloud-installer/<schematic>:<version>`). */
  public readonly installerImage: pulumi.Output<string>;
  /** The provider for anything else in the cluster; its identity is the cluster name. */
  public readonly kubernetesProvider: k8s.Provider;
  /** The schematic and its ISO on the Proxmox nodes. */
  public readonly image: TalosImage;
  /** Secrets, control-plane nodes, bootstrap, kubeconfig and the rolling upgrade. */
  public readonly controlPlane: ControlPlane;
  /** The worker pools, in the order of `args.workerPools`. */
  public readonly workerPools: readonly WorkerPool[];
  /** Every node, control planes first, with its VM and config apply. */
  public readonly nodes: readonly PoolNode[];
  /** Export these as the stack outputs `nodes`, `cluster` and `endpoint`. */
  public readonly lastUpdateOutputs: LastUpdateOutputs;

  /**
   * Every problem of a description, with paths relative to it (`network.cidr`), or none: what the
   * constructor refuses, for a program that reports them at its own root before it creates anything.
   */
  static validate(args: TalosClusterArgs): Problem[] {
    return validate(args).problems;
  }

  /**
   * The config patches of a description that hold credentials, each with its path (relative, like
   * {@link TalosCluster.validate}'s) and the fields, e.g. `RegistryAuthConfig password`. The cluster passes
   * them on as secrets; a program refuses them when they come from plain text (the stack does, unless its
   * `talos-proxmox:cluster` holds an encrypted value).
   */
  static credentialPatches(args: TalosClusterArgs): { path: string; fields: string[] }[] {
    if (typeof args !== "object" || args === null) {
      return [];
    }
    const pools: [unknown, string][] = [
      [args.controlPlane, "controlPlane"],
      ...(Array.isArray(args.workerPools) ? args.workerPools : []).map((pool, i): [unknown, string] => [
        pool,
        `workerPools[${i}]`,
      ]),
    ];
    return pools.flatMap(([pool, path]) => {
      const patches = (pool as TalosClusterPoolArgs | undefined)?.configPatches;
      return (Array.isArray(patches) ? patches : []).flatMap((patch, i) => {
        const fields = credentialsIn(patchText(patch));
        return fields.length > 0 ? [{ path: `${path}.configPatches[${i}]`, fields }] : [];
      });
    });
  }

  constructor(name: string, args: TalosClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    const { spec, problems } = validate(args);
    if (!spec) {
      throw new ValidationError(
        `TalosCluster "${name}"`,
        problems.map((p) => ({ ...p, path: p.path === "" ? "args" : `args.${p.path}` })),
      );
    }
    const stack = pulumi.runtime.getStackResource();
    if (args.lastUpdate !== undefined && stack !== undefined) {
      // Before anything is registered: kept by the engine if this update fails halfway.
      pulumi.runtime.registerResourceOutputs(stack, recordOfAttempt(args.lastUpdate, spec));
    }
    super(TalosCluster.TYPE, name, {}, opts);
    const warnings = clusterWarnings(spec);
    if (args.lastUpdate === undefined) {
      warnings.push({
        path: "lastUpdate",
        message:
          "is not given, so no change is checked against the running cluster (quorum, VM replacements, a " +
          "rename...). Pass lastUpdate: await readLastUpdate() (empty for a new stack).",
      });
    }
    for (const warning of warnings) {
      void pulumi.log.warn(`${warning.path}: ${warning.message}`, this);
    }
    // The nodes the last update recorded that the description no longer has: they leave in this one.
    const nodesLeaving = removedNodes(args.lastUpdate, spec);
    // Where these resources were before TalosCluster: at the top of the stack.
    const child = { parent: this, aliases: [{ parent: pulumi.rootStackResource }] };

    this.image = new TalosImage(
      `${spec.name}-image`,
      {
        talosVersion: spec.talosVersion,
        extensions: spec.image.extensions,
        pveNodes: poolsWithPaths(spec).flatMap(([pool]) => pool.nodes.map((n) => n.pveNode)),
        datastore: spec.image.datastore,
        sharedDatastore: spec.image.sharedDatastore,
        fileNamePrefix: spec.name,
      },
      child,
    );

    // Secrets, VMs booting into maintenance mode, a config apply per node, one etcd bootstrap.
    this.controlPlane = new ControlPlane(
      spec.name,
      {
        ...poolArgs(spec, spec.controlPlane, this.image),
        clusterName: spec.name,
        talosVersion: spec.talosVersion,
        configContract: configContractOf(args.lastUpdate, spec),
        nodesLeaving,
        kubernetesVersion: spec.kubernetesVersion,
        vip: spec.vip.ip,
        vipProvider: spec.vip.provider,
        ...(spec.vip.provider === "kube-vip"
          ? { kubeVipVersion: spec.kubeVip.version, kubeVipInterface: spec.kubeVip.interface }
          : {}),
        cni: spec.cni,
        forwardKubeDnsToHost: spec.forwardKubeDnsToHost,
        // Without workers, Hubble, kube-vip's cloud provider and every workload need the control planes.
        allowSchedulingOnControlPlanes: spec.workerPools.length === 0,
        upgrade: { order: spec.upgrade.order, maxParallelWorkers: spec.upgrade.maxParallelWorkers },
        teardown: spec.teardown,
        deletionProtection: spec.deletionProtection,
      },
      child,
    );
    const controlPlane = this.controlPlane;

    // In parallel with the control plane: the workers need its secrets, not its bootstrap.
    this.workerPools = spec.workerPools.map(
      (pool) =>
        new WorkerPool(
          `${spec.name}-${pool.name}`,
          {
            ...poolArgs(spec, pool, this.image),
            cluster: controlPlane,
            labels: pool.labels,
            taints: pool.taints,
            longhorn: spec.longhorn.enabled,
          },
          child,
        ),
    );
    this.nodes = [...controlPlane.nodes, ...this.workerPools.flatMap((pool) => pool.nodes)];

    // From the control plane's kubeconfig: whatever uses it waits for bootstrap. Its identity is the
    // cluster name, so a renewed kubeconfig updates it instead of replacing every Kubernetes resource.
    this.kubernetesProvider = new k8s.Provider(
      `${spec.name}-kubernetes`,
      { kubeconfig: controlPlane.kubeconfig, clusterIdentifier: spec.name },
      child,
    );
    const onKubernetes = { ...child, providers: [this.kubernetesProvider] };

    // Cilium replaces Talos's CNI and kube-proxy; until it runs the nodes stay NotReady.
    const cilium =
      spec.cni === "cilium"
        ? new CiliumCni(
            `${spec.name}-cilium`,
            {
              version: spec.cilium.version,
              hubble: spec.cilium.hubble,
              hostLegacyRouting: spec.cilium.hostLegacyRouting,
              loadBalancerRanges: spec.cilium.l2Announcements.enabled
                ? spec.cilium.l2Announcements.ranges
                : undefined,
              cluster: controlPlane,
              values: spec.cilium.values,
            },
            onKubernetes,
          )
        : undefined;
    const afterCni = cilium ? [cilium] : [];

    // kube-vip for Services of type LoadBalancer (its cloud provider needs pod networking).
    if (spec.kubeVip.enabled) {
      new KubeVip(
        `${spec.name}-kube-vip`,
        {
          cluster: controlPlane,
          serviceRanges: spec.kubeVip.serviceRanges,
          version: spec.kubeVip.version,
          cloudProviderVersion: spec.kubeVip.cloudProviderVersion,
          interface: spec.kubeVip.interface,
        },
        { ...onKubernetes, dependsOn: afterCni },
      );
    }

    // The whole cluster healthy: Talos's check of every node, then what it skips while the CNI is
    // "none" (nodes Ready, CoreDNS and Cilium rolled out). Skipped, as the control plane's, in an update
    // that removes nodes (ControlPlaneArgs.nodesLeaving); the readiness command still runs.
    const healthy = healthGate(
      {
        clientConfiguration: controlPlane.clientConfiguration,
        controlPlaneNodes: controlPlane.nodes.map((n) => n.ip),
        workerNodes: this.workerPools.flatMap((pool) => pool.nodes.map((n) => n.ip)),
        kubernetes: true,
        skippedBecause: leavingReason(nodesLeaving),
        timeout: "30m",
      },
      { parent: this, dependsOn: [...afterCni, ...this.workerPools] },
    );
    const ready = kubernetesReady(
      `${spec.name}-ready`,
      {
        clusterName: spec.name,
        talosVersion: spec.talosVersion,
        controlPlaneEndpoints: controlPlane.controlPlaneEndpoints.slice(),
        talosconfig: controlPlane.talosconfig,
        cni: spec.cni,
        nodeNames: this.nodes.map((n) => n.name),
        timeout: "30m",
      },
      { ...child, dependsOn: [...afterCni, ...this.workerPools, controlPlane] },
    );

    // Config changes that need a reboot were staged (v1.13) or applied live (v1.14): once every node is
    // up and Ready (a fresh node may still be installing until then), reboot those nodes one at a time,
    // drained.
    const configsRolled = configRoll(
      `${spec.name}-config-roll`,
      {
        clusterName: spec.name,
        talosVersion: spec.talosVersion,
        controlPlaneEndpoints: controlPlane.controlPlaneEndpoints,
        talosconfig: controlPlane.talosconfig,
        applies: this.nodes.map((n) => n.apply),
        nodeNames: this.nodes.map((n) => n.name),
        cni: spec.cni,
        order: spec.upgrade.order,
        maxParallelWorkers: spec.upgrade.maxParallelWorkers,
      },
      { ...child, dependsOn: [...afterCni, controlPlane, ready] },
    );

    this.kubeconfig = pulumi.secret(
      pulumi
        .all([controlPlane.kubeconfig, healthy, ready.id, configsRolled.id])
        .apply(([kubeconfig]) => kubeconfig),
    );
    this.talosconfig = controlPlane.talosconfig;
    this.endpoint = controlPlane.endpoint;
    this.installerImage = this.image.installerImage;
    const vmIds = new Map(this.nodes.map((node) => [node.name, node.vm.vmId]));
    this.lastUpdateOutputs = {
      nodes: recordedNodes(spec, (node) => vmIds.get(node.name) as pulumi.Output<number>),
      cluster: recordedCluster(spec),
      endpoint: controlPlane.endpoint,
    };
    this.registerOutputs({
      kubeconfig: this.kubeconfig,
      talosconfig: this.talosconfig,
      endpoint: this.endpoint,
      installerImage: this.installerImage,
    });
  }
}

/**
 * What this stack's last update recorded (its outputs `nodes`, `cluster` and `endpoint`), for
 * {@link TalosClusterArgs.lastUpdate}. Call it before creating anything; a new stack has none.
 */
export async function readLastUpdate(): Promise<LastUpdate> {
  const self = new pulumi.StackReference("last-update", {
    name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`,
  });
  const [nodes, cluster, endpoint] = await Promise.all(
    ["nodes", "cluster", "endpoint"].map(
      async (output): Promise<unknown> => (await self.getOutputDetails(output)).value,
    ),
  );
  return { nodes, cluster, endpoint };
}

/** The description's problems; the change checks against the last update run once it has none. */
function validate(args: TalosClusterArgs): { spec?: ClusterSpec; problems: Problem[] } {
  // Anything but a mapping (a JavaScript caller's, or a stack file's) goes to the reader to be refused.
  const mapping = typeof args === "object" && args !== null && !Array.isArray(args);
  const { lastUpdate, ...description } = mapping ? args : { lastUpdate: undefined };
  const read = readClusterArgs(mapping ? description : args);
  // A Promise (readLastUpdate() without await) reads as a record with nothing in it.
  if (typeof (lastUpdate as { then?: unknown } | undefined)?.then === "function") {
    const promise: Problem = {
      path: "lastUpdate",
      message:
        "is a Promise, which would turn every check against the running cluster off. Await it: " +
        "lastUpdate: await readLastUpdate().",
    };
    return { problems: [...read.problems, promise] };
  }
  if (!read.spec) {
    return read;
  }
  const problems = checkLastUpdate(lastUpdate ?? {}, read.spec);
  return problems.length === 0 ? read : { problems };
}

/** The VM shape and nodes of a pool, from the cluster's network and the pool's settings. */
function poolArgs(cluster: ClusterSpec, pool: NodePoolSpec, image: TalosImage) {
  return {
    image,
    nodes: pool.nodes,
    cores: pool.cores,
    memoryMiB: pool.memoryMiB,
    diskGiB: pool.diskGiB,
    cpuType: pool.cpuType,
    datastore: pool.datastore,
    scsiHardware: pool.scsiHardware,
    prefixLength: cluster.network.prefixLength,
    gateway: cluster.network.gateway,
    nameservers: cluster.network.nameservers,
    bridge: cluster.network.bridge,
    vlanId: cluster.network.vlan,
    configPatches: pool.configPatches,
  };
}
