import * as command from "@pulumi/command";
import { expect } from "chai";
import * as talos from "../components/talos";
import { stackOfSize } from "../tools/bench/cluster-sizes";
import { longestChain } from "../tools/bench/dependency-depth";
import { UPGRADE_LATENCIES } from "../tools/bench/latencies";
import { rollingUpgradeSeconds } from "../tools/bench/rolling-upgrade";
import { criticalPath, VirtualClock } from "../tools/bench/virtual-clock";
import { OfflineRun, runOffline } from "../tools/offline/engine";
import { runComponents, succeeded } from "./harness";
import program = require("../stacks");

/** a → b → health check → d, and c beside them; each command takes the seconds in `latencies`. */
function toyProgram() {
  const a = new command.local.Command("a", { create: "a" });
  const b = new command.local.Command("b", { create: a.create.apply(() => "b") });
  new command.local.Command("c", { create: "c" });
  const health = talos.cluster.getHealthOutput(
    {
      clientConfiguration: { caCertificate: "", clientCertificate: "", clientKey: "" },
      controlPlaneNodes: [],
      endpoints: [],
    },
    { dependsOn: [b] },
  );
  new command.local.Command("d", { create: health.apply(() => "d") });
}

async function simulate(
  body: () => unknown,
  latencies: Record<string, number>,
  parallel?: number,
): Promise<{ seconds: number; clock: VirtualClock; run: OfflineRun }> {
  const clock = new VirtualClock(parallel, {
    resource: (r) => latencies[r.name] ?? 0,
    invoke: (i) => latencies[i.token] ?? 0,
  });
  const running = runComponents(body, { scheduler: clock });
  const seconds = await clock.drive(running);
  return { seconds, clock, run: succeeded(await running) };
}

const HEALTH = "talos:cluster/getHealth:getHealth";

describe("benchmark", () => {
  describe("virtual clock", () => {
    it("takes the longest chain when steps run in parallel, invokes included", async () => {
      const { seconds, clock } = await simulate(toyProgram, { a: 10, b: 20, c: 5, d: 1, [HEALTH]: 5 });
      expect(seconds).to.equal(36);
      expect(criticalPath(clock.steps).map((s) => s.label)).to.deep.equal([
        "command:local:Command::a",
        "command:local:Command::b",
        HEALTH,
        "command:local:Command::d",
      ]);
    });

    it("lets an independent long step set the time", async () => {
      const { seconds, clock } = await simulate(toyProgram, { a: 10, b: 20, c: 100, d: 1, [HEALTH]: 5 });
      expect(seconds).to.equal(100);
      expect(criticalPath(clock.steps).map((s) => s.label)).to.deep.equal(["command:local:Command::c"]);
    });

    it("queues resources beyond --parallel, but not invokes", async () => {
      const { seconds } = await simulate(toyProgram, { a: 10, b: 20, c: 5, d: 1, [HEALTH]: 5 }, 1);
      // a, then c (queued), then b, the check, d.
      expect(seconds).to.equal(10 + 5 + 20 + 5 + 1);
    });
  });

  describe("the prod stack", () => {
    async function simulateSize(workers: number, controlPlanes = 3) {
      const stack = stackOfSize({ controlPlanes, workers });
      const clock = new VirtualClock();
      const running = runOffline(program, { ...stack, scheduler: clock });
      const seconds = await clock.drive(running);
      const run = succeeded(await running);
      return { seconds, path: criticalPath(clock.steps).map((s) => s.label), depth: longestChain(run).depth };
    }

    it("comes up in the same simulated time, along the same chain, with 3 or 30 workers", async function () {
      this.timeout(60_000);
      const small = await simulateSize(3);
      const large = await simulateSize(30);
      expect(large.seconds).to.equal(small.seconds);
      expect(large.depth).to.equal(small.depth);
      expect(large.path).to.deep.equal(small.path);
      // The chain of one control-plane node: no worker is on it.
      expect(small.path.filter((label) => label.includes("-w-"))).to.deep.equal([]);
      expect(small.path).to.include.members([
        "talos:machine/bootstrap:Bootstrap::prod-bootstrap",
        "kubernetes:helm.sh/v3:Release::prod-cilium",
        HEALTH,
      ]);
    });

    it("is a stack the program takes at the one-node size, the bound of every other", async () => {
      const alone = await simulateSize(0, 1);
      expect(alone.seconds).to.be.greaterThan(0);
    });
  });

  it("times a roll as worker batches and control planes one by one, each with its health gate", () => {
    const perNode = UPGRADE_LATENCIES.node.seconds + UPGRADE_LATENCIES.healthGate.seconds;
    const applies = UPGRADE_LATENCIES.configApply.seconds;
    expect(rollingUpgradeSeconds({ controlPlanes: 3, workers: 30, maxParallelWorkers: 1 })).to.equal(
      33 * perNode + applies,
    );
    expect(rollingUpgradeSeconds({ controlPlanes: 3, workers: 31, maxParallelWorkers: 10 })).to.equal(
      (4 + 3) * perNode + applies,
    );
  });
});
