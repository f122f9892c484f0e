/**
 * The impact report (`npm run plan -- --against <earlier plan> --format text|markdown|json`): what each
 * node goes through, the steps and batches, the estimate, the values that move, and refusals. Each case
 * plans prod's stack file edited one way, then the other against it, as a reviewer's pull request would.
 */
import { expect } from "chai";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NODE_LATENCIES, UPGRADE_LATENCIES } from "../tools/bench/latencies";
import { rollingUpgradeSeconds } from "../tools/bench/rolling-upgrade";
import { ImpactReport, impactReport, PlanSide } from "../tools/offline/impact";
import { OfflineRun } from "../tools/offline/engine";
import { errorMessage, planSideOf, runSideOf, runStackFile } from "../tools/offline/stack-run";
import { planCli as plan, PROJECT_DIR } from "./harness";

const PROD = readFileSync(join(PROJECT_DIR, "Pulumi.prod.yaml"), "utf8");
const work = mkdtempSync(join(tmpdir(), "talos-proxmox-impact-"));

function stackFile(name: string, text: string): string {
  const file = join(work, `${name}.yaml`);
  writeFileSync(file, text);
  return file;
}

async function run(text: string, previous?: PlanSide): Promise<OfflineRun> {
  const result = await runStackFile(PROJECT_DIR, stackFile("Pulumi.prod", text), "prod", previous);
  if (result.error !== undefined) {
    throw new Error(errorMessage(result.error));
  }
  return result;
}

/**
 * The report of going from prod's file edited by `before` (as its plan directory holds it) to it
 * edited by `after`, as npm run plan -- --against makes it.
 */
async function report(
  before: (text: string) => string,
  after: (text: string) => string,
): Promise<ImpactReport> {
  const earlier = planSideOf(await run(before(PROD)));
  const later = await run(after(PROD), earlier);
  return impactReport("prod", earlier, runSideOf(later), later.warnings);
}

const same = (text: string) => text;
const actionsOf = (r: ImpactReport, node: string) =>
  r.nodes.find((n) => n.name === node)?.actions.map((a) => a.action);
const expectEveryNode = (r: ImpactReport, actions: string[]) => {
  for (const node of r.nodes) {
    expect(actionsOf(r, node.name), node.name).to.deep.equal(actions);
  }
};
const addWorker = (text: string) =>
  text.replace(
    "          - {name: w-3, pveNode: pve3, ip: 10.20.0.23, vmId: 2023}\n",
    "          - {name: w-3, pveNode: pve3, ip: 10.20.0.23, vmId: 2023}\n          - {name: w-4, pveNode: pve1, ip: 10.20.0.24, vmId: 2024}\n",
  );

describe("impact report", function () {
  this.timeout(120_000);

  it("upgrades every node of a Talos bump, drained, workers first one at a time, with the model's estimate", async () => {
    const r = await report((text) => text.replace("talosVersion: v1.14.1", "talosVersion: v1.14.0"), same);
    expect(r.values.find((v) => v.name === "Talos")).to.deep.equal({
      name: "Talos",
      from: "v1.14.0",
      to: "v1.14.1",
    });
    expectEveryNode(r, ["drained upgrade", "live config"]);
    expect(r.steps).to.have.length(1);
    expect(r.steps[0].batches).to.deep.equal([["w-1"], ["w-2"], ["w-3"], ["cp-1"], ["cp-2"], ["cp-3"]]);
    expect(r.estimatedSeconds).to.equal(
      rollingUpgradeSeconds({ controlPlanes: 3, workers: 3, maxParallelWorkers: 1 }),
    );
    expect(r.summary.overall).to.equal("rolling Talos upgrade");
  });

  it("says downgrade where Talos goes down", async () => {
    const r = await report(same, (text) => text.replace("talosVersion: v1.14.1", "talosVersion: v1.14.0"));
    expect(r.nodes[0].actions[0].detail).to.equal("talosctl upgrade to v1.14.0 (a downgrade from v1.14.1)");
    expect(r.steps[0].what).to.match(/^Talos downgrade /);
  });

  it("follows upgrade.order and maxParallelWorkers in its batches, and shows them move", async () => {
    const r = await report(
      (text) => text.replace("talosVersion: v1.14.1", "talosVersion: v1.14.0"),
      (text) =>
        text
          .replace("order: workers-first", "order: control-plane-first")
          .replace("maxParallelWorkers: 1", "maxParallelWorkers: 2"),
    );
    expect(r.steps[0].batches).to.deep.equal([["cp-1"], ["cp-2"], ["cp-3"], ["w-1", "w-2"], ["w-3"]]);
    expect(r.steps[0].what).to.include("control-plane-first, up to 2 workers at once");
    expect(r.values.filter((v) => v.name.startsWith("upgrade") || v.name.startsWith("max"))).to.deep.equal([
      { name: "upgrade order", from: "workers-first", to: "control-plane-first" },
      { name: "max parallel workers", from: "1", to: "2" },
    ]);
    expect(r.estimatedSeconds).to.equal(
      rollingUpgradeSeconds({ controlPlanes: 3, workers: 3, maxParallelWorkers: 2 }),
    );
  });

  it("reads an extension change as a new schematic rolled node by node, not a version upgrade", async () => {
    const r = await report(same, (text) =>
      text.replace(
        "      datastore: local\n",
        "      datastore: local\n      extensions: [siderolabs/qemu-guest-agent, siderolabs/iscsi-tools, siderolabs/util-linux-tools, siderolabs/intel-ucode]\n",
      ),
    );
    expect(r.values.map((v) => v.name)).to.deep.equal(["schematic", "installer image"]);
    const upgrade = r.nodes[0].actions[0];
    expect(upgrade).to.deep.equal({
      action: "drained upgrade",
      detail: "talosctl upgrade to the new schematic on v1.14.1",
    });
    const schematic = r.changes.find((c) => c.name === "prod-image-schematic");
    expect(schematic?.impact).to.match(/^a new Image Factory schematic for the new extension list/);
  });

  it("runs upgrade-k8s once for a Kubernetes bump, and reboots nothing", async () => {
    const r = await report((text) => text.replace('"1.36.1"', '"1.36.0"'), same);
    expect(r.values.find((v) => v.name === "Kubernetes")).to.deep.equal({
      name: "Kubernetes",
      from: "1.36.0",
      to: "1.36.1",
    });
    expectEveryNode(r, ["Kubernetes upgrade", "live config"]);
    expect(r.nodes[0].actions[1].detail).to.equal("records the new Kubernetes version, no reboot");
    // talos v1.13.9 pkg/cluster/kubernetes: control-plane components node by node, then every kubelet.
    expect(r.steps.map((s) => [s.what, s.batches])).to.deep.equal([
      [
        "talosctl upgrade-k8s to 1.36.1: the control-plane components, one node at a time",
        [["cp-1"], ["cp-2"], ["cp-3"]],
      ],
      [
        "then every kubelet to 1.36.1, one node at a time",
        [["cp-1"], ["cp-2"], ["cp-3"], ["w-1"], ["w-2"], ["w-3"]],
      ],
    ]);
    expect(r.estimatedSeconds).to.equal(
      3 * UPGRADE_LATENCIES.kubernetesControlPlane.seconds + UPGRADE_LATENCIES.kubelets.seconds,
    );
  });

  it("names both targets of a combined bump: the Talos roll, then upgrade-k8s once", async () => {
    const r = await report(
      (text) =>
        text.replace("talosVersion: v1.14.1", "talosVersion: v1.14.0").replace('"1.36.1"', '"1.36.0"'),
      same,
    );
    expect(r.values.map((v) => `${v.name} ${v.from} → ${v.to}`)).to.include.members([
      "Talos v1.14.0 → v1.14.1",
      "Kubernetes 1.36.0 → 1.36.1",
    ]);
    expectEveryNode(r, ["drained upgrade", "Kubernetes upgrade", "live config"]);
    expect(r.steps.map((s) => s.what.split(" (")[0].split(":")[0])).to.deep.equal([
      "Talos upgrade",
      "talosctl upgrade-k8s to 1.36.1",
      "then every kubelet to 1.36.1, one node at a time",
    ]);
  });

  const udevOnWorkers = (text: string) =>
    text.replace(
      "    workerPools:\n      - name: general\n",
      '    workerPools:\n      - name: general\n        configPatches: [{ machine: { udev: { rules: ["KERNEL==\\"sd*\\", ATTR{queue/scheduler}=\\"none\\""] } } }]\n',
    );
  const onTalos113 = (text: string) => text.replace("talosVersion: v1.14.1", "talosVersion: v1.13.9");

  it("applies a patch live on Talos v1.14 where v1.13 stages it, and reboots for none", async () => {
    const r = await report(same, udevOnWorkers);
    for (const node of ["w-1", "w-2", "w-3"]) {
      expect(actionsOf(r, node), node).to.deep.equal(["live config"]);
    }
    expect(actionsOf(r, "cp-1")).to.deep.equal([]);
    expect(r.steps).to.deep.equal([]);
  });

  it("applies live what Talos v1.14 takes at boot, then reboots those nodes one at a time", async () => {
    const r = await report(same, (text) =>
      text.replace(
        "    controlPlane:\n",
        "    controlPlane:\n      configPatches: [{ cluster: { etcd: { extraArgs: { election-timeout: '5000' } } } }]\n",
      ),
    );
    expect(actionsOf(r, "cp-1")).to.deep.equal(["live config, then a drained reboot"]);
    expect(actionsOf(r, "w-1")).to.deep.equal([]);
    expect(r.steps).to.have.length(1);
    expect(r.steps[0].batches).to.deep.equal([["cp-1"], ["cp-2"], ["cp-3"]]);
  });

  it("stages a patch that needs a reboot on Talos v1.13 on the pool's nodes only, then reboots them one at a time", async () => {
    const r = await report(onTalos113, (text) => udevOnWorkers(onTalos113(text)));
    expect(actionsOf(r, "w-1")).to.deep.equal(["staged config, then a drained reboot"]);
    expect(actionsOf(r, "cp-1")).to.deep.equal([]);
    expect(r.steps).to.have.length(1);
    expect(r.steps[0].batches).to.deep.equal([["w-1"], ["w-2"], ["w-3"]]);
    expect(r.steps[0].seconds).to.equal(
      3 * (NODE_LATENCIES.reboot.seconds + UPGRADE_LATENCIES.healthGate.seconds),
    );
  });

  it("shows a new worker joining and touches no other node", async () => {
    const r = await report(same, addWorker);
    expect(actionsOf(r, "w-4")).to.deep.equal(["joins"]);
    expect(r.nodes.filter((n) => n.actions.length > 0).map((n) => n.name)).to.deep.equal(["w-4"]);
    expect(r.steps.map((s) => s.batches)).to.deep.equal([[["w-4"]]]);
  });

  it("says a removed worker is drained and reset, and never that it leaves etcd", async () => {
    const r = await report(addWorker, same);
    const w4 = r.nodes.find((n) => n.name === "w-4");
    expect(w4?.actions).to.deep.equal([
      { action: "leaves", detail: "drained, reset; then its VM is deleted" },
    ]);
    const decommission = r.changes.find((c) => c.name === "prod-general-w-4-decommission");
    expect(decommission?.impact).to.equal(
      "drains the worker and resets it before its VM goes, one removal at a time",
    );
    expect(renderedAll(r)).to.not.match(/etcd/);
  });

  describe("npm run plan -- --format", () => {
    const earlier = join(work, "prod-1.13.8");
    before(() => {
      const file = stackFile("Pulumi.prod", PROD.replace("talosVersion: v1.14.1", "talosVersion: v1.14.0"));
      const made = plan("--config-file", file, "--out", earlier);
      expect(made.status, made.stderr).to.equal(0);
    });

    it("json: the whole report, parsed", () => {
      const result = plan("--stack", "prod", "--against", earlier, "--format", "json");
      expect(result.status, result.stderr).to.equal(0);
      const r = JSON.parse(result.stdout) as ImpactReport;
      expect(r.stack).to.equal("prod");
      expect(r.nodes.map((n) => n.name)).to.deep.equal(["cp-1", "cp-2", "cp-3", "w-1", "w-2", "w-3"]);
      expect(r.summary).to.include({ update: 14, overall: "rolling Talos upgrade" });
    });

    it("markdown: values, nodes, steps and the resources, for a pull-request comment", () => {
      const result = plan("--stack", "prod", "--against", earlier, "--format", "markdown");
      expect(result.status, result.stderr).to.equal(0);
      expect(result.stdout).to.match(/^\*\*Impact on stack `prod`\*\*\n/);
      expect(result.stdout).to.include("| Talos | `v1.14.0` | `v1.14.1` |");
      expect(result.stdout).to.include(
        "| w-1 | worker, pool general | drained upgrade (talosctl upgrade to v1.14.1); then live config",
      );
      expect(result.stdout).to.include("w-1 → w-2 → w-3 → cp-1 → cp-2 → cp-3");
      expect(result.stdout).to.include("<details><summary>Resources</summary>");
    });

    it("a refused change: the refusal in the report, every node untouched, and a failing exit", () => {
      const file = stackFile("Pulumi.prod", PROD.replace("cores: 8", "cores: 16"));
      const result = plan("--config-file", file, "--against", earlier, "--format", "json");
      expect(result.status).to.equal(1);
      const r = JSON.parse(result.stdout) as ImpactReport;
      expect(r.refused).to.match(/cluster\.workerPools\[0\]\.cores: would change the cores/);
      expect(r.nodes.every((n) => n.actions.length === 1 && n.actions[0].action === "refused")).to.equal(
        true,
      );
      expect(r.steps).to.deep.equal([]);
    });

    it("is the impact report's, and names the formats", () => {
      const alone = plan("--stack", "prod", "--format", "json");
      expect(alone.status).to.equal(2);
      expect(alone.stderr).to.include("--format is the impact report's: give it with --against");
      const unknown = plan("--stack", "prod", "--against", earlier, "--format", "html");
      expect(unknown.status).to.equal(2);
      expect(unknown.stderr).to.include("--format html: use text, markdown or json");
    });
  });
});

function renderedAll(r: ImpactReport): string {
  return JSON.stringify(r.nodes) + JSON.stringify(r.steps);
}
