/**
 * End to end (`npm run test:e2e`; issue 21, its first scenario): the real Pulumi engine runs the real
 * stack program, homelab and prod, from an empty stack, and its stand-in providers act on a simulated
 * cluster (TALOS_PROXMOX_SIM_CONTROL; tools/engine/standin, tools/simcluster): each VM boots a machine
 * from the downloaded ISO into maintenance mode, configs go to the nodes over Talos's own client, etcd is
 * bootstrapped once, the kubeconfig comes from the node, Cilium's release puts its workloads in the real
 * apiserver, and the commands run real talosctl and kubectl. What it checks is read from the cluster:
 * the nodes, their versions, etcd, the outputs working with the real clients, the timeline.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { buildEngineTools, EngineWorkspace } from "../../tools/engine/pulumi";
import { changingSteps } from "../../tools/engine/state";
import {
  buildClusterTools,
  ClusterTools,
  SimulatedCluster,
  startEmptyCluster,
} from "../../tools/simcluster/cluster";
import { events } from "../simcluster/harness";
import { API_TOKEN, buildDist, editDescription, preview, stackOutputs } from "../engine/harness";

/** Each stack on loopback: its network's addresses moved into 127.0.0.0/8. */
const STACKS = [
  {
    stack: "homelab",
    from: "192.168.10.",
    to: "127.0.10.",
    controlPlanes: ["cp-1"],
    workers: ["w-1", "w-2"],
  },
  {
    stack: "prod",
    from: "10.20.0.",
    to: "127.0.20.",
    controlPlanes: ["cp-1", "cp-2", "cp-3"],
    workers: ["w-1", "w-2", "w-3"],
  },
];
/** The Kubernetes the simulated apiserver runs (tools/simcluster: kube-apiserver v1.36.3). */
const KUBERNETES = "1.36.3";

type Description = {
  talosVersion: string;
  network: { nameservers: string[] };
  controlPlane: { nodes: { name: string; ip: string }[] };
  workerPools: { nodes: { name: string; ip: string }[] }[];
};

for (const { stack, from, to, controlPlanes, workers } of STACKS) {
  describe(`end to end: pulumi up of ${stack} on a simulated cluster`, function () {
    this.timeout(30 * 60_000);
    let tools: ClusterTools;
    let cluster: SimulatedCluster;
    let ws: EngineWorkspace;
    let description: Description;
    const env = () => ({
      ...cluster.env,
      // talosctl (tools/simcluster/upgrade-k8s.sh before the real v1.14.1) and kubectl, then the CLI.
      PATH: `${cluster.env.PATH}:${ws.env.PATH}`,
      TALOS_PROXMOX_SIM_TALOSCTL: tools.talosctl114,
    });

    before(async function () {
      this.timeout(90 * 60_000); // cold builds
      tools = buildClusterTools();
      ws = new EngineWorkspace(buildEngineTools());
      cluster = await startEmptyCluster(tools);
      buildDist(ws);
      ws.ok(["stack", "init", stack]);
      ws.ok(["config", "set", "--secret", "proxmoxve:apiToken", API_TOKEN]);
      editDescription<Description>(ws, stack, (c) => {
        Object.assign(c, JSON.parse(JSON.stringify(c).replaceAll(from, to)), {
          kubernetesVersion: KUBERNETES,
        });
        c.network.nameservers = c.network.nameservers.slice(0, 1);
        description = c;
      });
    });

    after(async () => {
      await cluster?.stop();
      if (!process.env.TALOS_PROXMOX_KEEP_CLUSTER) {
        ws?.remove();
      }
    });

    it("goes from an empty stack to a cluster that is healthy through the project's own gates", async () => {
      const result = ws.pulumi(["up", "--yes", "--skip-preview"], env());
      writeFileSync(join(cluster.dir, "up.log"), `${result.stdout}\n${result.stderr}`);
      expect(result.status, `${result.stdout}\n${result.stderr}`).to.equal(0);

      const nodes = await cluster.nodes();
      const ips = (list: { ip: string }[]) => list.map((n) => n.ip);
      const cpIps = ips(description.controlPlane.nodes);
      const workerIps = ips(description.workerPools.flatMap((p) => p.nodes));
      expect(nodes.map((n) => n.name).sort()).to.deep.equal([...controlPlanes, ...workers].sort());
      for (const node of nodes) {
        expect(node.version, node.name).to.equal(description.talosVersion);
        expect(node.role, node.name).to.equal(cpIps.includes(node.ip) ? "controlplane" : "worker");
      }
      expect(
        nodes
          .filter((n) => n.etcdMember)
          .map((n) => n.ip)
          .sort(),
      ).to.deep.equal([...cpIps].sort());
      const timeline = await cluster.timeline();
      expect(events(timeline, "bootstrap")).to.deep.equal(["cp-1"]);
      expect(events(timeline, "installing").sort()).to.deep.equal([...controlPlanes, ...workers].sort());

      // The kubeconfig output, with real kubectl: every node Ready on the stack's Kubernetes, and Cilium's
      // agents from the Helm release.
      const outputs = stackOutputs(ws);
      const kubeconfig = join(cluster.dir, "e2e.kubeconfig");
      writeFileSync(kubeconfig, String(outputs.kubeconfig), { mode: 0o600 });
      const kubectl = (...args: string[]) =>
        execFileSync(tools.kubectl, ["--kubeconfig", kubeconfig, ...args], { encoding: "utf8" });
      const kubeNodes = JSON.parse(kubectl("get", "nodes", "-o", "json")) as {
        items: { metadata: { name: string }; status: { nodeInfo: { kubeletVersion: string } } }[];
      };
      expect(kubeNodes.items.map((n) => [n.metadata.name, n.status.nodeInfo.kubeletVersion])).to.deep.equal(
        [...controlPlanes, ...workers].sort().map((name) => [name, `v${KUBERNETES}`]),
      );
      kubectl("wait", "--for=condition=Ready", "nodes", "--all", "--timeout", "10s");
      const cilium = JSON.parse(kubectl("-n", "kube-system", "get", "daemonset", "cilium", "-o", "json")) as {
        metadata: { labels: Record<string, string> };
      };
      expect(cilium.metadata.labels["app.kubernetes.io/managed-by"]).to.equal("Helm");

      // The talosconfig output, with real talosctl: every node answers with the stack's Talos.
      const talosconfig = join(cluster.dir, "e2e.talosconfig");
      writeFileSync(talosconfig, String(outputs.talosconfig), { mode: 0o600 });
      for (const ip of [...cpIps, ...workerIps]) {
        const out = execFileSync(
          tools.talosctl114,
          ["--talosconfig", talosconfig, "-e", cpIps[0], "-n", ip, "get", "version", "-o", "yaml"],
          { encoding: "utf8", env: { HOME: cluster.dir } },
        );
        const [version] = parseAllDocuments(out).map((d) => (d.toJS() as { spec: { version: string } }).spec);
        expect(version.version, ip).to.equal(description.talosVersion);
      }
    });

    it("then previews no change", () => {
      expect(changingSteps(preview(ws))).to.deep.equal([]);
    });
  });
}
