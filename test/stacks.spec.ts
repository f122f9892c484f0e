/**
 * The homelab and prod stacks end to end under the offline engine: the whole Talos lifecycle with the
 * ordering of the guide, the outputs, and per-node machine config.
 */
import { expect } from "chai";
import { parseAllDocuments } from "yaml";
import { SECRET } from "../tools/offline/engine";
import { machineConfigs } from "../tools/offline/render";
import { exampleCluster, one, ofType, runStack, succeeded, TOKENS, TYPES, waitsOn } from "./harness";

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

  it("with kube-vip holding prod's VIP at .10, keeps every node's IP its own and kube-vip on the local API", async () => {
    // kube-vip adds the VIP (10.20.0.10) as a /32 on the control planes' NIC, below their .11-.13: only
    // the pinned subnets keep Talos from taking it as the node's IP.
    const cluster = exampleCluster("prod");
    (cluster.vip as Record<string, unknown>).provider = "kube-vip";
    const run = succeeded(await runStack("prod", cluster));
    const nodes = run.outputs?.nodes as Record<string, { role: string; ip: string }>;
    for (const [name, yaml] of machineConfigs(run)) {
      const docs = docsOf(yaml) as { machine?: Record<string, unknown>; cluster?: Record<string, unknown> }[];
      const only = [`${nodes[name].ip}/32`];
      expect(docs, name).to.deep.include({
        machine: { kubelet: { nodeIP: { validSubnets: only } } },
        ...(nodes[name].role === "controlplane" ? { cluster: { etcd: { advertisedSubnets: only } } } : {}),
      });
      const pods = docs.flatMap(
        (d) => (d.machine?.pods as { spec: Record<string, unknown> }[] | undefined) ?? [],
      );
      expect(pods, name).to.have.length(nodes[name].role === "controlplane" ? 1 : 0);
      for (const pod of pods) {
        expect(pod.spec.hostAliases, name).to.deep.equal([{ hostnames: ["kubernetes"], ip: "127.0.0.1" }]);
      }
    }
  });

  it("checks Kubernetes readiness after Cilium and every worker, with the node list as its trigger", async () => {
    const run = succeeded(await runStack("prod"));
    const ready = one(run, "command:local:Command", "prod-ready");
    const nodes = Object.keys(run.outputs?.nodes as Record<string, unknown>).sort();
    expect(ready.inputs.environment).to.include({
      CNI: "cilium",
      NODES: nodes.join(" "),
      READY_TIMEOUT: "30m",
    });
    expect(ready.inputs.stdin).to.equal(SECRET);
    expect(waitsOn(run, ready, one(run, "kubernetes:helm.sh/v3:Release", "prod-cilium"))).to.equal(true);
    for (const apply of ofType(run, TYPES.configApply)) {
      expect(waitsOn(run, ready, apply), apply.name).to.equal(true);
    }
  });

  it("lets the control planes take workloads only in a cluster without workers", async () => {
    const schedulable = (run: Awaited<ReturnType<typeof runStack>>) =>
      [...machineConfigs(run).values()].map((yaml) => yaml.includes("allowSchedulingOnControlPlanes: true"));
    expect(schedulable(succeeded(await runStack("homelab")))).to.not.include(true);
    const cluster = exampleCluster("homelab");
    cluster.workerPools = [];
    cluster.longhorn = { enabled: false };
    const alone = succeeded(await runStack("homelab", cluster));
    const configs = machineConfigs(alone);
    expect([...configs.keys()]).to.not.be.empty;
    expect(schedulable(alone)).to.deep.equal([...configs.keys()].map(() => true));
  });

  it("installs Cilium and kube-vip through a provider built from the kubeconfig, after bootstrap", async () => {
    const run = succeeded(await runStack("homelab"));
    const provider = one(run, "pulumi:providers:kubernetes", "homelab-kubernetes");
    expect(provider.inputs).to.deep.equal({ kubeconfig: SECRET, clusterIdentifier: "homelab" });
    expect(provider.dependencies).to.include(one(run, TYPES.kubeconfig, "homelab-kubeconfig").urn);
    expect(waitsOn(run, provider, ofType(run, TYPES.bootstrap)[0])).to.equal(true);
    const addOns = run.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:"));
    expect(addOns.map((r) => r.type)).to.include.members([
      "kubernetes:helm.sh/v3:Release",
      "kubernetes:apps/v1:DaemonSet",
      "kubernetes:apps/v1:Deployment",
    ]);
    for (const resource of addOns) {
      expect(resource.options.provider, resource.name).to.match(
        /::talos-proxmox:index:TalosCluster\$pulumi:providers:kubernetes::homelab-kubernetes::/,
      );
    }
    // kube-vip's cloud provider needs pod networking: it waits for Cilium.
    const release = one(run, "kubernetes:helm.sh/v3:Release", "homelab-cilium");
    const cloudProvider = one(run, "kubernetes:apps/v1:Deployment", "homelab-kube-vip-cloud-provider");
    expect(waitsOn(run, cloudProvider, release)).to.equal(true);
  });

  it("gates the kubeconfig output on a full health check of every node, after the CNI", async () => {
    const run = succeeded(await runStack("prod"));
    const checks = run.invokes.filter((i) => i.token === TOKENS.health);
    expect(checks.map((c) => c.args.skipKubernetesChecks)).to.deep.equal([true, false]);
    const full = checks[1];
    expect(full.args).to.deep.include({
      controlPlaneNodes: ["10.20.0.11", "10.20.0.12", "10.20.0.13"],
      endpoints: ["10.20.0.11", "10.20.0.12", "10.20.0.13"],
      workerNodes: ["10.20.0.21", "10.20.0.22", "10.20.0.23"],
      timeouts: { read: "30m" },
    });
    const release = one(run, "kubernetes:helm.sh/v3:Release", "prod-cilium");
    const workerApplies = ofType(run, TYPES.configApply).filter((a) => a.parent?.includes("WorkerPool"));
    expect([release, ...workerApplies].every((r) => r.seq < full.seq)).to.equal(true);
    expect(run.outputs?.kubeconfig).to.equal(SECRET);
  });

  it("skips both health checks in an update that removes a node, which is still a member until deleted", async () => {
    // The record of the last update, with w-3, which this description no longer has.
    const before = succeeded(await runStack("prod"));
    const cluster = exampleCluster("prod");
    (cluster.workerPools as { nodes: unknown[] }[])[0].nodes.pop();
    const run = succeeded(await runStack("prod", cluster, {}, { previousOutputs: before.outputs }));
    expect(run.invokes.filter((i) => i.token === TOKENS.health)).to.deep.equal([]);
    expect(run.outputs?.kubeconfig).to.equal(SECRET);
    // The update after it, with nothing left to remove, checks again.
    const next = succeeded(await runStack("prod", cluster, {}, { previousOutputs: run.outputs }));
    const again = next.invokes.filter((i) => i.token === TOKENS.health);
    expect(again.map((c) => c.args.skipKubernetesChecks)).to.deep.equal([true, false]);
  });

  it("lets kube-vip hold the API VIP from a static pod when asked, without the Talos VIP", async () => {
    const cluster = exampleCluster("homelab");
    cluster.vip = { ip: "192.168.10.50", provider: "kube-vip" };
    const run = succeeded(await runStack("homelab", cluster));
    const files = machineConfigs(run);
    const controlPlane = docsOf(files.get("cp-1") as string);
    expect(controlPlane.filter((d) => d.kind === "Layer2VIPConfig")).to.be.empty;
    expect(JSON.stringify(controlPlane)).to.include("ghcr.io/kube-vip/kube-vip:v1.2.3");
    // The kubeconfig patch carries the bootstrap token: it is a secret element of the patches.
    const patches = one(run, TYPES.configApply, "homelab-cp-1-config").inputs.configPatches as string[];
    expect(patches.filter((p) => p === SECRET)).to.have.length(1);
    expect(files.get("w-1")).to.not.include("kube-vip");
  });

  it("turns Talos's kube-dns forwarding off on every node when Cilium masquerades in eBPF", async () => {
    const cluster = exampleCluster("homelab");
    (cluster.cilium as Record<string, unknown>).values = { bpf: { masquerade: true } };
    const run = succeeded(await runStack("homelab", cluster));
    for (const [name, yaml] of machineConfigs(run)) {
      expect(yaml, name).to.include("forwardKubeDNSToHost: false");
    }
    const release = one(run, "kubernetes:helm.sh/v3:Release", "homelab-cilium");
    expect((release.inputs.values as { bpf: Record<string, unknown> }).bpf.masquerade).to.equal(true);
  });

  it("spreads prod's control planes over three Proxmox nodes and protects them", async () => {
    const run = succeeded(await runStack("prod"));
    const cps = ofType(run, TYPES.vm).filter((vm) => vm.parent?.includes("ControlPlane"));
    expect(new Set(cps.map((vm) => vm.inputs.nodeName))).to.deep.equal(new Set(["pve1", "pve2", "pve3"]));
    expect(cps.every((vm) => vm.options.protect)).to.equal(true);
    expect(one(run, TYPES.secrets, "prod-secrets").options.protect).to.equal(true);
  });

  it("gives a pool VirtIO SCSI Single with iothread only when the stack asks (siderolabs/talos#11173)", async () => {
    const cluster = exampleCluster("homelab");
    (cluster.controlPlane as Record<string, unknown>).scsiHardware = "virtio-scsi-single";
    const run = succeeded(await runStack("homelab", cluster));
    const cp = one(run, TYPES.vm, "homelab-cp-1").inputs;
    expect(cp.scsiHardware).to.equal("virtio-scsi-single");
    expect((cp.disks as Record<string, unknown>[])[0]).to.include({ iothread: true });
    const worker = one(run, TYPES.vm, "homelab-general-w-1").inputs;
    expect(worker.scsiHardware).to.equal("virtio-scsi-pci");
    expect((worker.disks as Record<string, unknown>[])[0]).to.include({ iothread: false });
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
    delete cluster.cilium;
    const run = succeeded(await runStack("homelab", cluster));
    for (const yaml of machineConfigs(run).values()) {
      expect(yaml).to.not.match(/cni:|proxy:/);
    }
  });
});
