/**
 * What a cluster's last update recorded, and the changes to it that a running cluster cannot take:
 * the program exports the record (TalosCluster.lastUpdateOutputs), the next update reads it back
 * (readLastUpdate) before it registers anything, and these checks refuse a change that would lose
 * quorum, reboot a whole pool at once, replace a VM in place or rebuild the cluster. Paths are relative
 * to the cluster's description, like every rule in cluster-args.ts.
 */
import { NodePoolSpec, NodeSpec, ClusterSpec, poolsWithPaths, WorkerPoolSpec } from "./cluster-args";
import { DEFAULT_SCSI_HARDWARE, PREVIOUS_DEFAULT_SCSI_HARDWARE } from "./node-rules";
import { QEMU_GUEST_AGENT } from "./schematic";
import { Problem, show } from "./validation";
import { checkKubernetesMove, checkTalosMove, isTalosVersion, TALOS_SUPPORT, talosMinor } from "./versions";

/**
 * What the last update of this cluster recorded: the stack outputs `nodes`, `cluster` and `endpoint`
 * that `TalosCluster.lastUpdateOutputs` holds, as `readLastUpdate` reads them back. Left
 * out (a new stack), nothing is compared.
 */
export interface LastUpdate {
  /** The output `nodes`: each node's role, pool, address, Proxmox node, VM id and VM settings. @default none */
  nodes?: unknown;
  /** The output `cluster`: name, CNI, VIP and who holds it. @default none */
  cluster?: unknown;
  /** The output `endpoint` (`https://<vip>:6443`), which stacks older than `cluster` have. @default none */
  endpoint?: unknown;
}

/**
 * The config contract of this update: the minor every node ran at the last update (the record of a
 * successful update; a failed one keeps the one before), so a minor upgrade moves it in the update after
 * its roll, when no node runs the old minor any more. A new stack's is its own minor. Unknown (a record
 * written before talos-proxmox 0.4 kept versions, or no last update given): the contract the cluster
 * was created with, which ControlPlane keeps in its secrets.
 */
export function configContractOf(
  lastUpdate: LastUpdate | undefined,
  cluster: ClusterSpec,
): string | undefined {
  if (lastUpdate === undefined) {
    return undefined;
  }
  if (lastUpdate.cluster === undefined && lastUpdate.nodes === undefined) {
    return talosMinor(cluster.talosVersion);
  }
  const recorded = (lastUpdate.cluster ?? {}) as Partial<RecordedCluster>;
  // A minor this library no longer supports: the contract the cluster was created with, as before.
  return isTalosVersion(recorded.talosVersion) &&
    TALOS_SUPPORT[talosMinor(recorded.talosVersion)] !== undefined
    ? talosMinor(recorded.talosVersion)
    : undefined;
}

/** Every change the last update's record refuses. */
export function checkLastUpdate(lastUpdate: LastUpdate, cluster: ClusterSpec): Problem[] {
  return [
    ...checkClusterKept(lastUpdate.cluster, lastUpdate.endpoint, cluster),
    ...checkControlPlaneScaleDown(lastUpdate.nodes, cluster.controlPlane.nodes.length),
    ...checkVmSettingsKept(lastUpdate.nodes, cluster),
    ...checkNodesNotReused(lastUpdate.nodes, cluster),
    ...checkRollBudgetOnRunningNodes(lastUpdate.nodes, cluster),
  ];
}

/**
 * The rolls of an update take down only the nodes that run already: the nodes it adds install after the
 * Talos roll (their configs render the versions it reports) and hold no staged config. So a pool that
 * grows in the same update still has only its running nodes to lose: the budget must stay below their
 * count too (cluster-args.ts checks it against the pool's new size).
 */
function checkRollBudgetOnRunningNodes(previousNodes: unknown, cluster: ClusterSpec): Problem[] {
  if (typeof previousNodes !== "object" || previousNodes === null) {
    return [];
  }
  const recorded = previousNodes as Record<string, { pool?: unknown }>;
  const budget = cluster.upgrade.maxParallelWorkers;
  return cluster.workerPools.flatMap((pool, i) => {
    const running = pool.nodes.filter((n) => recorded[n.name]?.pool === pool.name).map((n) => n.name);
    if (running.length < 2 || budget < running.length || budget >= pool.nodes.length) {
      return [];
    }
    return [
      {
        path: "upgrade.maxParallelWorkers",
        message:
          `is ${budget}, and this update's rolls run over the ${running.length} nodes worker pool ${show(pool.name)} ` +
          `(workerPools[${i}]) has now (${running.join(", ")}): the nodes it adds join after the Talos roll, so ` +
          `all ${running.length} could be drained at once. Keep it below ${running.length} for this update; ` +
          `raise it in the next one, once the new nodes run.`,
      },
    ];
  });
}

/**
 * Scaling the control plane down: never below the quorum of what the last update left, so etcd keeps a
 * majority even if the removed members were lost rather than left. `previousNodes` is the stack's own
 * `nodes` output from its last update (undefined for a new stack).
 */
function checkControlPlaneScaleDown(previousNodes: unknown, controlPlaneCount: number): Problem[] {
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
      path: "controlPlane.nodes",
      message:
        `has ${controlPlaneCount} node(s); the last update left ${before}, whose etcd quorum is ${quorum}. ` +
        `Removing ${before - controlPlaneCount} at once could lose quorum: remove control planes in steps ` +
        `that keep at least ${quorum} (one pulumi up each).`,
    },
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
    at: () => "image.extensions",
    effect: REBOOTS,
  },
  {
    key: "datastore",
    what: "the storage",
    at: (p) => `${p}.datastore`,
    effect: "which moves every VM's disks and cloud-init drive and reboots them all at once",
  },
  { key: "cidr", what: "the network", at: () => "network.cidr", effect: CLOUD_INIT },
  { key: "gateway", what: "the gateway", at: () => "network.gateway", effect: CLOUD_INIT },
  {
    key: "nameservers",
    what: "the DNS servers",
    at: () => "network.nameservers",
    effect: CLOUD_INIT,
  },
  {
    key: "bridge",
    what: "the bridge",
    at: () => "network.bridge",
    effect:
      "which moves every VM's NIC at once (bpg hot-plugs it): the whole pool drops off its network together",
  },
  {
    key: "vlan",
    what: "the VLAN",
    at: () => "network.vlan",
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
function checkVmSettingsKept(previousNodes: unknown, cluster: ClusterSpec): Problem[] {
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
          `upgrade.vmSettingsChangedByHand: true, pulumi up, and remove that flag.`;
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
      path: "upgrade.vmSettingsChangedByHand",
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
    `Remove ${node.name} from the stack and pulumi up (it is drained${previous.role === "controlplane" ? ", and leaves etcd," : ""} before its VM goes), ` +
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

/** Each node as the next update compares it, control planes first; `vmIdOf` gives its VM id. */
export function recordedNodes<V>(
  cluster: ClusterSpec,
  vmIdOf: (node: NodeSpec) => V,
): Record<string, Omit<RecordedNode, "vmId"> & { vmId: V }> {
  return Object.fromEntries(
    poolsWithPaths(cluster).flatMap(([pool, path]) => {
      const vm = recordedVm(pool, cluster);
      const worker = path !== "controlPlane";
      return pool.nodes.map((node) => [
        node.name,
        {
          role: worker ? "worker" : "controlplane",
          ...(worker ? { pool: (pool as WorkerPoolSpec).name } : {}),
          ip: node.ip,
          pveNode: node.pveNode,
          ...vm,
          vmId: vmIdOf(node),
        },
      ]);
    }),
  );
}

/** The nodes the last update recorded that the description no longer has: this update removes them. */
export function removedNodes(lastUpdate: LastUpdate | undefined, cluster: ClusterSpec): string[] {
  const recorded = lastUpdate?.nodes;
  if (typeof recorded !== "object" || recorded === null) {
    return [];
  }
  const kept = new Set(poolsWithPaths(cluster).flatMap(([pool]) => pool.nodes.map((n) => n.name)));
  return Object.keys(recorded).filter((name) => !kept.has(name));
}

/**
 * What may exist while an update runs, written before it creates anything: every node the last update
 * recorded, as it recorded it (a removal may not have happened yet), and every node this update adds
 * (it may be created before a failure), with the VM id it was given. The engine keeps these outputs if
 * the update fails, and the program's own outputs replace them when it succeeds (pulumi/pulumi pkg/v3
 * v3.276.0 resource/deploy/step_executor.go, executeRegisterResourceOutputs: the stack's last outputs
 * event is kept until the end, then merged over the old outputs when the update failed), so a failed
 * update never leaves the next one comparing against less than what exists.
 */
export function recordOfAttempt(
  lastUpdate: LastUpdate,
  cluster: ClusterSpec,
): { nodes: Record<string, unknown>; cluster: unknown; endpoint: unknown } {
  const last = typeof lastUpdate.nodes === "object" && lastUpdate.nodes !== null ? lastUpdate.nodes : {};
  return {
    nodes: { ...recordedNodes(cluster, (node) => node.vmId), ...last },
    cluster: lastUpdate.cluster ?? recordedCluster(cluster),
    endpoint: lastUpdate.endpoint ?? `https://${cluster.vip.ip}:6443`,
  };
}

/** What the stack records of the cluster itself, for the next update to compare with. */
export interface RecordedCluster {
  name: string;
  cni: string;
  vip: string;
  vipProvider: string;
  /** The versions the cluster was rolled to; absent in stacks whose last update ran an older talos-proxmox. */
  talosVersion?: string;
  kubernetesVersion?: string;
}

export function recordedCluster(cluster: ClusterSpec): RecordedCluster {
  return {
    name: cluster.name,
    cni: cluster.cni,
    vip: cluster.vip.ip,
    vipProvider: cluster.vip.provider,
    talosVersion: cluster.talosVersion,
    kubernetesVersion: cluster.kubernetesVersion,
  };
}

/**
 * A running cluster keeps its name, CNI and API address. `previous` is the stack's `cluster` output
 * from its last update, `previousEndpoint` its `endpoint` output (which stacks updated before
 * talos-proxmox 0.3 already have).
 */
function checkClusterKept(previous: unknown, previousEndpoint: unknown, cluster: ClusterSpec): Problem[] {
  const recorded = (
    typeof previous === "object" && previous !== null ? previous : {}
  ) as Partial<RecordedCluster>;
  const problems: Problem[] = [];
  if (recorded.name !== undefined && recorded.name !== cluster.name) {
    problems.push({
      path: "name",
      message:
        `would rename the running cluster ${show(recorded.name)} to ${show(cluster.name)}. Every resource is ` +
        `named after it, so Pulumi would build a new cluster and delete this one. Keep ${show(recorded.name)}; ` +
        `for a second cluster, make a new stack.`,
    });
  }
  if (recorded.cni !== undefined && recorded.cni !== cluster.cni) {
    problems.push({
      path: "cni",
      message:
        `would switch the running cluster from ${show(recorded.cni)} to ${show(cluster.cni)}. Talos never ` +
        `deletes what it deployed (the old CNI, kube-proxy: controllers/k8s/manifest_apply.go only creates), ` +
        `so both would run at once. Keep ${show(recorded.cni)}; to switch, build a new cluster and move the workloads.`,
    });
  }
  if (recorded.vipProvider !== undefined && recorded.vipProvider !== cluster.vip.provider) {
    problems.push({
      path: "vip.provider",
      message:
        `would hand the API address of the running cluster from ${show(recorded.vipProvider)} to ` +
        `${show(cluster.vip.provider)}. kube-vip's kubeconfig is a machine.files entry, which Talos writes only ` +
        `at a boot (v1.13.9 CanApplyImmediate stages it; v1.14.1 writes files in its boot sequence), so the ` +
        `control planes would switch one reboot at a time, ` +
        `some holding the address through Talos and others through kube-vip meanwhile. Keep ` +
        `${show(recorded.vipProvider)}.`,
    });
  }
  if (typeof recorded.kubernetesVersion === "string") {
    problems.push(
      ...checkKubernetesMove(recorded.kubernetesVersion, cluster.kubernetesVersion, "kubernetesVersion"),
    );
  }
  if (
    typeof previous === "object" &&
    previous !== null &&
    recorded.talosVersion === undefined &&
    talosMinor(cluster.talosVersion) !== "v1.13"
  ) {
    // talos-proxmox 0.3 and older supported Talos v1.13 only and did not record versions.
    problems.push({
      path: "talosVersion",
      message:
        `is ${cluster.talosVersion}, and the last update, by talos-proxmox 0.3 or older, did not record the ` +
        `versions the cluster runs (v1.13, the only minor it supported). Run pulumi up once on v1.13.x with this ` +
        `version, which records them and what each node booted into, then move to ${talosMinor(cluster.talosVersion)}.`,
    });
  }
  if (isTalosVersion(recorded.talosVersion)) {
    problems.push(
      ...checkTalosMove(
        recorded.talosVersion,
        cluster.talosVersion,
        typeof recorded.kubernetesVersion === "string" ? recorded.kubernetesVersion : undefined,
        cluster.kubernetesVersion,
        "talosVersion",
      ),
    );
  }
  const endpointVip =
    typeof previousEndpoint === "string"
      ? /^https:\/\/([^:/]+):6443$/.exec(previousEndpoint)?.[1]
      : undefined;
  const vip = recorded.vip ?? endpointVip;
  if (vip !== undefined && vip !== cluster.vip.ip) {
    problems.push({
      path: "vip.ip",
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
function checkNodesNotReused(previousNodes: unknown, cluster: ClusterSpec): Problem[] {
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
