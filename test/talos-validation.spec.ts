/**
 * Every node config the stacks would apply, checked by Talos's own machinery (tools/talos-validate):
 * the base config rendered as the Talos provider renders it, the node's patches applied in order,
 * then `talosctl validate --mode metal --strict`'s validation. Warnings count as errors.
 */
import { expect } from "chai";
import { join } from "node:path";
import { runOffline } from "../tools/offline/engine";
import { readProjectName, readStackFile } from "../tools/offline/stack-file";
import {
  buildValidator,
  validateNodes,
  validatorInput,
  ValidatorNode,
} from "../tools/talos-validate/validate";
import { exampleCluster, PROJECT_DIR } from "./harness";
import program = require("../stacks");

type Cluster = Record<string, unknown>;

async function nodesOf(
  stack: "homelab" | "prod",
  edit: (c: Cluster) => void = () => {},
): Promise<ValidatorNode[]> {
  const file = readStackFile(join(PROJECT_DIR, `Pulumi.${stack}.yaml`), readProjectName(PROJECT_DIR), stack);
  const cluster = exampleCluster(stack);
  edit(cluster);
  const run = await runOffline(program, {
    ...file,
    config: { ...file.config, "talos-proxmox:cluster": JSON.stringify(cluster) },
    providerInputs: true,
  });
  expect(run.error).to.equal(undefined);
  return validatorInput(run);
}

/** Configurations the stacks can take, each different in what its nodes are given. */
const CASES: [string, "homelab" | "prod", (c: Cluster) => void][] = [
  ["homelab as shipped", "homelab", () => {}],
  ["prod as shipped", "prod", () => {}],
  ["prod with kube-vip holding the API VIP", "prod", (c) => ((c.vip as Cluster).provider = "kube-vip")],
  [
    "a homelab without workers (control planes take workloads)",
    "homelab",
    (c) => {
      c.workerPools = [];
      c.longhorn = { enabled: false };
    },
  ],
  [
    "Flannel and kube-proxy instead of Cilium",
    "homelab",
    (c) => {
      c.cni = "flannel";
      delete c.cilium;
    },
  ],
  [
    "eBPF masquerading (no kube-dns forwarding), labels, taints and user patches",
    "homelab",
    (c) => {
      (c.cilium as Cluster).values = { bpf: { masquerade: true } };
      const pool = (c.workerPools as Cluster[])[0];
      pool.labels = { "node.kubernetes.io/storage": "fast" };
      pool.taints = { dedicated: "storage:NoSchedule" };
      pool.configPatches = [{ machine: { sysctls: { "vm.max_map_count": "262144" } } }];
    },
  ],
];

describe("Talos's own validation of every node config", function () {
  // The first run builds the validator from the Go module proxy.
  this.timeout(20 * 60_000);
  let binary: string;

  before(() => {
    binary = buildValidator();
  });

  for (const [what, stack, edit] of CASES) {
    it(`passes for ${what}`, async () => {
      const nodes = await nodesOf(stack, edit);
      expect(nodes).to.not.be.empty;
      const results = validateNodes(binary, nodes);
      expect(results.map((r) => r.name)).to.deep.equal(nodes.map((n) => n.name));
      for (const result of results) {
        expect(result, `${result.name}: ${result.error ?? ""}`).to.deep.equal({
          name: result.name,
          valid: true,
          warnings: [],
        });
      }
    });
  }

  it("renders each node from its role's request, with the library's patches in order", async () => {
    const nodes = await nodesOf("prod");
    const controlPlane = nodes.find((n) => n.name === "cp-1") as ValidatorNode;
    expect(controlPlane).to.include({
      machineType: "controlplane",
      clusterName: "prod",
      clusterEndpoint: "https://10.20.0.10:6443",
      talosVersion: "v1.13",
    });
    expect(controlPlane.patches[0]).to.match(/^# install: /);
    expect(nodes.filter((n) => n.machineType === "worker")).to.not.be.empty;
  });

  it("fails a config Talos refuses, with Talos's message", async () => {
    const [node] = await nodesOf("homelab");
    const [result] = validateNodes(binary, [
      {
        ...node,
        patches: [...node.patches, "machine:\n  kubelet:\n    nodeIP:\n      validSubnets: [not-a-cidr]\n"],
      },
    ]);
    expect(result.valid).to.equal(false);
    expect(result.error).to.include('kubelet nodeIP subnet is not valid: "not-a-cidr"');
  });
});
