/**
 * The homelab and prod stacks end to end under the offline engine: the whole Talos lifecycle with the
 * ordering of the guide, the outputs, and per-node machine config.
 */
import { expect } from "chai";
import { parseAllDocuments } from "yaml";
import { SECRET } from "../tools/offline/engine";
import { machineConfigs } from "../tools/offline/render";
import { exampleCluster, one, ofType, runStack, succeeded, TYPES, waitsOn } from "./harness";

function docsOf(yaml: string): Record<string, unknown>[] {
  return parseAllDocuments(yaml)
    .map((d) => d.toJS() as Record<string, unknown> | null)
    .filter((d): d is Record<string, unknown> => d !== null);
}

describe("stacks", () => {
  for (const stack of ["homelab", "prod"] as const) {
    describe(stack, () => {
      it("bootstraps once and hands out a secret kubeconfig and talosconfig", async () => {
        const run = succeeded(await runStack(stack));
        expect(ofType(run, TYPES.bootstrap)).to.have.length(1);
        expect(ofType(run, TYPES.secrets)).to.have.length(1);
        expect(run.outputs?.kubeconfig).to.equal(SECRET);
        expect(run.outputs?.talosconfig).to.equal(SECRET);
        const vip = (exampleCluster(stack).vip as { ip: string }).ip;
        expect(run.outputs?.endpoint).to.equal(`https://${vip}:6443`);
      });

      it("applies a config to every node, and no worker waits for bootstrap", async () => {
        const run = succeeded(await runStack(stack));
        const bootstrap = ofType(run, TYPES.bootstrap)[0];
        const applies = ofType(run, TYPES.configApply);
        expect(applies).to.have.length(ofType(run, TYPES.vm).length);
        const workers = applies.filter((a) => a.parent?.includes("WorkerPool"));
        expect(workers).to.not.be.empty;
        for (const apply of workers) {
          expect(waitsOn(run, apply, bootstrap), apply.name).to.equal(false);
        }
      });

      it("writes each node's patches for its role into machine-config/", async () => {
        const run = succeeded(await runStack(stack));
        const files = machineConfigs(run);
        const nodes = run.outputs?.nodes as Record<string, { role: string }>;
        expect([...files.keys()].sort()).to.deep.equal(Object.keys(nodes).sort());
        for (const [name, yaml] of files) {
          const docs = docsOf(yaml);
          const vips = docs.filter((d) => d.kind === "Layer2VIPConfig");
          expect(vips, name).to.have.length(nodes[name].role === "controlplane" ? 1 : 0);
          expect(docs.filter((d) => d.kind === "HostnameConfig")[0]).to.include({ hostname: name });
          const longhorn = yaml.includes("/var/lib/longhorn");
          expect(longhorn, name).to.equal(nodes[name].role === "worker");
        }
      });
    });
  }

  it("spreads prod's control planes over three Proxmox nodes and protects them", async () => {
    const run = succeeded(await runStack("prod"));
    const cps = ofType(run, TYPES.vm).filter((vm) => vm.parent?.includes("ControlPlane"));
    expect(new Set(cps.map((vm) => vm.inputs.nodeName))).to.deep.equal(new Set(["pve1", "pve2", "pve3"]));
    expect(cps.every((vm) => vm.options.protect)).to.equal(true);
    expect(one(run, TYPES.secrets, "prod-secrets").options.protect).to.equal(true);
  });

  it("applies the stack's own config patches after the library's", async () => {
    const cluster = exampleCluster("homelab");
    (cluster.workerPools as Record<string, unknown>[])[0].configPatches = [
      { machine: { sysctls: { "vm.max_map_count": "262144" } } },
    ];
    const run = succeeded(await runStack("homelab", cluster));
    const patches = one(run, TYPES.configApply, "homelab-general-w-1-config").inputs
      .configPatches as string[];
    expect(docsOf(patches[patches.length - 1])).to.deep.equal([
      { machine: { sysctls: { "vm.max_map_count": "262144" } } },
    ]);
  });

  it("keeps Talos's Flannel and kube-proxy when the stack asks for flannel", async () => {
    const cluster = exampleCluster("homelab");
    cluster.cni = "flannel";
    const run = succeeded(await runStack("homelab", cluster));
    for (const yaml of machineConfigs(run).values()) {
      expect(yaml).to.not.match(/cni:|proxy:/);
    }
  });
});
