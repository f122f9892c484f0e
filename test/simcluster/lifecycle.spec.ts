/**
 * The lifecycle scripts (components/scripts) run by bash against a simulated cluster: real talosctl
 * v1.13.9 and kubectl v1.36.3, a real kube-apiserver v1.36.3 on etcd v3.6.8, and talos-api standing in
 * for the Talos nodes (tools/simcluster). After every scenario, withCluster checks the day-2 invariants
 * on what the nodes went through (assertInvariants).
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  APPLY_GATE_SCRIPT,
  CONFIG_ROLL_SCRIPT,
  DECOMMISSION_SCRIPT,
  PREFLIGHT_SCRIPT,
  READY_SCRIPT,
  ROLLOUT_SCRIPT,
} from "../../components/internal/scripts";
import { FaultKind, NodeSpec } from "../../tools/simcluster/cluster";
import {
  applyConfig,
  clusterTools,
  events,
  machineConfig,
  PROXY,
  ROLLOUT_ENV,
  WORKERS_THEN_CONTROL_PLANES,
  NODES,
  OLD,
  runScript,
  talosctl,
  waitForEvent,
  withCluster,
} from "./harness";

const ip = (name: string) => NODES.find((n) => n.name === name)?.ip ?? "";

describe("lifecycle scripts on a simulated cluster (real talosctl, kubectl, kube-apiserver)", function () {
  this.timeout(300_000);

  before(function () {
    this.timeout(60 * 60_000); // a cold build of the six programs
    clusterTools();
  });

  describe("preflight (when the cluster is created)", () => {
    const sim = withCluster();

    it("runs the real programs, each reporting its release version", () => {
      const tools = clusterTools();
      const version = (binary: string, ...args: string[]) =>
        execFileSync(binary, args, { encoding: "utf8", env: { HOME: sim.current().dir } });
      expect(version(tools.talosctl, "version", "--client", "--short")).to.include("Talos v1.13.9");
      expect(version(tools.kubectl, "version", "--client")).to.include("Client Version: v1.36.3");
      expect(version(tools.kubeApiserver, "--version")).to.equal("Kubernetes v1.36.3\n");
      expect(version(tools.etcd, "--version")).to.include("etcd Version: 3.6.8");
    });

    it("passes with talosctl of the target's minor and kubectl", async () => {
      const result = await runScript(sim.current(), PREFLIGHT_SCRIPT, {
        TARGET_VERSION: "v1.13.9",
        KUBERNETES_VERSION: "1.36.3",
      });
      expect(result.status, result.output).to.equal(0);
    });

    it("fails clearly without talosctl", async () => {
      const result = await runScript(sim.current(), PREFLIGHT_SCRIPT, { PATH: "/usr/bin:/bin" });
      expect(result.status).to.equal(1);
      expect(result.output).to.match(
        /talosctl is not on the PATH of the machine running Pulumi. Install talosctl v1\.13\.x/,
      );
    });

    it("fails clearly when the real talosctl is of another minor than the cluster", async () => {
      const result = await runScript(sim.current(), PREFLIGHT_SCRIPT, { TALOS_MINOR: "v1.12" });
      expect(result.status).to.equal(1);
      expect(result.output).to.match(/talosctl is v1\.13, but the cluster runs \(or rolls to\) Talos v1\.12/);
    });
  });

  describe("rollout", () => {
    const sim = withCluster();

    it("upgrades workers first, then control planes, one at a time, drained, with a health gate after each", async () => {
      const cluster = sim.current();
      const result = await runScript(cluster, ROLLOUT_SCRIPT, ROLLOUT_ENV);
      expect(result.status, result.output).to.equal(0);
      const timeline = await cluster.timeline();
      expect(events(timeline, "upgrade-installed")).to.deep.equal(WORKERS_THEN_CONTROL_PLANES);
      expect(events(timeline, "down")).to.deep.equal(WORKERS_THEN_CONTROL_PLANES);
      expect(result.output.match(/health gate after/g)).to.have.length(6);
      for (const node of await cluster.nodes()) {
        expect([node.name, node.version, node.schematic]).to.deep.equal([node.name, "v1.13.10", "bbbb"]);
      }
      // A control plane is upgraded through another control plane's endpoint: its own API goes away.
      expect(events(timeline, "upgrade-installed", true).find((e) => e.startsWith("cp-1"))).to.match(
        /via 127\.0\.0\.12$/,
      );
      expect(events(timeline, "uncordoned")).to.have.members(WORKERS_THEN_CONTROL_PLANES);
      // Issue 19, item 6: what a command prints lands in Pulumi's state (its stdout and stderr outputs).
      // A few lines of its own per node; talosctl's progress, a line per step, only when a step fails.
      expect(result.output).to.not.include("waiting for etcd to be healthy");
      expect(result.output.trim().split("\n")).to.have.length.below(40);
    });

    it("rolls control planes first when asked", async () => {
      const cluster = sim.current();
      const result = await runScript(cluster, ROLLOUT_SCRIPT, {
        ...ROLLOUT_ENV,
        ORDER: "control-plane-first",
      });
      expect(result.status, result.output).to.equal(0);
      const timeline = await cluster.timeline();
      expect(events(timeline, "down")).to.deep.equal(["cp-1", "cp-2", "cp-3", "w-1", "w-2", "w-3"]);
    });

    it("stops at a failed upgrade, and the next run resumes after the nodes already on the target", async () => {
      const cluster = sim.current();
      await cluster.fault("fail-upgrade", "w-2");
      const first = await runScript(cluster, ROLLOUT_SCRIPT, ROLLOUT_ENV);
      expect(first.status).to.equal(1);
      expect(first.output).to.match(/w-2 \(127\.0\.0\.22\): the upgrade failed; the roll stops here/);
      // talosctl installs before it drains (cmd/talosctl/cmd/talos/upgrade.go): w-2 was never taken down.
      expect(events(await cluster.timeline(), "down")).to.deep.equal(["w-1"]);

      await cluster.fault("fail-upgrade", "w-2", false);
      const second = await runScript(cluster, ROLLOUT_SCRIPT, ROLLOUT_ENV);
      expect(second.status, second.output).to.equal(0);
      expect(second.output).to.match(
        /w-1 \(127\.0\.0\.21\): on v1\.13\.10 with the target schematic, skipped/,
      );
      const timeline = await cluster.timeline();
      expect(events(timeline, "down")).to.deep.equal(WORKERS_THEN_CONTROL_PLANES);
    });

    it("touches nothing on a converged cluster: no upgrade, no reboot, no health gate", async () => {
      const cluster = sim.current();
      const result = await runScript(cluster, ROLLOUT_SCRIPT, {
        ...ROLLOUT_ENV,
        TARGET_VERSION: OLD.version,
        TARGET_SCHEMATIC: OLD.schematic,
      });
      expect(result.status, result.output).to.equal(0);
      const timeline = await cluster.timeline();
      expect(events(timeline, "upgrade-installed")).to.deep.equal([]);
      expect(events(timeline, "down")).to.deep.equal([]);
      expect(events(timeline, "cordoned")).to.deep.equal([]);
      expect(result.output).to.not.include("health gate");
      expect(cluster.upgradeK8sCalls()).to.deep.equal([]);
    });

    it("stops when the cluster is not healthy after a node", async () => {
      const cluster = sim.current();
      await cluster.fault("etcd-unhealthy", "cp-3");
      const result = await runScript(cluster, ROLLOUT_SCRIPT, { ...ROLLOUT_ENV, HEALTH_TIMEOUT: "3s" });
      expect(result.status).to.equal(1);
      expect(result.output).to.match(/the cluster is not healthy after w-1: the roll stops here/);
      const timeline = await cluster.timeline();
      expect(events(timeline, "down")).to.deep.equal(["w-1"]);
    });

    it("stops when Kubernetes is not ready after a node, which talosctl health does not check under Cilium", async () => {
      const cluster = sim.current();
      const running = runScript(cluster, ROLLOUT_SCRIPT, { ...ROLLOUT_ENV, HEALTH_TIMEOUT: "5s" });
      await waitForEvent(cluster, "w-1", "down");
      await cluster.fault("cilium-unavailable", "w-1");
      const result = await running;
      expect(result.status).to.equal(1);
      expect(result.output).to.match(
        /Kubernetes is not ready after w-1 \(nodes Ready, CoreDNS and cilium rolled out\)/,
      );
      const timeline = await cluster.timeline();
      expect(events(timeline, "down")).to.deep.equal(["w-1"]);
    });

    it("checks etcd before the first control plane goes down, and stops before it when a member is unhealthy", async () => {
      // Issue 19, item 1: talosctl upgrade on 1.13 nodes skips the etcd check, and the gate ran only
      // after a changed node, so cp-1 went down beside an unhealthy cp-3: quorum lost.
      const cluster = sim.current();
      await cluster.fault("etcd-unhealthy", "cp-3");
      const result = await runScript(cluster, ROLLOUT_SCRIPT, {
        ...ROLLOUT_ENV,
        ORDER: "control-plane-first",
        HEALTH_TIMEOUT: "3s",
      });
      expect(result.status).to.equal(1);
      expect(result.output).to.match(
        /cp-1 \(127\.0\.0\.11\): the cluster is not healthy .*could lose etcd quorum; nothing was done to this node/,
      );
      expect(result.output).to.include("waiting for etcd to be healthy");
      const timeline = await cluster.timeline();
      expect(events(timeline, "upgrade-installed")).to.deep.equal([]);
      expect(events(timeline, "down")).to.deep.equal([]);
    });

    it("stops at a drain a PodDisruptionBudget blocks, and says the node is cordoned with the new image installed", async () => {
      // Issue 19, item 3: talosctl upgrade installs, then drains; a failed drain returns before its
      // uncordon is registered (cmd/talosctl/cmd/talos/upgrade.go).
      const cluster = sim.current();
      await cluster.fault("block-drain", "w-1");
      const result = await runScript(cluster, ROLLOUT_SCRIPT, { ...ROLLOUT_ENV, UPGRADE_TIMEOUT: "8s" });
      expect(result.status).to.equal(1);
      expect(result.output).to.include(
        "PodDisruptionBudgets that allow no eviction now: default/workload-w-1",
      );
      expect(result.output).to.include(
        `w-1 is left cordoned, with ${ROLLOUT_ENV.TARGET_IMAGE} installed (talosctl installs before it drains), so its next boot, planned or not, runs v1.13.10. pulumi up resumes with it`,
      );
      const timeline = await cluster.timeline();
      expect(events(timeline, "upgrade-installed")).to.deep.equal(["w-1"]);
      expect(events(timeline, "cordoned")).to.deep.equal(["w-1"]);
      expect(events(timeline, "down")).to.deep.equal([]);
    });

    it("goes through another control plane when the first does not answer, and waits for it in the health gate", async () => {
      // Issue 19, item 8: the roll fetched the kubeconfig from, and ran the health gate on, the first
      // control plane, so a resume stalled while that one was the broken node.
      const cluster = sim.current();
      await cluster.fault("unreachable", "cp-1");
      const running = runScript(cluster, ROLLOUT_SCRIPT, ROLLOUT_ENV);
      await waitForEvent(cluster, "w-1", "upgrade-installed");
      await cluster.fault("unreachable", "cp-1", false);
      const result = await running;
      expect(result.status, result.output).to.equal(0);
      expect(events(await cluster.timeline(), "down")).to.deep.equal(WORKERS_THEN_CONTROL_PLANES);
    });

    it("refuses a Kubernetes move upgrade-k8s cannot make before any node is touched", async () => {
      // Issue 19, item 7: it failed in upgrade-k8s, after the whole Talos roll.
      const cluster = sim.current();
      const down = await runScript(cluster, ROLLOUT_SCRIPT, { ...ROLLOUT_ENV, KUBERNETES_VERSION: "1.35.2" });
      expect(down.status).to.equal(1);
      expect(down.output).to.include(
        "Kubernetes cannot go from v1.36.3 down to 1.35.2: talosctl upgrade-k8s moves within a minor or to the next one",
      );
      const jump = await runScript(cluster, ROLLOUT_SCRIPT, { ...ROLLOUT_ENV, KUBERNETES_VERSION: "1.38.0" });
      expect(jump.status).to.equal(1);
      expect(jump.output).to.include(
        "Kubernetes cannot go from v1.36.3 to 1.38.0 in one step: talosctl upgrade-k8s moves one minor at a time. Set kubernetesVersion to the newest 1.37.x",
      );
      const timeline = await cluster.timeline();
      expect(events(timeline, "upgrade-installed")).to.deep.equal([]);
      expect(events(timeline, "cordoned")).to.deep.equal([]);
      expect(cluster.upgradeK8sCalls()).to.deep.equal([]);
    });

    it("upgrades workers in batches when asked, control planes still one by one", async () => {
      const cluster = sim.current();
      sim.allowWorkersDown(2);
      const result = await runScript(cluster, ROLLOUT_SCRIPT, { ...ROLLOUT_ENV, MAX_PARALLEL_WORKERS: "2" });
      expect(result.status, result.output).to.equal(0);
      const timeline = await cluster.timeline();
      const window = (node: string) => {
        const down = timeline.find((e) => e.node === node && e.event === "down")?.ms ?? NaN;
        const up = timeline.find((e) => e.node === node && e.event === "up" && e.ms > down)?.ms ?? NaN;
        return [down, up];
      };
      const overlap = (a: string, b: string) => {
        const [aDown, aUp] = window(a);
        const [bDown, bUp] = window(b);
        return aDown < bUp && bDown < aUp;
      };
      expect(overlap("w-1", "w-2"), "w-1 and w-2 in one batch").to.equal(true);
      expect(overlap("w-2", "w-3"), "w-3 in the next batch").to.equal(false);
    });

    it("upgrades a node whose extensions changed even if its version did not", async () => {
      const cluster = sim.current();
      const result = await runScript(cluster, ROLLOUT_SCRIPT, {
        ...ROLLOUT_ENV,
        TARGET_VERSION: OLD.version,
        TARGET_IMAGE: `factory.talos.dev/nocloud-installer/bbbb:${OLD.version}`,
      });
      expect(result.status, result.output).to.equal(0);
      expect(events(await cluster.timeline(), "upgrade-installed")).to.have.length(6);
    });

    it("keeps the talosconfig in a private file that is gone afterwards, and out of the output", async () => {
      const cluster = sim.current();
      const result = await runScript(cluster, ROLLOUT_SCRIPT, ROLLOUT_ENV);
      expect(result.status, result.output).to.equal(0);
      expect(result.output).to.not.include("BEGIN");
      expect(readdirSync(cluster.dir).filter((f) => /^talos-proxmox\.\w{6}$/.test(f))).to.deep.equal([]);
    });
  });

  describe("rollout of Kubernetes (talosctl upgrade-k8s: the part that stays a stand-in)", () => {
    const sim = withCluster(() => NODES.map((n) => ({ ...n, kubelet: "v1.36.2" })));

    it("runs upgrade-k8s once, after the Talos roll, only while a kubelet is behind", async () => {
      const cluster = sim.current();
      const result = await runScript(cluster, ROLLOUT_SCRIPT, ROLLOUT_ENV);
      expect(result.status, result.output).to.equal(0);
      expect(cluster.upgradeK8sCalls()).to.deep.equal(["upgrade-k8s --to 1.36.3"]);
      const timeline = await cluster.timeline();
      const lastTalos = Math.max(...timeline.filter((e) => e.event === "up").map((e) => e.ms));
      expect(timeline.find((e) => e.event === "kubelet-upgraded")?.ms).to.be.greaterThan(lastTalos);
      for (const node of await cluster.nodes()) {
        expect(node.kubelet).to.equal("v1.36.3");
      }
      const again = await runScript(cluster, ROLLOUT_SCRIPT, ROLLOUT_ENV);
      expect(again.status, again.output).to.equal(0);
      expect(again.output).to.include("Kubernetes: on 1.36.3, skipped");
      expect(cluster.upgradeK8sCalls()).to.have.length(1);
    });

    it("reboots the nodes holding a staged config into it before upgrade-k8s, which would overwrite it", async () => {
      // Issue 19, item 9: upgrade-k8s re-applies the running config (pkg/cluster/kubernetes/patch.go),
      // so a config staged by a config roll that stopped was lost.
      const cluster = sim.current();
      applyConfig(cluster, ["w-2", "cp-2"], PROXY, "staged");
      const result = await runScript(cluster, ROLLOUT_SCRIPT, {
        ...ROLLOUT_ENV,
        TARGET_VERSION: OLD.version,
        TARGET_SCHEMATIC: OLD.schematic,
      });
      expect(result.status, result.output).to.equal(0);
      const timeline = await cluster.timeline();
      expect(events(timeline, "down")).to.deep.equal(["w-2", "cp-2"]);
      const lastUp = Math.max(...timeline.filter((e) => e.event === "up").map((e) => e.ms));
      expect(timeline.find((e) => e.event === "kubelet-upgraded")?.ms).to.be.greaterThan(lastUp);
      for (const node of await cluster.nodes()) {
        expect([node.name, node.staged, node.config.includes("HTTPS_PROXY")]).to.deep.equal([
          node.name,
          false,
          ["w-2", "cp-2"].includes(node.name),
        ]);
      }
    });
  });

  describe("config roll (after the config applies)", () => {
    const sim = withCluster();
    const CONFIG_ROLL_ENV = {
      ORDER: "workers-first",
      MAX_PARALLEL_WORKERS: "1",
      REBOOT_TIMEOUT: "2m",
      HEALTH_TIMEOUT: "2m",
      CNI: "cilium",
    };
    const apply = (names: string[], extra: string, mode: string) =>
      applyConfig(sim.current(), names, extra, mode);
    const rollConfigs = (extra: Record<string, string> = {}) =>
      runScript(sim.current(), CONFIG_ROLL_SCRIPT, { ...CONFIG_ROLL_ENV, ...extra });

    it("reboots only the nodes holding a staged config, drained, one at a time, with a health gate after each", async () => {
      const cluster = sim.current();
      apply(["w-2", "cp-1", "cp-3"], PROXY, "staged");
      // A change Talos applies live (node labels) leaves nothing staged.
      apply(["w-3"], '  nodeLabels: { "example.com/rack": "a" }\n', "no-reboot");
      const result = await rollConfigs();
      expect(result.status, result.output).to.equal(0);
      const timeline = await cluster.timeline();
      expect(events(timeline, "down")).to.deep.equal(["w-2", "cp-1", "cp-3"]);
      expect(result.output.match(/health gate after/g)).to.have.length(3);
      expect(result.output).to.match(/w-1 \(127\.0\.0\.21\): runs its latest config, skipped/);
      for (const node of await cluster.nodes()) {
        expect(node.staged, node.name).to.equal(false);
        expect(node.config.includes("HTTPS_PROXY"), node.name).to.equal(
          ["w-2", "cp-1", "cp-3"].includes(node.name),
        );
      }
    });

    it("touches nothing on a converged cluster", async () => {
      const cluster = sim.current();
      const result = await rollConfigs();
      expect(result.status, result.output).to.equal(0);
      const timeline = await cluster.timeline();
      expect(events(timeline, "down")).to.deep.equal([]);
      expect(events(timeline, "cordoned")).to.deep.equal([]);
      expect(result.output).to.not.include("health gate");
    });

    it("starts nothing in a cluster that is not ready", async () => {
      const cluster = sim.current();
      apply(["w-1"], PROXY, "staged");
      await cluster.fault("stay-notready", "w-3");
      const result = await rollConfigs({ HEALTH_TIMEOUT: "3s" });
      expect(result.status).to.equal(1);
      expect(result.output).to.match(/Kubernetes is not ready before the roll .*; nothing was touched/);
      const timeline = await cluster.timeline();
      expect(events(timeline, "down")).to.deep.equal([]);
      expect(events(timeline, "cordoned")).to.deep.equal([]);
    });

    it("stops at a failed reboot, and the next run resumes with that node", async () => {
      const cluster = sim.current();
      apply(["w-1", "w-2", "w-3", "cp-1"], PROXY, "staged");
      await cluster.fault("fail-reboot", "w-2");
      // A failed reboot sequence is not an error to talosctl's --wait: it sees the "reboot" sequence
      // event and retries until its timeout (cmd/talosctl/pkg/talos/action/node.go handleEvent).
      const first = await rollConfigs({ REBOOT_TIMEOUT: "10s" });
      expect(first.status).to.equal(1);
      expect(first.output).to.match(/w-2 \(127\.0\.0\.22\): the reboot failed; the roll stops here/);
      expect(events(await cluster.timeline(), "down")).to.deep.equal(["w-1"]);

      await cluster.fault("fail-reboot", "w-2", false);
      const second = await rollConfigs();
      expect(second.status, second.output).to.equal(0);
      const timeline = await cluster.timeline();
      expect(events(timeline, "down")).to.deep.equal(["w-1", "w-2", "w-3", "cp-1"]);
    });

    it("stops at a drain that a PodDisruptionBudget blocks, before the node goes down", async () => {
      const cluster = sim.current();
      apply(["w-1"], PROXY, "staged");
      await cluster.fault("block-drain", "w-1");
      const result = await rollConfigs({ REBOOT_TIMEOUT: "8s" });
      expect(result.status).to.equal(1);
      expect(result.output).to.match(/w-1 \(127\.0\.0\.21\): the reboot failed; the roll stops here/);
      expect(result.output).to.include(
        "PodDisruptionBudgets that allow no eviction now: default/workload-w-1",
      );
      expect(result.output).to.include(
        "w-1 is left cordoned, its new config still waiting for its next boot. pulumi up resumes with it (drained, then rebooted); kubectl uncordon w-1 lets it take pods until then.",
      );
      expect(events(await cluster.timeline(), "down")).to.deep.equal([]);
    });

    it("checks etcd before rebooting a control plane", async () => {
      const cluster = sim.current();
      apply(["cp-1"], PROXY, "staged");
      await cluster.fault("etcd-unhealthy", "cp-2");
      const result = await rollConfigs({ HEALTH_TIMEOUT: "3s" });
      expect(result.status).to.equal(1);
      expect(result.output).to.match(
        /cp-1 \(127\.0\.0\.11\): the cluster is not healthy .*could lose etcd quorum/,
      );
      expect(events(await cluster.timeline(), "down")).to.deep.equal([]);
    });

    it("stops when a node comes back still holding its staged config", async () => {
      const cluster = sim.current();
      apply(["w-1"], PROXY, "staged");
      await cluster.fault("keep-staged", "w-1");
      const result = await rollConfigs();
      expect(result.status).to.equal(1);
      expect(result.output).to.match(/w-1 \(127\.0\.0\.21\) came back still holding a staged config/);
    });

    it("stops when Kubernetes is not ready after a reboot", async () => {
      const cluster = sim.current();
      apply(["w-1", "w-2"], PROXY, "staged");
      const running = rollConfigs({ HEALTH_TIMEOUT: "5s" });
      await waitForEvent(cluster, "w-1", "down");
      await cluster.fault("cilium-unavailable", "w-1");
      const result = await running;
      expect(result.status).to.equal(1);
      expect(result.output).to.match(/Kubernetes is not ready after w-1/);
      const timeline = await cluster.timeline();
      expect(events(timeline, "down")).to.deep.equal(["w-1"]);
    });
  });

  describe("ready (after Cilium and the workers)", () => {
    const sim = withCluster();
    const ready = (extra: Record<string, string> = {}) =>
      runScript(sim.current(), READY_SCRIPT, {
        NODES: "cp-1 cp-2 cp-3 w-1 w-2 w-3",
        CNI: "cilium",
        READY_TIMEOUT: "1m",
        ...extra,
      });

    it("passes once every node is Ready and Cilium and CoreDNS are rolled out", async () => {
      const result = await ready();
      expect(result.status, result.output).to.equal(0);
      expect(result.output).to.include("Kubernetes ready");
    });

    it("waits for the nodes that register only after they have installed", async () => {
      // A config apply returns before the node reboots into Talos and registers (the Talos provider's
      // apply, terraform-provider-talos v0.11.0); kubectl wait --all waits only for the Node objects
      // that exist when it starts (kubectl pkg/cmd/wait/wait.go), and kubectl wait --for=create of
      // several objects fails at once when more than one is missing: two nodes install here.
      const cluster = sim.current();
      for (const [name, ip] of [
        ["w-4", "127.0.0.24"],
        ["w-5", "127.0.0.25"],
      ]) {
        await cluster.addNode({
          name,
          ip,
          role: "worker",
          ...OLD,
          config: machineConfig("worker"),
          registerAfterMs: 5000,
        });
      }
      const result = await ready({ NODES: "cp-1 cp-2 cp-3 w-1 w-2 w-3 w-4 w-5" });
      expect(result.status, result.output).to.equal(0);
      const registered = events(await cluster.timeline(), "registered");
      expect(registered, "ready.sh returned before w-4 and w-5 had registered").to.include.members([
        "w-4",
        "w-5",
      ]);
    });

    it("checks Cilium only when it is the CNI", async () => {
      const cluster = sim.current();
      await cluster.fault("cilium-unavailable", "w-1");
      expect((await ready({ CNI: "flannel" })).status).to.equal(0);
      const withCilium = await ready({ READY_TIMEOUT: "3s" });
      expect(withCilium.status).to.equal(1);
    });

    it("fails the update when a node does not become Ready", async () => {
      const cluster = sim.current();
      await cluster.fault("stay-notready", "w-2");
      const result = await ready({ READY_TIMEOUT: "3s" });
      expect(result.status).to.equal(1);
      expect(result.output).to.match(/Kubernetes is not ready after 3s/);
    });
  });

  describe("apply gate (before a node's config apply, whenever what it sends changes)", () => {
    // Issue 19, item 5: the provider's dry run falls back to auto mode on any error, and auto reboots a
    // node undrained when the change needs a reboot.
    const sim = withCluster();
    const gate = (name: string) =>
      runScript(sim.current(), APPLY_GATE_SCRIPT, { NODE_NAME: name, NODE_IP: ip(name), CONFIG_DIGEST: "d" });

    it("lets the apply go ahead while the node is running and ready (talosctl get machinestatus)", async () => {
      const result = await gate("w-1");
      expect(result.status, result.output).to.equal(0);
      expect(result.output).to.include("w-1 (127.0.0.21): running and ready; its config apply may go ahead");
    });

    const stops: [string, FaultKind, string, string][] = [
      [
        "does not answer",
        "unreachable",
        "w-1",
        "w-1 (127.0.0.21) does not answer (above). Its config apply would fall back to auto mode (on Talos v1.13 it reboots the node undrained",
      ],
      [
        "is not ready, naming Talos's unmet condition",
        "stay-notready",
        "cp-2",
        'cp-2 (127.0.0.12) is running, not ready (nodeReady: node "cp-2" is not ready), not running and ready.',
      ],
    ];
    for (const [what, fault, node, message] of stops) {
      it(`stops when the node ${what}`, async () => {
        await sim.current().fault(fault, node);
        const result = await gate(node);
        expect(result.status).to.equal(1);
        expect(result.output).to.include(message);
      });
    }

    it("stops while the node reboots", async () => {
      const cluster = sim.current();
      // The sequence fails before the node goes down, and the stage stays "rebooting": machined sets
      // "running" only when a boot sequence stops without an error (controllers/runtime/machine_status.go).
      await cluster.fault("fail-reboot", "w-2");
      talosctl(cluster, "-e", "127.0.0.11", "-n", ip("w-2"), "reboot", "--wait=false");
      const result = await gate("w-2");
      expect(result.status).to.equal(1);
      expect(result.output).to.include("w-2 (127.0.0.22) is rebooting, not running and ready.");
    });

    it("lets a node that is not a Kubernetes node yet through: it installs from maintenance mode", async () => {
      const result = await runScript(sim.current(), APPLY_GATE_SCRIPT, {
        NODE_NAME: "w-9",
        NODE_IP: "127.0.0.29",
        CONFIG_DIGEST: "d",
      });
      expect(result.status, result.output).to.equal(0);
      expect(result.output).to.include("w-9 (127.0.0.29): not a Kubernetes node yet");
    });
  });

  describe("decommission (before a node's VM is deleted)", () => {
    const sim = withCluster();
    const decommission = (name: string, extra: Record<string, string> = {}) => {
      const node = NODES.find((n) => n.name === name) as NodeSpec;
      return runScript(sim.current(), DECOMMISSION_SCRIPT, {
        NODE_NAME: node.name,
        NODE_IP: node.ip,
        ROLE: node.role,
        TEARDOWN: "false",
        RESET_TIMEOUT: "1m",
        ...extra,
      });
    };
    const kubernetesNodes = () =>
      execFileSync(
        join(sim.current().env.PATH.split(":")[0], "kubectl"),
        ["get", "nodes", "-o", "jsonpath={.items[*].metadata.name}"],
        {
          env: { ...sim.current().env, HOME: sim.current().dir, KUBECONFIG: sim.current().kubeconfig },
          encoding: "utf8",
        },
      ).split(" ");

    it("drains and resets a worker, then deletes its Node object", async () => {
      const cluster = sim.current();
      const result = await decommission("w-2");
      expect(result.status, result.output).to.equal(0);
      // talosctl reset --wait returns at stopAllServices; the removal ends when the node stops answering.
      const timeline = await cluster.timeline();
      expect(events(timeline, "down", true)).to.deep.equal(["w-2 reset"]);
      expect(kubernetesNodes()).to.not.include("w-2");
    });

    it("makes a control plane leave etcd gracefully, through another control plane", async () => {
      const cluster = sim.current();
      const result = await decommission("cp-1");
      expect(result.status, result.output).to.equal(0);
      expect(result.output).to.include("leaving etcd (3 members)");
      const timeline = await cluster.timeline();
      expect(events(timeline, "etcd-left")).to.deep.equal(["cp-1"]);
      // talosctl -e 127.0.0.12,127.0.0.13: either, never the node itself.
      expect(events(timeline, "reset-start", true)).to.have.length(1);
      expect(events(timeline, "reset-start", true)[0]).to.match(/^cp-1 via 127\.0\.0\.1[23]$/);
      expect((await cluster.nodes()).filter((n) => n.etcdMember).map((n) => n.name)).to.deep.equal([
        "cp-2",
        "cp-3",
      ]);
    });

    it("goes through a control plane that answers when its recorded endpoints include a gone one", async () => {
      const cluster = sim.current();
      expect((await decommission("cp-1")).status).to.equal(0);
      // The endpoints come from the command's last state: cp-1 is gone, and no longer answers (were it
      // still stopping, the next removal could ask it for the cluster's health), cp-3 goes now.
      expect(events(await cluster.timeline(), "down", true)).to.deep.equal(["cp-1 reset"]);
      const result = await decommission("cp-3");
      expect(result.status, result.output).to.equal(0);
      expect(result.output).to.include("leaving etcd (2 members)");
      const timeline = await cluster.timeline();
      expect(events(timeline, "etcd-left")).to.deep.equal(["cp-1", "cp-3"]);
    });

    it("checks etcd before a control plane leaves, and stops before its drain when another member is unhealthy", async () => {
      // Issue 19, item 1: etcd's own guard on a member removal counts connected members, not healthy
      // ones, and comes after the drain.
      const cluster = sim.current();
      await cluster.fault("etcd-unhealthy", "cp-2");
      const result = await decommission("cp-3", { RESET_TIMEOUT: "3s" });
      expect(result.status).to.equal(1);
      expect(result.output).to.match(
        /cp-3 \(127\.0\.0\.13\): the cluster is not healthy .*its removal could lose etcd quorum; nothing was done to this node/,
      );
      const timeline = await cluster.timeline();
      expect(events(timeline, "cordoned")).to.deep.equal([]);
      expect(events(timeline, "reset-start")).to.deep.equal([]);
      expect((await cluster.nodes()).filter((n) => n.etcdMember)).to.have.length(3);
    });

    it("stops before the reset when a PodDisruptionBudget blocks the drain", async () => {
      // Issue 19, item 4: Talos's graceful reset only logs a failed drain and resets anyway.
      const cluster = sim.current();
      await cluster.fault("block-drain", "w-2");
      const result = await decommission("w-2", { RESET_TIMEOUT: "5s" });
      expect(result.status).to.equal(1);
      expect(result.output).to.match(
        /w-2 \(127\.0\.0\.22\): the drain failed .*the node was not reset and its VM stays/,
      );
      expect(result.output).to.include("disruption budget");
      expect(events(await cluster.timeline(), "reset-start")).to.deep.equal([]);
      expect(kubernetesNodes()).to.include("w-2");
    });

    it("refuses to delete a worker's VM undrained when no control plane answers", async () => {
      const cluster = sim.current();
      for (const cp of ["cp-1", "cp-2", "cp-3"]) {
        await cluster.fault("unreachable", cp);
      }
      const result = await decommission("w-1");
      expect(result.status).to.equal(1);
      expect(result.output).to.match(
        /w-1 \(127\.0\.0\.21\): no control plane of 127\.0\.0\.11 127\.0\.0\.12 127\.0\.0\.13 answers/,
      );
      expect(events(await cluster.timeline(), "reset-start")).to.deep.equal([]);
    });

    it("does nothing in a teardown", async () => {
      const cluster = sim.current();
      const result = await decommission("w-1", { TEARDOWN: "true" });
      expect(result.status, result.output).to.equal(0);
      expect(events(await cluster.timeline(), "reset-start")).to.deep.equal([]);
    });

    it("removes one node at a time, so etcd members never leave together", async () => {
      const cluster = sim.current();
      const results = await Promise.all([decommission("cp-2"), decommission("cp-3")]);
      expect(results.map((r) => r.status)).to.deep.equal([0, 0]);
      const timeline = await cluster.timeline();
      const [first, second] = events(timeline, "reset-start");
      const firstDown = timeline.find((e) => e.node === first && e.event === "down")?.ms ?? Infinity;
      const secondStart = timeline.find((e) => e.node === second && e.event === "reset-start")?.ms ?? 0;
      expect(secondStart, "the second reset starts after the first node is down").to.be.greaterThan(
        firstDown,
      );
      expect(existsSync(join(cluster.dir, "talos-proxmox-lab.lock"))).to.equal(false);
    });
  });

  describe("the last etcd member", () => {
    const sim = withCluster(() => [NODES[0], NODES[3]]);

    it("is left alone", async () => {
      const cluster = sim.current();
      const result = await runScript(cluster, DECOMMISSION_SCRIPT, {
        NODE_NAME: "cp-1",
        NODE_IP: ip("cp-1"),
        ROLE: "controlplane",
        TEARDOWN: "false",
        RESET_TIMEOUT: "1m",
        CONTROL_PLANE_ENDPOINTS: ip("cp-1"),
      });
      expect(result.status, result.output).to.equal(0);
      expect(result.output).to.include("the last etcd member; nothing to leave");
      expect(events(await cluster.timeline(), "reset-start")).to.deep.equal([]);
    });
  });
});
