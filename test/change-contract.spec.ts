/**
 * The change-impact contract (stacks/change-contract.ts, in the README) kept true: every case of every
 * key is made on a running stack (the example stack's last update, whose outputs the program reads
 * back), through the real program, and the plan's changes (tools/offline/changes.ts) must have exactly
 * the contract's effect. A refusal must fail the run before any resource is registered, naming the key.
 */
import { expect } from "chai";
import { DEFAULT_EXTENSIONS } from "../components";
import { CHANGE_CONTRACT, Effect } from "../stacks/change-contract";
import { changesOfRuns, overallEffect } from "../tools/offline/changes";
import { OfflineRun } from "../tools/offline/engine";
import { acceptedKeys, problemLines, runTalosCluster, exampleCluster, runStack, succeeded } from "./harness";

/** The parts of the stack config the cases change (the example stacks set all of these but cilium). */
interface NodeConfig {
  name: string;
  pveNode: string;
  ip: string;
  vmId?: number;
}
interface PoolConfig {
  name?: string;
  cores: number;
  memoryMiB: number;
  diskGiB: number;
  cpuType?: string;
  datastore?: string;
  scsiHardware?: string;
  configPatches?: unknown[];
  labels?: Record<string, string>;
  taints?: Record<string, string>;
  nodes: NodeConfig[];
}
interface Cluster {
  name: string;
  talosVersion: string;
  kubernetesVersion: string;
  network: { cidr: string; gateway: string; nameservers: string[]; bridge?: string; vlan?: number };
  vip: { ip: string; provider?: string };
  image: { extensions?: readonly string[]; datastore?: string; sharedDatastore?: boolean };
  cni?: string;
  controlPlane: PoolConfig;
  workerPools: PoolConfig[];
  cilium?: {
    version?: string;
    hubble?: boolean;
    hostLegacyRouting?: boolean;
    l2Announcements?: { enabled: boolean; ranges: string[] };
    values?: Record<string, unknown>;
  };
  kubeVip: {
    enabled: boolean;
    version?: string;
    cloudProviderVersion?: string;
    interface?: string;
    serviceRanges?: unknown;
  };
  upgrade: { order?: string; maxParallelWorkers?: number; vmSettingsChangedByHand?: boolean };
  longhorn: { enabled: boolean };
  teardown?: boolean;
  deletionProtection?: boolean;
  highAvailability?: boolean;
}

interface Case {
  stack?: "homelab" | "prod";
  /** Makes the running stack this case starts from (the example stack by default). */
  base?: (c: Cluster) => void;
  /** Extra config of the running stack (and of the change, unless `config` overrides it). */
  baseConfig?: Record<string, string>;
  edit?: (c: Cluster) => void;
  config?: Record<string, string>;
  secretKeys?: string[];
  /** The config path the refusal names, when it is not the key's (first list element, third node). */
  path?: string;
}

const sysctl = { machine: { sysctls: { "vm.max_map_count": "262144" } } };
const udevRule = {
  machine: { udev: { rules: ['SUBSYSTEM=="drm", KERNEL=="renderD*", GROUP="44", MODE="0660"'] } },
};
/** What only a boot puts in effect on Talos v1.14: etcd's settings, a kernel module. */
const etcdArgs = { cluster: { etcd: { extraArgs: { "election-timeout": "5000" } } } };
const kernelModule = { machine: { kernel: { modules: [{ name: "nbd" }] } } };
const onTalos113 = (c: Cluster) => (c.talosVersion = "v1.13.9");
const worker = (c: Cluster) => c.workerPools[0];
const cilium = (c: Cluster) => (c.cilium ??= {});
const cp = (c: Cluster) => c.controlPlane;
const ciliumOwnsLoadBalancers = (c: Cluster) => {
  c.kubeVip = { enabled: false };
  cilium(c).l2Announcements = { enabled: true, ranges: ["10.20.0.240-10.20.0.249"] };
};
const fiveControlPlanes = (c: Cluster) =>
  cp(c).nodes.push(
    { name: "cp-4", pveNode: "pve1", ip: "10.20.0.14", vmId: 2014 },
    { name: "cp-5", pveNode: "pve2", ip: "10.20.0.15", vmId: 2015 },
  );

/** How to make each case: `<key>` or `<key> | <when>`. */
const CASES: Record<string, Case> = {
  "proxmoxve:endpoint": { config: { "proxmoxve:endpoint": "https://pve2.prod.example.net:8006/" } },
  "proxmoxve:apiToken": {
    baseConfig: { "proxmoxve:apiToken": "pulumi@pve!talos=old-secret" },
    config: { "proxmoxve:apiToken": "pulumi@pve!talos=new-secret" },
    secretKeys: ["proxmoxve:apiToken"],
  },
  "proxmoxve:insecure": { config: { "proxmoxve:insecure": "true" } },
  "cluster.name": { edit: (c) => (c.name = "prod2") },
  "cluster.talosVersion | a release of the same minor": {
    base: (c) => (c.talosVersion = "v1.14.0"),
    edit: (c) => (c.talosVersion = "v1.14.1"),
  },
  "cluster.talosVersion | v1.13 to v1.14": {
    base: (c) => (c.talosVersion = "v1.13.9"),
    edit: (c) => (c.talosVersion = "v1.14.1"),
  },
  "cluster.talosVersion | down a minor, or over one": { edit: (c) => (c.talosVersion = "v1.13.9") },
  "cluster.talosVersion | to a minor that does not run the cluster's Kubernetes": {
    base: (c) => {
      c.talosVersion = "v1.13.9";
      c.kubernetesVersion = "1.31.4";
    },
    // Kubernetes moves into the new minor's range in the same update: still refused, Talos first would
    // run 1.31 on v1.14 nodes.
    edit: (c) => {
      c.talosVersion = "v1.14.1";
      c.kubernetesVersion = "1.32.3";
    },
  },
  "cluster.kubernetesVersion": { edit: (c) => (c.kubernetesVersion = "1.36.2") },
  "cluster.network.cidr": { edit: (c) => (c.network.cidr = "10.20.0.0/23") },
  "cluster.network.gateway": { edit: (c) => (c.network.gateway = "10.20.0.254") },
  "cluster.network.nameservers": { edit: (c) => c.network.nameservers.push("1.1.1.1") },
  "cluster.network.bridge": { edit: (c) => (c.network.bridge = "vmbr2") },
  "cluster.network.vlan": { edit: (c) => (c.network.vlan = 30) },
  "cluster.vip.ip": { edit: (c) => (c.vip.ip = "10.20.0.9") },
  "cluster.vip.provider": { edit: (c) => (c.vip.provider = "kube-vip") },
  "cluster.image.extensions | other extensions": {
    edit: (c) => (c.image.extensions = [...DEFAULT_EXTENSIONS, "siderolabs/intel-ucode"]),
  },
  "cluster.image.extensions | adding or removing qemu-guest-agent": {
    path: "cluster.image.extensions",
    edit: (c) => (c.image.extensions = DEFAULT_EXTENSIONS.filter((e) => e !== "siderolabs/qemu-guest-agent")),
  },
  "cluster.image.datastore": { edit: (c) => (c.image.datastore = "iso-nfs") },
  "cluster.image.sharedDatastore": { edit: (c) => (c.image.sharedDatastore = true) },
  "cluster.cni": {
    edit: (c) => {
      c.cni = "flannel";
      c.cilium = undefined;
    },
  },
  "cluster.controlPlane.cores": { edit: (c) => (cp(c).cores = 8) },
  "cluster.controlPlane.memoryMiB": { edit: (c) => (cp(c).memoryMiB = 16384) },
  "cluster.controlPlane.diskGiB | grow": { edit: (c) => (cp(c).diskGiB = 128) },
  "cluster.controlPlane.diskGiB | shrink": { edit: (c) => (cp(c).diskGiB = 32) },
  "cluster.controlPlane.cpuType": { edit: (c) => (cp(c).cpuType = "x86-64-v2-AES") },
  "cluster.controlPlane.datastore": { edit: (c) => (cp(c).datastore = "ceph") },
  "cluster.controlPlane.scsiHardware": { edit: (c) => (cp(c).scsiHardware = "virtio-scsi-single") },
  "cluster.controlPlane.configPatches | sections Talos applies live": {
    edit: (c) => (cp(c).configPatches = [sysctl]),
  },
  "cluster.controlPlane.configPatches | on v1.14, etcd, environment, kernel modules, files, disk encryption":
    {
      edit: (c) => (cp(c).configPatches = [etcdArgs]),
    },
  "cluster.controlPlane.configPatches | on v1.13, other sections": {
    base: onTalos113,
    edit: (c) => (cp(c).configPatches = [udevRule]),
  },
  "cluster.controlPlane.nodes | add": { edit: fiveControlPlanes },
  "cluster.controlPlane.nodes | remove": {
    base: fiveControlPlanes,
    edit: (c) => (cp(c).nodes = cp(c).nodes.slice(0, 3)),
  },
  "cluster.controlPlane.nodes[].name": { edit: (c) => (cp(c).nodes[2].name = "cp-9") },
  "cluster.controlPlane.nodes[].pveNode": { edit: (c) => (cp(c).nodes[2].pveNode = "pve1") },
  "cluster.controlPlane.nodes[].ip": { edit: (c) => (cp(c).nodes[2].ip = "10.20.0.19") },
  "cluster.controlPlane.nodes[].vmId": { edit: (c) => (cp(c).nodes[2].vmId = 2019) },
  "cluster.workerPools | add or remove a pool": {
    edit: (c) =>
      c.workerPools.push({
        name: "gpu",
        cores: 8,
        memoryMiB: 16384,
        diskGiB: 100,
        nodes: [{ name: "g-1", pveNode: "pve1", ip: "10.20.0.31", vmId: 2031 }],
      }),
  },
  "cluster.workerPools[].name": {
    edit: (c) => (worker(c).name = "apps"),
    path: "cluster.workerPools[0].nodes[0].name",
  },
  "cluster.workerPools[].cores": { edit: (c) => (worker(c).cores = 16) },
  "cluster.workerPools[].memoryMiB": { edit: (c) => (worker(c).memoryMiB = 65536) },
  "cluster.workerPools[].diskGiB | grow": { edit: (c) => (worker(c).diskGiB = 400) },
  "cluster.workerPools[].diskGiB | shrink": { edit: (c) => (worker(c).diskGiB = 100) },
  "cluster.workerPools[].cpuType": { edit: (c) => (worker(c).cpuType = "x86-64-v2-AES") },
  "cluster.workerPools[].datastore": { edit: (c) => (worker(c).datastore = "ceph") },
  "cluster.workerPools[].scsiHardware": { edit: (c) => (worker(c).scsiHardware = "virtio-scsi-single") },
  "cluster.workerPools[].configPatches | sections Talos applies live": {
    edit: (c) => (worker(c).configPatches = [sysctl]),
  },
  "cluster.workerPools[].configPatches | on v1.14, etcd, environment, kernel modules, files, disk encryption":
    {
      edit: (c) => (worker(c).configPatches = [kernelModule]),
    },
  "cluster.workerPools[].configPatches | on v1.13, other sections": {
    base: onTalos113,
    edit: (c) => (worker(c).configPatches = [udevRule]),
  },
  "cluster.workerPools[].labels": { edit: (c) => (worker(c).labels = { "example.com/tier": "apps" }) },
  "cluster.workerPools[].taints": { edit: (c) => (worker(c).taints = { dedicated: "apps:NoSchedule" }) },
  "cluster.workerPools[].nodes | add": {
    edit: (c) => worker(c).nodes.push({ name: "w-4", pveNode: "pve1", ip: "10.20.0.24", vmId: 2024 }),
  },
  "cluster.workerPools[].nodes | remove": { edit: (c) => worker(c).nodes.pop() },
  "cluster.workerPools[].nodes[].name": { edit: (c) => (worker(c).nodes[2].name = "w-9") },
  "cluster.workerPools[].nodes[].pveNode": { edit: (c) => (worker(c).nodes[2].pveNode = "pve1") },
  "cluster.workerPools[].nodes[].ip": { edit: (c) => (worker(c).nodes[2].ip = "10.20.0.29") },
  "cluster.workerPools[].nodes[].vmId": { edit: (c) => (worker(c).nodes[2].vmId = 2029) },
  "cluster.cilium.version": { edit: (c) => (cilium(c).version = "1.18.7") },
  "cluster.cilium.hubble": { edit: (c) => (cilium(c).hubble = false) },
  "cluster.cilium.hostLegacyRouting": { edit: (c) => (cilium(c).hostLegacyRouting = false) },
  "cluster.cilium.l2Announcements.enabled": { edit: ciliumOwnsLoadBalancers },
  "cluster.cilium.l2Announcements.ranges": {
    base: ciliumOwnsLoadBalancers,
    edit: (c) => (cilium(c).l2Announcements = { enabled: true, ranges: ["10.20.0.240-10.20.0.254"] }),
  },
  "cluster.cilium.values": { edit: (c) => (cilium(c).values = { operator: { replicas: 1 } }) },
  "cluster.kubeVip.enabled": { edit: (c) => (c.kubeVip = { enabled: false }) },
  "cluster.kubeVip.version": { edit: (c) => (c.kubeVip.version = "v1.2.4") },
  "cluster.kubeVip.cloudProviderVersion": { edit: (c) => (c.kubeVip.cloudProviderVersion = "v0.0.13") },
  "cluster.kubeVip.interface": { edit: (c) => (c.kubeVip.interface = "ens18") },
  "cluster.kubeVip.serviceRanges": {
    edit: (c) => (c.kubeVip.serviceRanges = { global: ["10.20.0.200-10.20.0.249"] }),
  },
  "cluster.upgrade.order": { edit: (c) => (c.upgrade.order = "control-plane-first") },
  "cluster.upgrade.maxParallelWorkers": { edit: (c) => (c.upgrade.maxParallelWorkers = 2) },
  "cluster.upgrade.vmSettingsChangedByHand": { edit: (c) => (c.upgrade.vmSettingsChangedByHand = true) },
  "cluster.longhorn.enabled": { edit: (c) => (c.longhorn.enabled = false) },
  "cluster.teardown": { stack: "homelab", edit: (c) => (c.teardown = true) },
  "cluster.deletionProtection": { edit: (c) => (c.deletionProtection = false) },
  "cluster.highAvailability": { edit: (c) => (c.highAvailability = false) },
};

/**
 * The running stack (its last update) and the run of the change, both with unredacted inputs, and the
 * changed description.
 */
async function makeCase(made: Case): Promise<[OfflineRun, OfflineRun, Record<string, unknown>]> {
  const stack = made.stack ?? "prod";
  const options = { secretKeys: made.secretKeys, providerInputs: true };
  const base = exampleCluster(stack) as unknown as Cluster;
  made.base?.(base);
  const running = succeeded(
    await runStack(stack, base as unknown as Record<string, unknown>, made.baseConfig, options),
  );
  const changed = structuredClone(base);
  made.edit?.(changed);
  const after = await runStack(
    stack,
    changed as unknown as Record<string, unknown>,
    { ...made.baseConfig, ...made.config },
    { ...options, previousOutputs: running.outputs },
  );
  return [running, after, changed as unknown as Record<string, unknown>];
}

function effectOf(running: OfflineRun, after: OfflineRun): Effect {
  return after.error !== undefined ? "refused" : overallEffect(changesOfRuns(running, after));
}

describe("change-impact contract (README)", function () {
  this.timeout(120_000);

  it("has a row for every key the stack config accepts that holds a value, and only such keys", async () => {
    const accepted = await acceptedKeys();
    const leaves = [...accepted].filter((k) => ![...accepted].some((other) => other.startsWith(`${k}.`)));
    const rows = CHANGE_CONTRACT.map((row) => row.key);
    const providerKeys = ["proxmoxve:endpoint", "proxmoxve:apiToken", "proxmoxve:insecure"];
    expect(leaves.filter((k) => !rows.includes(k))).to.deep.equal([]);
    expect(rows.filter((k) => !accepted.has(k) && !providerKeys.includes(k))).to.deep.equal([]);
  });

  it("has a way to make every case, and no other", () => {
    const cases = CHANGE_CONTRACT.flatMap((row) =>
      row.cases.map((c) => (c.when ? `${row.key} | ${c.when}` : row.key)),
    );
    expect(Object.keys(CASES).sort()).to.deep.equal([...cases].sort());
  });

  for (const row of CHANGE_CONTRACT) {
    for (const contract of row.cases) {
      const id = contract.when ? `${row.key} | ${contract.when}` : row.key;
      it(`${id}: ${contract.effect}`, async () => {
        const made = CASES[id];
        expect(made, `a way to make ${id}`).to.not.equal(undefined);
        const [running, after, description] = await makeCase(made);
        const changes = changesOfRuns(running, after);
        expect(effectOf(running, after), JSON.stringify(after.error ?? changes, null, 1)).to.equal(
          contract.effect,
        );
        if (contract.effect === "refused") {
          // Refused before any resource is registered.
          // (The program's read of its own stack is a read, not a registration.)
          expect(after.resources.map((r) => r.type)).to.deep.equal(["pulumi:pulumi:Stack"]);
          const path =
            made.path ?? row.key.replace("workerPools[]", "workerPools[0]").replace("nodes[]", "nodes[2]");
          const message = after.error instanceof Error ? after.error.message : String(after.error);
          expect(message).to.include(`  - ${path}: `);
          if (path.startsWith("cluster.")) {
            // A program's TalosCluster with the same description and last update refuses it the same way.
            const library = await runTalosCluster(made.stack ?? "prod", description, running.outputs);
            expect(problemLines(library, "args")).to.deep.equal(problemLines(after, "cluster"));
          }
        } else {
          expect(
            changes.some((c) => c.effect === "VM reboot or replacement"),
            "no VM reboots",
          ).to.equal(false);
        }
      });
    }
  }

  it("changes nothing when nothing changed", async () => {
    const [running, after] = await makeCase({});
    expect(changesOfRuns(running, after)).to.deep.equal([]);
  });
});
