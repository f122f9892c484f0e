/**
 * WorkerPool: worker configs applied in parallel with the control plane, with the pool's labels,
 * taints and Longhorn mount.
 */
import { expect } from "chai";
import { parseAllDocuments } from "yaml";
import * as k8s from "@pulumi/kubernetes";
import {
  ControlPlane,
  KubeVip,
  TalosImage,
  ValidationError,
  WorkerPool,
  WorkerPoolArgs,
} from "../components";
import { one, ofType, runComponents, succeeded, TOKENS, TYPES, waitsOn } from "./harness";

type Args = Omit<WorkerPoolArgs, "image" | "cluster">;

const POOL: Args = {
  cores: 4,
  memoryMiB: 8192,
  diskGiB: 100,
  prefixLength: 24,
  gateway: "10.0.0.1",
  nameservers: ["10.0.0.1"],
  nodes: [
    { name: "w-1", pveNode: "pve1", ip: "10.0.0.21", vmId: 2021 },
    { name: "w-2", pveNode: "pve1", ip: "10.0.0.22", vmId: 2022 },
  ],
};

/** The cluster the pools join: one control plane, VIP 10.0.0.10. */
function controlPlane(image: TalosImage): ControlPlane {
  return new ControlPlane("lab", {
    ...POOL,
    cores: 2,
    nodes: [{ name: "cp-1", pveNode: "pve1", ip: "10.0.0.11", vmId: 2011 }],
    image,
    clusterName: "lab",
    talosVersion: "v1.13.9",
    kubernetesVersion: "1.36.1",
    vip: "10.0.0.10",
  });
}

/** The cluster and the pool; the pool gets an image of its own when `poolImage` is given. */
function runPool(
  args: Partial<Args> = {},
  poolImage?: { talosVersion: string; extensions?: string[] },
  secondPool?: Partial<Args>,
) {
  return runComponents(() => {
    const image = new TalosImage("img", {
      talosVersion: "v1.13.9",
      pveNodes: ["pve1"],
      fileNamePrefix: "lab",
    });
    const cluster = controlPlane(image);
    const ownImage =
      poolImage && new TalosImage("pool-img", { ...poolImage, pveNodes: ["pve1"], fileNamePrefix: "pool" });
    const pool = new WorkerPool("lab-general", { ...POOL, ...args, image: ownImage ?? image, cluster });
    if (secondPool) {
      new WorkerPool("lab-second", { ...POOL, ...secondPool, image, cluster });
    }
    return { nodeIps: pool.nodeIps };
  });
}

function patchDocuments(configPatches: unknown): Record<string, unknown>[] {
  return (configPatches as string[]).flatMap((p) =>
    parseAllDocuments(p).map((d) => d.toJS() as Record<string, unknown>),
  );
}

describe("WorkerPool", () => {
  it("renders one worker config for the pool against the cluster endpoint", async () => {
    const run = succeeded(await runPool());
    const renders = run.invokes.filter(
      (i) => i.token === TOKENS.machineConfig && i.args.machineType === "worker",
    );
    expect(renders).to.have.length(1);
    expect(renders[0].args).to.deep.include({
      clusterName: "lab",
      clusterEndpoint: "https://10.0.0.10:6443",
      talosVersion: "v1.13",
      kubernetesVersion: "1.36.1",
    });
  });

  it("applies each worker to its IP after its VM, without waiting for bootstrap", async () => {
    const run = succeeded(await runPool());
    const bootstrap = one(run, TYPES.bootstrap, "lab-bootstrap");
    const controlPlaneApply = one(run, TYPES.configApply, "lab-cp-1-config");
    for (const node of POOL.nodes) {
      const apply = one(run, TYPES.configApply, `lab-general-${node.name}-config`);
      expect(apply.inputs.node).to.equal(node.ip);
      expect(apply.dependencies).to.include(one(run, TYPES.vm, `lab-general-${node.name}`).urn);
      expect(apply.dependencies).to.include(one(run, TYPES.secrets, "lab-secrets").urn);
      expect(waitsOn(run, apply, bootstrap), "must not wait on bootstrap").to.equal(false);
      expect(waitsOn(run, apply, controlPlaneApply), "must not wait on the control plane").to.equal(false);
    }
  });

  it("creates worker VMs: start order 2, not protected, tagged worker", async () => {
    const run = succeeded(await runPool());
    for (const vm of ofType(run, TYPES.vm).filter((v) => v.name.startsWith("lab-general-"))) {
      expect(vm.inputs).to.deep.include({ startup: { order: 2 }, protection: false });
      expect(vm.inputs.tags).to.deep.equal(["lab", "talos", "worker"]);
      expect(vm.options.protect).to.equal(false);
    }
  });

  it("gives workers labels, taints and the Longhorn mount, and no VIP", async () => {
    const run = succeeded(
      await runPool({
        labels: { "node.kubernetes.io/pool": "general" },
        taints: { dedicated: "storage:NoSchedule" },
        longhorn: true,
      }),
    );
    const docs = patchDocuments(one(run, TYPES.configApply, "lab-general-w-1-config").inputs.configPatches);
    expect(docs).to.deep.include({ machine: { nodeLabels: { "node.kubernetes.io/pool": "general" } } });
    expect(docs).to.deep.include({
      machine: {
        kubelet: {
          extraConfig: { registerWithTaints: [{ key: "dedicated", value: "storage", effect: "NoSchedule" }] },
        },
      },
    });
    expect(JSON.stringify(docs)).to.include("/var/lib/longhorn");
    expect(docs.filter((d) => d.kind === "Layer2VIPConfig")).to.be.empty;
    expect(docs).to.deep.include({
      cluster: { network: { cni: { name: "none" } }, proxy: { disabled: true } },
    });
  });

  const refusals: [string, Partial<Args>, RegExp][] = [
    ["no nodes", { nodes: [] }, /args\.nodes: is empty/],
    [
      "a patch that is not YAML",
      { configPatches: ["machine:\n  sysctls: {a: 1\n"] },
      /args\.configPatches\[0\]: is not valid YAML \(line \d+, column \d+\)/,
    ],
    [
      "a patch with the deprecated machine.network",
      { configPatches: ["machine:\n  network:\n    hostname: w-1\n"] },
      /args\.configPatches\[0\]: sets "machine\.network", which Talos v1\.13 deprecates.*HostnameConfig/,
    ],
    [
      "a JSON patch on a deprecated field",
      { configPatches: ['[{"op": "add", "path": "/cluster/etcd/subnet", "value": "10.0.0.0/24"}]'] },
      /args\.configPatches\[0\]: sets "cluster\.etcd\.subnet".*cluster\.etcd\.advertisedSubnets/,
    ],
    ["a bad label key", { labels: { "bad key": "x" } }, /args\.labels\.bad key: .*not a label key/],
    ["a bad label value", { labels: { tier: "-gold" } }, /args\.labels\.tier: .*not a label value/],
    [
      "a taint without effect",
      { taints: { dedicated: "storage" } },
      /args\.taints\.dedicated: .*"value:Effect"/,
    ],
    [
      "an unknown taint effect",
      { taints: { dedicated: "storage:Never" } },
      /args\.taints\.dedicated: .*NoSchedule, PreferNoSchedule, NoExecute/,
    ],
    [
      "two VMs with one id",
      { nodes: [POOL.nodes[0], { ...POOL.nodes[1], vmId: 2021 }] },
      /args\.nodes\[1\]\.vmId: 2021 is already the VM id/,
    ],
    ["a worker with 1 GiB", { memoryMiB: 1024 }, /args\.memoryMiB: .*at least 2048/],
    [
      "a worker at a control plane's address",
      { nodes: [{ ...POOL.nodes[0], ip: "10.0.0.11" }] },
      /args\.nodes\[0\]\.ip: "10\.0\.0\.11" is already used by ControlPlane "lab" node cp-1\. Give each node its own address/,
    ],
    [
      "a worker at the VIP",
      { nodes: [{ ...POOL.nodes[0], ip: "10.0.0.10" }] },
      /args\.nodes\[0\]\.ip: "10\.0\.0\.10" is the VIP/,
    ],
    [
      "a worker named like a control plane",
      { nodes: [{ ...POOL.nodes[0], name: "cp-1" }] },
      /args\.nodes\[0\]\.name: "cp-1" is already used by ControlPlane "lab" node cp-1/,
    ],
    [
      "a worker with a control plane's VM id",
      { nodes: [{ ...POOL.nodes[0], vmId: 2011 }] },
      /args\.nodes\[0\]\.vmId: 2011 is already used by ControlPlane "lab" node cp-1/,
    ],
    [
      "a worker on another subnet",
      { prefixLength: 16, nodes: [{ ...POOL.nodes[0], ip: "10.0.1.21" }] },
      /args\.prefixLength: is 16, but the cluster's network is 10\.0\.0\.0\/24[\s\S]*args\.nodes\[0\]\.ip: "10\.0\.1\.21" is not a host address inside the cluster's network/,
    ],
    [
      "a patch with its own hostname document",
      { configPatches: ["apiVersion: v1alpha1\nkind: HostnameConfig\nhostname: w\n"] },
      /args\.configPatches\[0\]: sets a HostnameConfig document, which this library owns/,
    ],
    [
      "a patch that sets its own taints, which NodeRestriction forbids a worker",
      { configPatches: ["machine:\n  nodeTaints:\n    dedicated: db:NoSchedule\n"] },
      /args\.configPatches\[0\]: sets "machine\.nodeTaints", which this library owns/,
    ],
    [
      "another gateway than the cluster's",
      { gateway: "10.0.0.254" },
      /args\.gateway: is "10\.0\.0\.254", but the cluster's gateway is "10\.0\.0\.1"/,
    ],
  ];
  for (const [what, args, message] of refusals) {
    it(`refuses ${what} before creating anything of its own`, async () => {
      const run = await runPool(args);
      expect(run.error).to.be.instanceOf(ValidationError);
      expect((run.error as Error).message).to.match(message);
      expect(run.resources.filter((r) => r.type === TYPES.workerPool)).to.be.empty;
    });
  }

  it("refuses an image of another Talos version than the cluster's", async () => {
    const run = await runPool({}, { talosVersion: "v1.13.8" });
    expect((run.error as Error).message).to.match(
      /args\.image: is an image of Talos v1\.13\.8, but the cluster runs v1\.13\.9/,
    );
    expect(ofType(run, TYPES.workerPool)).to.be.empty;
  });

  it("refuses Longhorn without iscsi-tools in its image", async () => {
    const run = await runPool(
      { longhorn: true },
      { talosVersion: "v1.13.9", extensions: ["siderolabs/qemu-guest-agent", "siderolabs/util-linux-tools"] },
    );
    expect((run.error as Error).message).to.match(
      /args\.longhorn: Longhorn needs siderolabs\/iscsi-tools in the image/,
    );
  });

  it("refuses a second pool that reuses the first pool's node", async () => {
    const run = await runPool({}, undefined, { nodes: [{ ...POOL.nodes[1], name: "x-1", vmId: 2099 }] });
    expect(run.error).to.be.instanceOf(ValidationError);
    expect((run.error as Error).message).to.match(
      /WorkerPool "lab-second": 1 problem\n {2}- args\.nodes\[0\]\.ip: "10\.0\.0\.22" is already used by WorkerPool "lab-general" node w-2/,
    );
  });
});

describe("add-ons on a ControlPlane and its pools", () => {
  it("refuse a Service range over a worker that joined, or outside the cluster's network", async () => {
    const run = await runComponents(() => {
      const image = new TalosImage("img", {
        talosVersion: "v1.13.9",
        pveNodes: ["pve1"],
        fileNamePrefix: "lab",
      });
      const cluster = controlPlane(image);
      new WorkerPool("lab-general", { ...POOL, image, cluster });
      const kubernetes = new k8s.Provider("lab-k8s", { kubeconfig: cluster.kubeconfig });
      new KubeVip(
        "lab-kube-vip",
        { cluster, serviceRanges: { global: ["10.0.0.16/28"], apps: ["10.9.0.200-10.9.0.209"] } },
        { provider: kubernetes },
      );
    });
    expect(run.error).to.be.instanceOf(ValidationError);
    expect((run.error as ValidationError).problems).to.deep.equal([
      {
        path: "args.serviceRanges.global[0]",
        message: `"10.0.0.16/28" contains 10.0.0.21, which is WorkerPool "lab-general" node w-1's address. Leave it out of the range.`,
      },
      {
        path: "args.serviceRanges.global[0]",
        message: `"10.0.0.16/28" contains 10.0.0.22, which is WorkerPool "lab-general" node w-2's address. Leave it out of the range.`,
      },
      {
        path: "args.serviceRanges.apps[0]",
        message:
          `"10.9.0.200-10.9.0.209" is not inside the node network 10.0.0.0/24 (without its network and broadcast ` +
          `addresses): LoadBalancer IPs are announced there with ARP.`,
      },
    ]);
  });
});
