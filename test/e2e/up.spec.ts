/**
 * End to end (`npm run test:e2e`; issue 21): the real Pulumi engine runs the real stack program,
 * homelab and prod, from an empty stack and then through every day-2 change the README promises, and
 * its stand-in providers act on a simulated cluster (TALOS_PROXMOX_SIM_CONTROL; tools/engine/standin,
 * tools/simcluster): each VM boots a machine from the downloaded ISO into maintenance mode, configs go
 * to the nodes over Talos's own client, etcd is bootstrapped once, the kubeconfig comes from the node,
 * Cilium's release puts its workloads in the real apiserver, and the commands run real talosctl and
 * kubectl. What each scenario checks is read from the cluster (its nodes, etcd, the real clients, the
 * timeline of what each node went through) and from the engine's state, never from the program's
 * own messages alone. The scenarios run in order on one cluster per stack, each from where the last
 * left it; after each, the day-2 invariants hold on what the nodes went through during it.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { DEFAULT_EXTENSIONS } from "../../components";
import { buildEngineTools, EngineWorkspace } from "../../tools/engine/pulumi";
import { changingSteps, PreviewDigest, touched } from "../../tools/engine/state";
import {
  buildClusterTools,
  ClusterTools,
  NodeSpec,
  NodeState,
  SimulatedCluster,
  startEmptyCluster,
  TimelineEntry,
} from "../../tools/simcluster/cluster";
import { assertInvariants, events } from "../simcluster/harness";
import { API_TOKEN, buildDist, editDescription, managedState, stackOutputs } from "../engine/harness";
import { recordFigure } from "../../tools/bench/e2e";

/** The Kubernetes the simulated apiserver runs (tools/simcluster: kube-apiserver v1.36.3). */
const KUBERNETES = "1.36.3";

type Node = { name: string; pveNode: string; ip: string; vmId: number };
type Description = {
  talosVersion: string;
  kubernetesVersion: string;
  deletionProtection: boolean;
  image: { extensions?: string[] };
  network: { nameservers: string[] };
  controlPlane: { nodes: Node[] };
  workerPools: { nodes: Node[]; cores: number; configPatches?: unknown[] }[];
};

/** Each stack on loopback: its network's addresses moved into 127.0.0.0/8. */
const E2E_STACKS = [
  { stack: "homelab", from: "192.168.10.", to: "127.0.10." },
  { stack: "prod", from: "10.20.0.", to: "127.0.20." },
];

/**
 * A config change a Talos v1.14 node applies live but takes up only when it boots: the environment of
 * its services (components/internal/reboot-sections.ts, TALOS_114_REBOOT_DOCUMENTS; the document of talos
 * v1.14.1 pkg/machinery/config/types/runtime/environment.go).
 */
const PROXY_PATCH =
  "apiVersion: v1alpha1\nkind: EnvironmentConfig\nvariables:\n  HTTPS_PROXY: http://proxy.internal:3128\n";

for (const { stack, from, to } of E2E_STACKS) {
  describe(`end to end: ${stack} through the real engine on a simulated cluster`, function () {
    this.timeout(30 * 60_000);
    // Each scenario starts where the last left the cluster: after a failure the rest would only fail.
    this.bail(true);
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
    const controlPlanes = () => description.controlPlane.nodes;
    const workers = () => description.workerPools.flatMap((p) => p.nodes);
    const names = (list: { name: string }[]) => list.map((n) => n.name);

    /** `pulumi up` with the cluster's environment; its output kept in the cluster's directory. */
    const up = (label: string, expectFailure = false) => {
      const started = Date.now();
      const result = ws.pulumi(["up", "--yes", "--skip-preview"], env());
      const output = `${result.stdout}\n${result.stderr}`;
      writeFileSync(join(cluster.dir, `${label}.log`), output);
      if (expectFailure) {
        expect(result.status, output).to.not.equal(0);
      } else {
        expect(result.status, output).to.equal(0);
      }
      recordFigure(stack, label, Date.now() - started);
      return output;
    };
    const preview = () => JSON.parse(ws.ok(["preview", "--json"], env())) as PreviewDigest;
    const edit = (change: (c: Description) => void) =>
      editDescription<Description>(ws, stack, (c) => {
        change(c);
        description = c;
      });
    const liveNodes = async () => (await cluster.nodes()).filter((n) => !n.gone);
    const kubectl = (...args: string[]) => {
      const kubeconfig = join(cluster.dir, "e2e.kubeconfig");
      writeFileSync(kubeconfig, String(stackOutputs(ws).kubeconfig), { mode: 0o600 });
      return execFileSync(tools.kubectl, ["--kubeconfig", kubeconfig, ...args], { encoding: "utf8" });
    };
    const kubeletVersions = () =>
      (
        JSON.parse(kubectl("get", "nodes", "-o", "json")) as {
          items: { metadata: { name: string }; status: { nodeInfo: { kubeletVersion: string } } }[];
        }
      ).items.map((n) => [n.metadata.name, n.status.nodeInfo.kubeletVersion]);

    /**
     * Runs one day-2 change: the description edited, `pulumi up`, and what the nodes went through
     * during it, on which the day-2 invariants must hold. A one-member etcd (homelab) is down while its
     * node reboots, whatever the order: there the quorum invariant cannot hold and is not asked.
     */
    const change = async (label: string, changeIt: (c: Description) => void) => {
      const before = await liveNodes();
      const mark = (await cluster.timeline()).length;
      edit(changeIt);
      up(label);
      const timeline = (await cluster.timeline()).slice(mark);
      writeFileSync(join(cluster.dir, `${label}.timeline.json`), JSON.stringify(timeline, null, 1));
      checkInvariants(timeline, before);
      return timeline;
    };
    const checkInvariants = (timeline: TimelineEntry[], before: NodeState[]) => {
      const specs = before.map((n) => ({ name: n.name, role: n.role }) as NodeSpec);
      // A node added during the change installs and reboots before it is part of the cluster.
      const members = timeline.filter((e) => before.some((n) => n.name === e.node));
      assertInvariants(members, specs, 1, before.filter((n) => n.etcdMember).length > 1);
    };
    /** The order a workers-first roll takes the nodes in, one at a time. */
    const rollOrder = () => [...names(workers()), ...names(controlPlanes())];

    before(async function () {
      this.timeout(90 * 60_000); // cold builds
      tools = buildClusterTools();
      ws = new EngineWorkspace(buildEngineTools());
      cluster = await startEmptyCluster(tools);
      buildDist(ws);
      ws.ok(["stack", "init", stack]);
      ws.ok(["config", "set", "--secret", "proxmoxve:apiToken", API_TOKEN]);
      edit((c) => {
        Object.assign(c, JSON.parse(JSON.stringify(c).replaceAll(from, to)), {
          kubernetesVersion: KUBERNETES,
        });
        c.network.nameservers = c.network.nameservers.slice(0, 1);
      });
    });

    after(async () => {
      await cluster?.stop();
      if (!process.env.TALOS_PROXMOX_KEEP_CLUSTER) {
        ws?.remove();
      }
    });

    it("goes from an empty stack to a cluster that is healthy through the project's own gates", async () => {
      up("create");
      const nodes = await cluster.nodes();
      const cpIps = controlPlanes().map((n) => n.ip);
      expect(names(nodes).sort()).to.deep.equal(rollOrder().sort());
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
      expect(events(timeline, "bootstrap")).to.deep.equal([controlPlanes()[0].name]);
      expect(events(timeline, "installing").sort()).to.deep.equal(rollOrder().sort());

      // The kubeconfig output, with real kubectl: every node Ready on the stack's Kubernetes, and Cilium's
      // agents from the Helm release.
      expect(kubeletVersions()).to.deep.equal(
        rollOrder()
          .sort()
          .map((name) => [name, `v${KUBERNETES}`]),
      );
      kubectl("wait", "--for=condition=Ready", "nodes", "--all", "--timeout", "10s");
      const cilium = JSON.parse(kubectl("-n", "kube-system", "get", "daemonset", "cilium", "-o", "json")) as {
        metadata: { labels: Record<string, string> };
      };
      expect(cilium.metadata.labels["app.kubernetes.io/managed-by"]).to.equal("Helm");

      // The talosconfig output, with real talosctl: every node answers with the stack's Talos.
      const talosconfig = join(cluster.dir, "e2e.talosconfig");
      writeFileSync(talosconfig, String(stackOutputs(ws).talosconfig), { mode: 0o600 });
      for (const { ip } of [...controlPlanes(), ...workers()]) {
        const out = execFileSync(
          tools.talosctl114,
          ["--talosconfig", talosconfig, "-e", cpIps[0], "-n", ip, "get", "version", "-o", "yaml"],
          { encoding: "utf8", env: { HOME: cluster.dir } },
        );
        const [version] = parseAllDocuments(out).map((d) => (d.toJS() as { spec: { version: string } }).spec);
        expect(version.version, ip).to.equal(description.talosVersion);
      }
    });

    it("then previews no change, and an up without a change takes it nowhere", async () => {
      expect(changingSteps(preview())).to.deep.equal([]);
      const state = managedState(ws);
      const mark = (await cluster.timeline()).length;
      up("no-change");
      recordFigure(stack, "resources", state.length);
      expect(touched(state, managedState(ws))).to.deep.equal({});
      expect((await cluster.timeline()).slice(mark)).to.deep.equal([]);
    });

    it("rolls a Talos patch bump node by node, drained and health-gated; the next up touches nothing", async () => {
      const timeline = await change("talos-patch", (c) => (c.talosVersion = "v1.14.2"));
      recordFigure(stack, "roll", timeline);
      expect(events(timeline, "upgrade-installed")).to.deep.equal(rollOrder());
      expect(events(timeline, "down")).to.deep.equal(rollOrder());
      for (const node of await liveNodes()) {
        expect([node.name, node.version, node.staged]).to.deep.equal([node.name, "v1.14.2", false]);
      }
      // The health gate after each node: the rollout's own report, kept in the engine's state.
      const rollout = managedState(ws).find((r) => r.urn.endsWith("upgrade-rollout"));
      expect(String(rollout?.outputs?.stdout).match(/health gate after/g)).to.have.length(rollOrder().length);

      const state = managedState(ws);
      const mark = (await cluster.timeline()).length;
      up("talos-patch-again");
      expect(touched(state, managedState(ws))).to.deep.equal({});
      expect((await cluster.timeline()).slice(mark)).to.deep.equal([]);
    });

    it("upgrades every node to the new schematic of an extension change, its version kept", async () => {
      const [old] = await liveNodes();
      const timeline = await change("extension", (c) => {
        c.image.extensions = [...(c.image.extensions ?? DEFAULT_EXTENSIONS), "siderolabs/intel-ucode"];
      });
      expect(events(timeline, "upgrade-installed")).to.deep.equal(rollOrder());
      const nodes = await liveNodes();
      expect(new Set(nodes.map((n) => n.schematic)).size).to.equal(1);
      expect(nodes[0].schematic).to.not.equal(old.schematic);
      for (const node of nodes) {
        expect(node.version, node.name).to.equal("v1.14.2");
      }
    });

    it("moves every kubelet to a Kubernetes bump once the Talos roll has nothing to do", async () => {
      const timeline = await change("kubernetes", (c) => (c.kubernetesVersion = "1.36.4"));
      expect(cluster.upgradeK8sCalls()).to.deep.equal(["upgrade-k8s --to 1.36.4"]);
      expect(events(timeline, "upgrade-installed")).to.deep.equal([]);
      expect(kubeletVersions()).to.deep.equal(
        rollOrder()
          .sort()
          .map((name) => [name, "v1.36.4"]),
      );
    });

    it("applies a config patch that takes a reboot, then reboots only the nodes it changed, drained", async () => {
      const timeline = await change("reboot-patch", (c) => {
        c.workerPools[0].configPatches = [PROXY_PATCH];
      });
      const pool = names(description.workerPools[0].nodes);
      expect(events(timeline, "config-applied").sort()).to.deep.equal([...pool].sort());
      expect(events(timeline, "down")).to.deep.equal(pool);
      for (const node of await liveNodes()) {
        expect([node.name, node.staged]).to.deep.equal([node.name, false]);
        expect(node.bootedWith.includes("proxy.internal"), node.name).to.equal(pool.includes(node.name));
      }
    });

    it("stops a roll at a failed upgrade with the project's message; the next up resumes and finishes", async () => {
      const failing = workers()[1];
      await cluster.fault("fail-upgrade", failing.name);
      const before = await liveNodes();
      const mark = (await cluster.timeline()).length;
      edit((c) => (c.talosVersion = "v1.14.3"));
      const output = up("fault", true);
      expect(output).to.include(`${failing.name} (${failing.ip}): the upgrade failed; the roll stops here`);
      const failed = (await cluster.timeline()).slice(mark);
      expect(events(failed, "down")).to.deep.equal([workers()[0].name]);

      await cluster.fault("fail-upgrade", failing.name, false);
      up("resume");
      const timeline = (await cluster.timeline()).slice(mark);
      writeFileSync(join(cluster.dir, "resume.timeline.json"), JSON.stringify(timeline, null, 1));
      checkInvariants(timeline, before);
      // Each node upgraded once: the first worker, done before the fault, is not taken down again.
      expect(events(timeline, "down")).to.deep.equal(rollOrder());
      for (const node of await liveNodes()) {
        expect(node.version, node.name).to.equal("v1.14.3");
      }
    });

    it("adds a worker: it boots, installs and joins, and no other node goes down", async () => {
      const pool = description.workerPools[0].nodes;
      const last = pool[pool.length - 1];
      const added = {
        ...last,
        name: `w-${pool.length + 1}`,
        ip: `${to}${21 + pool.length}`,
        vmId: last.vmId + 1,
      };
      const timeline = await change("add-worker", (c) => c.workerPools[0].nodes.push(added));
      expect(events(timeline, "installing")).to.deep.equal([added.name]);
      // Down only to boot from its disk once installed.
      expect(events(timeline, "down", true)).to.deep.equal([`${added.name} install`]);
      // Installed by its config's installer, on the cluster's Talos and schematic, not the ISO's.
      const nodes = await liveNodes();
      const node = nodes.find((n) => n.name === added.name);
      expect([node?.ip, node?.version, node?.schematic, node?.role]).to.deep.equal([
        added.ip,
        description.talosVersion,
        nodes[0].schematic,
        "worker",
      ]);
      kubectl("wait", "--for=condition=Ready", `node/${added.name}`, "--timeout", "10s");
    });

    it("removes a worker: drained, reset, its VM deleted, its Node object gone", async () => {
      const removed = workers()[workers().length - 1].name;
      const timeline = await change("remove-worker", (c) => c.workerPools[0].nodes.pop());
      expect(events(timeline, "down", true)).to.deep.equal([`${removed} reset`]);
      expect(events(timeline, "vm-deleted")).to.deep.equal([removed]);
      expect(names(await liveNodes())).to.not.include(removed);
      expect(kubeletVersions().map(([name]) => name)).to.deep.equal(rollOrder().sort());
    });

    if (stack === "prod") {
      it("adds two control planes, then removes them: each joins etcd, then leaves it, quorum kept", async () => {
        // Protection off first, on its own: the VMs' protection flag only, nothing on the nodes.
        expect(await change("protection-off", (c) => (c.deletionProtection = false))).to.deep.equal([]);
        const last = controlPlanes()[controlPlanes().length - 1];
        // On two other Proxmox nodes: with highAvailability, one may run at most 2 of 5 control planes.
        const added = ["pve1", "pve2"].map((pveNode, i) => ({
          ...last,
          name: `cp-${controlPlanes().length + i + 1}`,
          pveNode,
          ip: `${to}${11 + controlPlanes().length + i}`,
          vmId: last.vmId + i + 1,
        }));
        const kept = names(controlPlanes());
        const joined = await change("add-control-planes", (c) => c.controlPlane.nodes.push(...added));
        expect(events(joined, "installing").sort()).to.deep.equal(names(added));
        expect(events(joined, "down", true).sort()).to.deep.equal(added.map((n) => `${n.name} install`));
        const members = async () => names((await liveNodes()).filter((n) => n.etcdMember)).sort();
        expect(await members()).to.deep.equal([...kept, ...names(added)].sort());

        // 5 → 3: two members at once, which keeps the quorum of 5; they leave one at a time.
        const timeline = await change("remove-control-planes", (c) =>
          c.controlPlane.nodes.splice(kept.length),
        );
        expect(events(timeline, "etcd-left").sort()).to.deep.equal(names(added));
        expect(events(timeline, "down", true).sort()).to.deep.equal(added.map((n) => `${n.name} reset`));
        expect(events(timeline, "vm-deleted").sort()).to.deep.equal(names(added));
        expect(await members()).to.deep.equal([...kept].sort());
        expect(kubeletVersions().map(([name]) => name)).to.deep.equal(rollOrder().sort());
      });
    }

    it("refuses bad changes before anything is created: the state and the cluster untouched", async () => {
      const refusals: { what: string; path: string; edit: (c: Description) => void }[] = [
        { what: "down a Talos minor", path: "talosVersion", edit: (c) => (c.talosVersion = "v1.13.9") },
        {
          // Proxmox would reboot every VM of the pool at once, undrained (bpg v0.111.1 reboot_after_update).
          what: "a worker pool's cores changed on running VMs",
          path: "workerPools[0].cores",
          edit: (c) => (c.workerPools[0].cores = 3),
        },
        {
          what: "a worker outside the network",
          path: "workerPools[0].nodes[0].ip",
          edit: (c) => (c.workerPools[0].nodes[0].ip = "127.99.0.1"),
        },
        stack === "prod"
          ? {
              what: "two of three control planes removed at once",
              path: "controlPlane.nodes",
              edit: (c) => c.controlPlane.nodes.splice(1),
            }
          : {
              what: "no control plane",
              path: "controlPlane.nodes",
              edit: (c) => (c.controlPlane.nodes = []),
            },
      ];
      const kept = description;
      for (const refusal of refusals) {
        const state = managedState(ws);
        const nodes = await cluster.nodes();
        const mark = (await cluster.timeline()).length;
        edit((c) => refusal.edit(c));
        try {
          const output = up(`refused-${refusal.path}`, true);
          expect(output, refusal.what).to.include(refusal.path);
          expect(managedState(ws), refusal.what).to.deep.equal(state);
          expect(await cluster.nodes(), refusal.what).to.deep.equal(nodes);
          expect((await cluster.timeline()).slice(mark), refusal.what).to.deep.equal([]);
        } finally {
          edit((c) => Object.assign(c, JSON.parse(JSON.stringify(kept)) as Description));
        }
      }
      expect(changingSteps(preview())).to.deep.equal([]);
    });
  });
}
