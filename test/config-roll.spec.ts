/**
 * configRoll as a library user creates it: its settings are checked before it registers anything.
 * (What it does on a cluster is in simcluster/lifecycle.spec.ts; its place in the stack in day2.spec.ts.)
 */
import { expect } from "chai";
import { configRoll, ConfigRollArgs, ValidationError } from "../components";
import * as talos from "../components/talos";
import { runComponents } from "./harness";

const BASE = "version: v1alpha1\nmachine: {type: controlplane}\ncluster: {clusterName: lab}\n";

/** A config roll over cp-1 and w-1, whose applies carry these patches. */
function runRoll(args: Partial<ConfigRollArgs>, patches: { "cp-1"?: string[]; "w-1"?: string[] } = {}) {
  return runComponents(() => {
    const applies = (["cp-1", "w-1"] as const).map(
      (name, i) =>
        new talos.machine.ConfigurationApply(name, {
          node: `10.0.0.1${i + 1}`,
          clientConfiguration: { caCertificate: "ca", clientCertificate: "crt", clientKey: "key" },
          machineConfigurationInput: BASE,
          configPatches: patches[name] ?? [],
        }),
    );
    return configRoll(
      "lab-config-roll",
      {
        clusterName: "lab",
        talosVersion: "v1.14.1",
        controlPlaneEndpoints: ["10.0.0.11"],
        talosconfig: "context: lab\n",
        applies,
        nodeNames: ["cp-1", "w-1"],
        cni: "cilium",
        ...args,
      },
      {},
    );
  });
}

/** The roll's REBOOT_DIGESTS, by node. */
async function rebootDigests(patches: {
  "cp-1"?: string[];
  "w-1"?: string[];
}): Promise<Record<string, string>> {
  const run = await runRoll({}, patches);
  expect(run.error).to.equal(undefined);
  const env = run.resources.find((r) => r.name === "lab-config-roll")?.inputs.environment as Record<
    string,
    string
  >;
  return Object.fromEntries(env.REBOOT_DIGESTS.split(" ").map((pair) => pair.split("=") as [string, string]));
}

describe("configRoll", () => {
  const refusals: [string, Partial<ConfigRollArgs>, RegExp][] = [
    ["an unknown order", { order: "random" as never }, /args\.order: "random" is not an order/],
    ["no workers at a time", { maxParallelWorkers: 0 }, /args\.maxParallelWorkers: .*at least 1/],
    ["a timeout in seconds", { rebootTimeout: "1800" }, /args\.rebootTimeout: "1800" is not a duration/],
    ["a short health gate", { healthTimeout: "10s" }, /args\.healthTimeout: "10s" is too short/],
    ["no control plane to talk to", { controlPlaneEndpoints: [] }, /args\.controlPlaneEndpoints: is empty/],
    ["no node to wait for", { nodeNames: [] }, /args\.nodeNames: is empty/],
    [
      "node names that are not the applies' nodes",
      { nodeNames: ["cp-1"] },
      /args\.nodeNames: names 1 node\(s\) for 2 config applies/,
    ],
  ];
  for (const [what, args, message] of refusals) {
    it(`refuses ${what} before registering anything`, async () => {
      const run = await runRoll(args);
      expect(run.error).to.be.instanceOf(ValidationError);
      expect((run.error as Error).message).to.match(message);
      expect(run.resources.filter((r) => r.type === "command:local:Command")).to.deep.equal([]);
    });
  }

  it("takes Go durations as its timeouts", async () => {
    const run = await runRoll({ rebootTimeout: "1h30m", healthTimeout: "20m" });
    expect(run.error).to.equal(undefined);
    const roll = run.resources.find((r) => r.name === "lab-config-roll");
    expect(roll?.inputs.environment).to.include({ REBOOT_TIMEOUT: "1h30m", HEALTH_TIMEOUT: "20m" });
  });

  it("gives each node a reboot digest that moves only with what a Talos v1.14 node takes at boot", async () => {
    const sysctl = "machine:\n  sysctls:\n    vm.max_map_count: '262144'\n";
    const etcd = "cluster:\n  etcd:\n    extraArgs:\n      election-timeout: '5000'\n";
    const env =
      "apiVersion: v1alpha1\nkind: EnvironmentConfig\nvariables:\n  HTTPS_PROXY: http://proxy:3128\n";
    const before = await rebootDigests({});
    expect(Object.keys(before)).to.deep.equal(["cp-1", "w-1"]);
    expect(before["cp-1"]).to.match(/^[0-9a-f]{16}$/);
    // A sysctl applies live on v1.14: no reboot, the digests stay.
    expect(await rebootDigests({ "cp-1": [sysctl], "w-1": [sysctl] })).to.deep.equal(before);
    // etcd's settings on cp-1 only: only cp-1's digest moves.
    const etcdChanged = await rebootDigests({ "cp-1": [etcd] });
    expect(etcdChanged["w-1"]).to.equal(before["w-1"]);
    expect(etcdChanged["cp-1"]).to.not.equal(before["cp-1"]);
    // An EnvironmentConfig document on w-1.
    const envChanged = await rebootDigests({ "w-1": [env] });
    expect(envChanged["cp-1"]).to.equal(before["cp-1"]);
    expect(envChanged["w-1"]).to.not.equal(before["w-1"]);
  });
});
