/**
 * Talos v1.14 on the simulated cluster (issue 23): the v1.13 → v1.14 roll with real talosctl v1.14.1,
 * its refusals, and the config roll of a v1.14 cluster, where Talos applies every change live and the
 * library reboots the nodes whose boot-time settings changed. talos-api serves a node of v1.14 as
 * talos v1.14.1's ApplyConfiguration does (no immediacy check, AUTO is NO_REBOOT, REBOOT refused).
 * withCluster checks the day-2 invariants after every scenario.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { rebootDigest } from "../../components/internal/reboot-sections";
import { CONFIG_ROLL_SCRIPT, ROLLOUT_SCRIPT } from "../../components/internal/scripts";
import { NodeSpec, talosctlEnv } from "../../tools/simcluster/cluster";
import {
  clusterTools,
  events,
  machineConfig,
  NODES,
  ROLLOUT_ENV,
  WORKERS_THEN_CONTROL_PLANES,
  runScript,
  talosctl,
  withCluster,
} from "./harness";

const V114 = { version: "v1.14.1", schematic: "aaaa", kubelet: "v1.36.3" };
const ROLL_TO_114 = {
  ...ROLLOUT_ENV,
  TALOS_MINOR: "v1.14",
  TARGET_VERSION: "v1.14.1",
  TARGET_IMAGE: "factory.talos.dev/nocloud-installer/aaaa:v1.14.1",
  TARGET_SCHEMATIC: "aaaa",
};
/** etcd's settings: a v1.14 node applies them live, and etcd reads them only when it starts. */
const ETCD_ARGS = '  etcd:\n    extraArgs:\n      election-timeout: "5000"\n';
const configOf = (node: NodeSpec, etcd = "") => machineConfig(node.role) + etcd;

describe("Talos v1.14 on a simulated cluster (real talosctl v1.14.1 and v1.13.9)", function () {
  this.timeout(300_000);

  before(function () {
    this.timeout(60 * 60_000); // a cold build of the programs
    clusterTools();
  });

  describe("the v1.13 → v1.14 roll", () => {
    const sim = withCluster();

    it("runs the real talosctl v1.14.1", () => {
      const version = execFileSync(clusterTools().talosctl114, ["version", "--client", "--short"], {
        encoding: "utf8",
        env: { HOME: sim.current().dir },
      });
      expect(version).to.include("Talos v1.14.1");
    });

    it("rolls every node to v1.14 with talosctl v1.14, workers first, one at a time, drained, health-gated", async () => {
      const cluster = sim.current();
      const result = await runScript(cluster, ROLLOUT_SCRIPT, {
        ...ROLL_TO_114,
        ...talosctlEnv(clusterTools(), "v1.14"),
      });
      expect(result.status, result.output).to.equal(0);
      const timeline = await cluster.timeline();
      expect(events(timeline, "upgrade-installed")).to.deep.equal(WORKERS_THEN_CONTROL_PLANES);
      expect(result.output.match(/health gate after/g)).to.have.length(6);
      for (const node of await cluster.nodes()) {
        expect([node.name, node.version]).to.deep.equal([node.name, "v1.14.1"]);
      }
    });

    it("stops halfway at a failed upgrade, and the next run resumes with the nodes on both minors", async () => {
      const cluster = sim.current();
      const env = { ...ROLL_TO_114, ...talosctlEnv(clusterTools(), "v1.14") };
      await cluster.fault("fail-upgrade", "w-2");
      const first = await runScript(cluster, ROLLOUT_SCRIPT, env);
      expect(first.status).to.equal(1);
      expect(first.output).to.match(/w-2 \(127\.0\.0\.22\): the upgrade failed; the roll stops here/);
      const versions = Object.fromEntries((await cluster.nodes()).map((n) => [n.name, n.version]));
      expect(versions).to.deep.include({ "w-1": "v1.14.1", "w-2": "v1.13.9", "cp-1": "v1.13.9" });

      await cluster.fault("fail-upgrade", "w-2", false);
      const second = await runScript(cluster, ROLLOUT_SCRIPT, env);
      expect(second.status, second.output).to.equal(0);
      expect(second.output).to.match(
        /w-1 \(127\.0\.0\.21\): on v1\.14\.1 with the target schematic, skipped/,
      );
      for (const node of await cluster.nodes()) {
        expect([node.name, node.version]).to.deep.equal([node.name, "v1.14.1"]);
      }
    });

    it("refuses the roll with talosctl v1.13 before any node is touched", async () => {
      const cluster = sim.current();
      const result = await runScript(cluster, ROLLOUT_SCRIPT, ROLL_TO_114);
      expect(result.status).to.equal(1);
      expect(result.output).to.match(
        /talosctl is v1\.13, but the cluster runs \(or rolls to\) Talos v1\.14\. Install talosctl v1\.14\.x/,
      );
      expect(events(await cluster.timeline(), "cordoned")).to.deep.equal([]);
    });
  });

  describe("a v1.14 cluster", () => {
    const sim = withCluster(() => NODES.map((n) => ({ ...n, ...V114 })));
    const v114 = () => talosctlEnv(clusterTools(), "v1.14");

    it("refuses to take its nodes down to v1.13 before any node is touched", async () => {
      const cluster = sim.current();
      const result = await runScript(cluster, ROLLOUT_SCRIPT, {
        ...ROLL_TO_114,
        TALOS_MINOR: "v1.13",
        TARGET_VERSION: "v1.13.9",
        TARGET_IMAGE: "factory.talos.dev/nocloud-installer/aaaa:v1.13.9",
      });
      expect(result.status, result.output).to.equal(1);
      expect(result.output, result.output).to.match(
        /cp-1 \(127\.0\.0\.11\) runs Talos v1\.14, a minor newer than v1\.13\.9: the roll never takes a node down a minor/,
      );
      expect(result.output).to.include("nothing was touched");
      expect(events(await cluster.timeline(), "cordoned")).to.deep.equal([]);
    });

    it("refuses an apply in REBOOT mode, as Talos v1.14 does (talosctl v1.13 still sends it)", () => {
      const cluster = sim.current();
      const file = join(cluster.dir, "cp-1.yaml");
      writeFileSync(file, configOf(NODES[0], ETCD_ARGS));
      expect(() =>
        talosctl(
          cluster,
          "-e",
          "127.0.0.11",
          "-n",
          "127.0.0.11",
          "apply-config",
          "--file",
          file,
          "--mode",
          "reboot",
        ),
      ).to.throw(/the REBOOT mode is not supported, please use AUTO or NO_REBOOT modes instead/);
    });

    it("applies etcd's settings live, then the config roll reboots only the node they changed, drained", async () => {
      const cluster = sim.current();
      const digests = (etcdOn: string[]) =>
        NODES.map((n) => `${n.name}=${rebootDigest([configOf(n, etcdOn.includes(n.name) ? ETCD_ARGS : "")])}`)
          .sort()
          .join(" ");
      const roll = (etcdOn: string[]) =>
        runScript(cluster, CONFIG_ROLL_SCRIPT, {
          TALOS_MINOR: "v1.14",
          ORDER: "workers-first",
          MAX_PARALLEL_WORKERS: "1",
          REBOOT_TIMEOUT: "2m",
          HEALTH_TIMEOUT: "2m",
          CNI: "cilium",
          NODES: NODES.map((n) => n.name).join(" "),
          REBOOT_DIGESTS: digests(etcdOn),
          LIVE_MINORS: "v1.14",
          ...v114(),
        });

      // The first roll records what each node booted into, on its Node, and reboots nothing.
      const first = await roll([]);
      expect(first.status, first.output).to.equal(0);
      expect(events(await cluster.timeline(), "down")).to.deep.equal([]);
      const recorded = execFileSync(
        clusterTools().kubectl,
        ["get", "nodes", "-o", "jsonpath={.items[*].metadata.annotations.talos-proxmox/boot-config-digest}"],
        { encoding: "utf8", env: { KUBECONFIG: cluster.kubeconfig, HOME: cluster.dir } },
      );
      expect(recorded.split(" ").sort()).to.deep.equal(
        digests([])
          .split(" ")
          .map((pair) => pair.split("=")[1])
          .sort(),
      );

      // The provider's staged_if_needing_reboot dry-runs AUTO, which a v1.14 node answers NO_REBOOT:
      // the change is applied in AUTO mode, live, and nothing is staged.
      const cp2 = NODES.find((n) => n.name === "cp-2") as NodeSpec;
      const file = join(cluster.dir, "cp-2.yaml");
      writeFileSync(file, configOf(cp2, ETCD_ARGS));
      talosctl(cluster, "-e", "127.0.0.11", "-n", cp2.ip, "apply-config", "--file", file, "--mode", "auto");
      const applied = (await cluster.nodes()).find((n) => n.name === "cp-2");
      expect(applied?.staged).to.equal(false);
      expect(applied?.config).to.include("election-timeout");
      expect(applied?.bootedWith).to.not.include("election-timeout");

      const second = await roll(["cp-2"]);
      expect(second.status, second.output).to.equal(0);
      expect(second.output).to.match(
        /cp-2 \(127\.0\.0\.12\): Talos v1\.14 applied its new config live, and only a reboot puts in effect what changed/,
      );
      const timeline = await cluster.timeline();
      expect(events(timeline, "down")).to.deep.equal(["cp-2"]);
      expect(events(timeline, "evicted")).to.include("cp-2");
      const rebooted = (await cluster.nodes()).find((n) => n.name === "cp-2");
      expect(rebooted?.bootedWith).to.include("election-timeout");

      // Converged: the next run reboots nothing.
      const third = await roll(["cp-2"]);
      expect(third.status, third.output).to.equal(0);
      expect(events(await cluster.timeline(), "down")).to.deep.equal(["cp-2"]);
    });
  });
});
