/**
 * configRoll as a library user creates it: its settings are checked before it registers anything.
 * (What it does on a cluster is in simcluster/lifecycle.spec.ts; its place in the stack in day2.spec.ts.)
 */
import { expect } from "chai";
import { configRoll, ConfigRollArgs, ValidationError } from "../components";
import { runComponents } from "./harness";

function runRoll(args: Partial<ConfigRollArgs>) {
  return runComponents(() =>
    configRoll(
      "lab-config-roll",
      {
        clusterName: "lab",
        talosVersion: "v1.13.9",
        controlPlaneEndpoints: ["10.0.0.11"],
        talosconfig: "context: lab\n",
        applies: [],
        nodeNames: ["cp-1", "w-1"],
        cni: "cilium",
        ...args,
      },
      {},
    ),
  );
}

describe("configRoll", () => {
  const refusals: [string, Partial<ConfigRollArgs>, RegExp][] = [
    ["an unknown order", { order: "random" as never }, /args\.order: "random" is not an order/],
    ["no workers at a time", { maxParallelWorkers: 0 }, /args\.maxParallelWorkers: .*at least 1/],
    ["a timeout in seconds", { rebootTimeout: "1800" }, /args\.rebootTimeout: "1800" is not a duration/],
    ["a short health gate", { healthTimeout: "10s" }, /args\.healthTimeout: "10s" is too short/],
    ["no control plane to talk to", { controlPlaneEndpoints: [] }, /args\.controlPlaneEndpoints: is empty/],
    ["no node to wait for", { nodeNames: [] }, /args\.nodeNames: is empty/],
  ];
  for (const [what, args, message] of refusals) {
    it(`refuses ${what} before registering anything`, async () => {
      const run = await runRoll(args);
      expect(run.error).to.be.instanceOf(ValidationError);
      expect((run.error as Error).message).to.match(message);
      expect(run.resources.map((r) => r.type)).to.deep.equal(["pulumi:pulumi:Stack"]);
    });
  }

  it("takes Go durations as its timeouts", async () => {
    const run = await runRoll({ rebootTimeout: "1h30m", healthTimeout: "20m" });
    expect(run.error).to.equal(undefined);
    const roll = run.resources.find((r) => r.name === "lab-config-roll");
    expect(roll?.inputs.environment).to.include({ REBOOT_TIMEOUT: "1h30m", HEALTH_TIMEOUT: "20m" });
  });
});
