/**
 * Every node config the stacks would apply, checked by Talos's own machinery (tools/talos-validate):
 * the base config rendered as the Talos provider renders it (its machinery is v1.13), the node's patches
 * applied in order, then `talosctl validate --mode metal`'s validation by the machinery of the minor the
 * node runs, v1.13.9 or v1.14.1. Every warning is one the test names (none but one: --strict).
 */
import { expect } from "chai";
import { join } from "node:path";
import { runOffline } from "../tools/offline/engine";
import { readProjectName, readStackFile } from "../tools/offline/stack-file";
import {
  buildValidators,
  renderConfigs,
  validateNodes,
  validatorInput,
  ValidatorNode,
  Validators,
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

/** The newest release of each supported minor, which the stacks are validated on. */
const RELEASES = { "v1.13": "v1.13.9", "v1.14": "v1.14.1" } as const;

/**
 * The one warning a config may carry, and on which minor: Talos v1.14 deprecates machine.files (talos
 * pkg/machinery v1.14.1 v1alpha1_validation.go), where kube-vip's kubeconfig is written under /var; its
 * replacement, EtcFileConfig, writes only under /etc, and the provider's v1.13 machinery cannot load it
 * anyway. A v1.14 node applies it with the warning (only --strict would refuse it).
 */
const MACHINE_FILES_DEPRECATED =
  ".machine.files is deprecated; use dedicated configuration documents instead";
const expectedWarnings = (what: string, minor: string, node: ValidatorNode): string[] =>
  what.includes("kube-vip") && minor === "v1.14" && node.machineType === "controlplane"
    ? [MACHINE_FILES_DEPRECATED]
    : [];

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
  // The first run builds the validators from the Go module proxy.
  this.timeout(20 * 60_000);
  let validators: Validators;

  before(() => {
    validators = buildValidators();
  });

  for (const [minor, release] of Object.entries(RELEASES)) {
    for (const [what, stack, edit] of CASES) {
      it(`passes on Talos ${minor} for ${what}`, async () => {
        const nodes = await nodesOf(stack, (c) => {
          c.talosVersion = release;
          edit(c);
        });
        expect(nodes).to.not.be.empty;
        expect(new Set(nodes.map((n) => n.runs))).to.deep.equal(new Set([minor]));
        const results = validateNodes(validators, nodes);
        expect(results.map((r) => r.name)).to.deep.equal(nodes.map((n) => n.name));
        results.forEach((result, i) => {
          expect(result, `${result.name}: ${result.error ?? ""}`).to.deep.equal({
            name: result.name,
            valid: true,
            warnings: expectedWarnings(what, minor, nodes[i]),
          });
        });
      });
    }
  }

  it("renders each node from its role's request, with the library's patches in order", async () => {
    const nodes = await nodesOf("prod");
    const controlPlane = nodes.find((n) => n.name === "cp-1") as ValidatorNode;
    expect(controlPlane).to.include({
      runs: "v1.14",
      machineType: "controlplane",
      clusterName: "prod",
      clusterEndpoint: "https://10.20.0.10:6443",
      talosVersion: "v1.14",
    });
    expect(controlPlane.patches[0]).to.match(/^# install: /);
    expect(nodes.filter((n) => n.machineType === "worker")).to.not.be.empty;
  });

  it("renders the same configs for the v1.13 and v1.14 contracts, so moving a cluster's contract changes no node", async () => {
    // The provider's machinery (v1.13) has no switch for a v1.14 contract: the update after a minor
    // upgrade, which moves the contract (configContractOf), applies nothing.
    const nodes = await nodesOf("prod");
    // One run: the renders share its throwaway secrets.
    const configs = renderConfigs(validators, [
      ...nodes.map((n) => ({ ...n, talosVersion: "v1.13" })),
      ...nodes.map((n) => ({ ...n, talosVersion: "v1.14" })),
    ]).map((r) => r.config);
    expect(configs.slice(nodes.length)).to.deep.equal(configs.slice(0, nodes.length));
  });

  it("cannot load a Talos v1.14 document through the provider's machinery, which the checks refuse for that reason", async () => {
    const [node] = await nodesOf("homelab");
    expect(() =>
      renderConfigs(validators, [
        { ...node, patches: [...node.patches, "apiVersion: v1alpha1\nkind: KubeletConfig\n"] },
      ]),
    ).to.throw(/"KubeletConfig" "v1alpha1": not registered/);
  });

  for (const [minor, release] of Object.entries(RELEASES)) {
    it(`fails a config Talos ${minor} refuses, with Talos's message`, async () => {
      const [node] = await nodesOf("homelab", (c) => (c.talosVersion = release));
      const [result] = validateNodes(validators, [
        {
          ...node,
          patches: [...node.patches, "machine:\n  kubelet:\n    nodeIP:\n      validSubnets: [not-a-cidr]\n"],
        },
      ]);
      expect(result.valid).to.equal(false);
      expect(result.error).to.include('kubelet nodeIP subnet is not valid: "not-a-cidr"');
    });
  }
});
