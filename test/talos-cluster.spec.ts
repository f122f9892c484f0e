/**
 * TalosCluster: the stack program's composition as a component, with the stack's every check. The
 * same bad description is given to the stack (as its `talos-proxmox:cluster` config) and to a program
 * that builds a TalosCluster: both refuse it before anything is created, with the same message at
 * their own root (`cluster.` and `args.`).
 */
import { expect } from "chai";
import { TalosCluster, TalosClusterArgs, ValidationError } from "../components";
import { OfflineRun } from "../tools/offline/engine";
import { exampleCluster, ofType, one, runComponents, runStack, succeeded, TYPES } from "./harness";

// The example homelab stack's description, as a program would write it.
type Description = TalosClusterArgs & {
  controlPlane: { nodes: { name: string; ip: string; vmId?: number; pveNode: string }[] };
  workerPools: NonNullable<TalosClusterArgs["workerPools"]>;
  image: NonNullable<TalosClusterArgs["image"]>;
  kubeVip: NonNullable<TalosClusterArgs["kubeVip"]>;
};

function homelab(): Description {
  return structuredClone(exampleCluster("homelab")) as unknown as Description;
}

function runCluster(args: TalosClusterArgs): Promise<OfflineRun> {
  return runComponents(() => new TalosCluster("lab", args));
}

/** The problems a failed run reports, keyed by path. */
function problemsOf(run: OfflineRun): Map<string, string[]> {
  expect(run.error, "the run must fail").to.be.instanceOf(ValidationError);
  const problems = new Map<string, string[]>();
  for (const p of (run.error as ValidationError).problems) {
    problems.set(p.path, [...(problems.get(p.path) ?? []), p.message]);
  }
  return problems;
}

interface BadInput {
  what: string;
  edit: (c: Description) => void;
  /** Relative to the description. */
  path: string;
  message: RegExp;
  /** The stack's last update, for a change a running cluster cannot take. */
  lastUpdate?: Record<string, unknown>;
}

const recorded = (role: string, ip: string, extra: Record<string, unknown> = {}) => ({ role, ip, ...extra });

const BAD_INPUT: BadInput[] = [
  {
    what: "a worker on a control plane's address",
    edit: (c) => (c.workerPools[0].nodes[0].ip = "192.168.10.11"),
    path: "workerPools[0].nodes[0].ip",
    message: /"192\.168\.10\.11" is already used by controlPlane\.nodes\[0\]\.ip/,
  },
  {
    what: "a worker on the VIP",
    edit: (c) => (c.workerPools[0].nodes[0].ip = "192.168.10.50"),
    path: "workerPools[0].nodes[0].ip",
    message: /is the VIP \(vip\.ip\)/,
  },
  {
    what: "a VM id twice across pools",
    edit: (c) => (c.workerPools[0].nodes[0].vmId = 1011),
    path: "workerPools[0].nodes[0].vmId",
    message: /1011 is already used by controlPlane\.nodes\[0\]\.vmId/,
  },
  {
    what: "a node name twice across pools",
    edit: (c) => (c.workerPools[0].nodes[0].name = "cp-1"),
    path: "workerPools[0].nodes[0].name",
    message: /"cp-1" is already used by controlPlane\.nodes\[0\]\.name/,
  },
  {
    what: "a worker on another subnet",
    edit: (c) => (c.workerPools[0].nodes[1].ip = "192.168.11.22"),
    path: "workerPools[0].nodes[1].ip",
    message: /is not a host address inside network\.cidr 192\.168\.10\.0\/24/,
  },
  {
    what: "Longhorn without iscsi-tools",
    edit: (c) => (c.image.extensions = ["siderolabs/qemu-guest-agent", "siderolabs/util-linux-tools"]),
    path: "longhorn.enabled",
    message: /Longhorn needs siderolabs\/iscsi-tools in the image/,
  },
  {
    what: "deletion protection with one control plane",
    edit: (c) => (c.deletionProtection = true),
    path: "controlPlane.nodes",
    message: /has 1 node\(s\), but deletionProtection is on/,
  },
  {
    what: "high availability with one control plane",
    edit: (c) => (c.highAvailability = true),
    path: "controlPlane.nodes",
    message: /has 1 node\(s\), but highAvailability is on/,
  },
  {
    what: "kube-vip's range over a node's address",
    edit: (c) => (c.kubeVip.serviceRanges = ["192.168.10.20-192.168.10.29"]),
    path: "kubeVip.serviceRanges.global[0]",
    message: /contains 192\.168\.10\.21, which is a node's address/,
  },
  {
    what: "kube-vip's range over the VIP",
    edit: (c) => (c.kubeVip.serviceRanges = { global: ["192.168.10.48/29"] }),
    path: "kubeVip.serviceRanges.global[0]",
    message: /the API VIP \(vip\.ip\)/,
  },
  {
    what: "a misspelled key",
    edit: (c) => Object.assign(c, { workerPool: [] }),
    path: "workerPool",
    message: /is not a known setting\. Did you mean "workerPools"\?/,
  },
  {
    what: "the key protect of 0.3",
    edit: (c) => Object.assign(c, { protect: true }),
    path: "protect",
    message: /was renamed to deletionProtection/,
  },
  {
    what: "a Kubernetes version Talos 1.13 does not support",
    edit: (c) => (c.kubernetesVersion = "1.29.0"),
    path: "kubernetesVersion",
    message: /1\.29\.0/,
  },
  {
    what: "a control plane removed below the last update's quorum",
    edit: (c) => c.controlPlane.nodes.splice(0, 1, { name: "cp-1", pveNode: "pve", ip: "192.168.10.11" }),
    lastUpdate: {
      nodes: {
        "cp-1": recorded("controlplane", "192.168.10.11"),
        "cp-2": recorded("controlplane", "192.168.10.12"),
        "cp-3": recorded("controlplane", "192.168.10.13"),
      },
    },
    path: "controlPlane.nodes",
    message: /the last update left 3, whose etcd quorum is 2/,
  },
  {
    what: "a renamed running cluster",
    edit: () => undefined,
    lastUpdate: { cluster: { name: "lab", cni: "cilium", vip: "192.168.10.50", vipProvider: "talos" } },
    path: "name",
    message: /would rename the running cluster "lab" to "homelab"/,
  },
  {
    what: "a worker whose memory changes on its running VM",
    edit: (c) => (c.workerPools[0].memoryMiB = 8192),
    lastUpdate: {
      nodes: {
        "w-1": recorded("worker", "192.168.10.21", { pool: "general", pveNode: "pve", memoryMiB: 4096 }),
      },
    },
    path: "workerPools[0].memoryMiB",
    message: /would change the memory of the VMs w-1 from 4096 to 8192/,
  },
];

describe("TalosCluster: the stack's checks, through the library", function () {
  this.timeout(60_000);

  for (const bad of BAD_INPUT) {
    it(`refuses ${bad.what}, with the stack's message (${bad.path})`, async () => {
      const description = homelab();
      bad.edit(description);
      const stack = problemsOf(
        await runStack(
          "homelab",
          description as unknown as Record<string, unknown>,
          {},
          {
            previousOutputs: bad.lastUpdate,
          },
        ),
      );
      const library = problemsOf(await runCluster({ ...description, lastUpdate: bad.lastUpdate }));
      const fromStack = stack.get(`cluster.${bad.path}`);
      const fromLibrary = library.get(`args.${bad.path}`);
      expect(fromStack, `the stack's problems: ${JSON.stringify([...stack])}`).not.to.equal(undefined);
      expect(
        fromStack?.some((m) => bad.message.test(m)),
        JSON.stringify(fromStack),
      ).to.equal(true);
      expect(fromLibrary).to.deep.equal(fromStack);
      expect(
        TalosCluster.validate({ ...description, lastUpdate: bad.lastUpdate }).map((p) => p.path),
      ).to.include(bad.path);
    });
  }

  it("refuses before it registers anything, naming itself and the args", async () => {
    const description = homelab();
    description.workerPools[0].nodes[0].ip = "192.168.10.11";
    const run = await runCluster(description);
    expect(run.resources.map((r) => r.type)).to.deep.equal([TYPES.stack]);
    expect((run.error as Error).message).to.match(
      /^TalosCluster "lab": 1 problem\n {2}- args\.workerPools\[0\]\.nodes\[0\]\.ip: "192\.168\.10\.11" is already used/,
    );
  });

  it("refuses a lastUpdate that is a Promise, which would turn every check against the running cluster off", async () => {
    const description = homelab();
    const pending = Promise.resolve({ nodes: {} });
    // @ts-expect-error the types refuse a Promise (readLastUpdate() without await)
    const args: TalosClusterArgs = { ...description, lastUpdate: pending };
    const run = await runCluster(args);
    expect(run.resources.map((r) => r.type)).to.deep.equal([TYPES.stack]);
    expect(problemsOf(run).get("args.lastUpdate")).to.deep.equal([
      "is a Promise, which would turn every check against the running cluster off. Await it: " +
        "lastUpdate: await readLastUpdate().",
    ]);
  });

  it("keeps a config patch with credentials secret in state and in the plan, from the stack or a program", async () => {
    const registry = (password: string) => ({
      apiVersion: "v1alpha1",
      kind: "RegistryAuthConfig",
      name: "ghcr.io",
      username: "robot",
      password,
    });
    const description = homelab();
    description.workerPools[0].configPatches = [{ machine: { sysctls: { "vm.max_map_count": "262144" } } }];
    description.workerPools[0].configPatches.push(registry("hunter2"));
    const patchesOf = (run: OfflineRun) =>
      one(succeeded(run), TYPES.configApply, "homelab-general-w-1-config").inputs.configPatches as unknown[];
    // The stack's cluster key holds an encrypted value (pulumi config set --secret --path ...).
    const stack = await runStack(
      "homelab",
      description as unknown as Record<string, unknown>,
      {},
      {
        secretKeys: ["talos-proxmox:cluster"],
      },
    );
    const library = await runCluster({ ...description, lastUpdate: {} });
    for (const run of [stack, library]) {
      const patches = patchesOf(run);
      expect(patches.at(-1)).to.equal("[secret]");
      expect(String(patches.at(-2))).to.include("vm.max_map_count");
      expect(JSON.stringify(run.resources)).to.not.include("hunter2");
    }
  });

  it("takes kube-vip's Service ranges as a list or as a mapping, as the stack file may", async () => {
    const asList = homelab();
    const asMapping = homelab();
    asMapping.kubeVip.serviceRanges = { global: asList.kubeVip.serviceRanges as string[] };
    const data = async (args: TalosClusterArgs) =>
      one(succeeded(await runCluster(args)), "kubernetes:core/v1:ConfigMap", "homelab-kube-vip-ranges").inputs
        .data;
    expect(await data(asList)).to.deep.equal({ "range-global": "192.168.10.200-192.168.10.209" });
    expect(await data(asMapping)).to.deep.equal(await data(asList));
  });

  it("takes config patches as mappings or as YAML", async () => {
    const asMapping = homelab();
    asMapping.controlPlane.configPatches = [{ machine: { sysctls: { "vm.max_map_count": "262144" } } }];
    const asYaml = homelab();
    asYaml.controlPlane.configPatches = ['machine:\n  sysctls:\n    vm.max_map_count: "262144"\n'];
    const patches = async (args: TalosClusterArgs) =>
      one(succeeded(await runCluster(args)), TYPES.configApply, "homelab-cp-1-config").inputs.configPatches;
    expect(JSON.stringify(await patches(asYaml))).to.include("vm.max_map_count");
    expect(await patches(asMapping)).to.deep.equal(await patches(asYaml));
  });
});

describe("TalosCluster: what it builds", function () {
  this.timeout(60_000);

  it("builds what the stack builds, under one component", async () => {
    const stack = succeeded(await runStack("homelab"));
    const library = succeeded(await runCluster(homelab()));
    const shape = (run: OfflineRun) =>
      run.resources
        .filter((r) => ![TYPES.stack, TYPES.proxmoxProvider, TalosCluster.TYPE].includes(r.type))
        .map((r) => `${r.type} ${r.name}`)
        .sort();
    expect(shape(library)).to.deep.equal(shape(stack));
    const component = one(library, TalosCluster.TYPE, "lab");
    expect(library.resources.filter((r) => r.parent === component.urn).map((r) => r.type)).to.include.members(
      [
        TYPES.talosImage,
        TYPES.controlPlane,
        TYPES.workerPool,
        "pulumi:providers:kubernetes",
        "talos-proxmox:index:CiliumCni",
        "talos-proxmox:index:KubeVip",
      ],
    );
  });

  it("gives the Kubernetes provider the cluster name as its identity, and everything in the cluster uses it", async () => {
    const run = succeeded(await runCluster(homelab()));
    const provider = one(run, "pulumi:providers:kubernetes", "homelab-kubernetes");
    expect(provider.inputs.clusterIdentifier).to.equal("homelab");
    for (const r of run.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:"))) {
      expect(r.options.provider?.startsWith(`${provider.urn}::`), r.name).to.equal(true);
    }
  });

  it("guards the secrets and the control planes (VMs and removal commands) with deletionProtection", async () => {
    const description = homelab();
    description.deletionProtection = true;
    description.controlPlane.nodes = [11, 12, 13].map((n) => ({
      name: `cp-${n - 10}`,
      pveNode: "pve",
      ip: `192.168.10.${n}`,
      vmId: 1000 + n,
    }));
    const run = succeeded(await runCluster(description));
    const protectedNames = run.resources.filter((r) => r.options.protect).map((r) => r.name);
    expect(protectedNames.sort()).to.deep.equal(
      [1, 2, 3]
        .flatMap((n) => [`homelab-cp-${n}`, `homelab-cp-${n}-decommission`])
        .concat("homelab-secrets")
        .sort(),
    );
    expect(ofType(run, TYPES.vm).filter((vm) => vm.inputs.protection === true)).to.have.length(3);
  });

  it("records each node for the next update, as the stack exports it", async () => {
    const stack = succeeded(await runStack("homelab"));
    expect(Object.keys(stack.outputs?.nodes as object)).to.deep.equal(["cp-1", "w-1", "w-2"]);
    expect((stack.outputs?.nodes as Record<string, unknown>)["w-1"]).to.include({
      role: "worker",
      pool: "general",
      ip: "192.168.10.21",
      pveNode: "pve",
      vmId: 1021,
      memoryMiB: 4096,
    });
    expect(stack.outputs?.cluster).to.deep.equal({
      name: "homelab",
      cni: "cilium",
      vip: "192.168.10.50",
      vipProvider: "talos",
      talosVersion: "v1.14.1",
      kubernetesVersion: "1.36.1",
    });
    expect(stack.outputs?.endpoint).to.equal("https://192.168.10.50:6443");
  });
});
