/**
 * Warnings: what a description may mean but often does not. Worth saying, wrong to refuse: the run goes
 * on, TalosCluster logs each (what `pulumi up` and `pulumi preview` show), and the offline engine keeps
 * them in the run's `warnings`.
 */
import { expect } from "chai";
import { readClusterArgs } from "../components/internal/cluster-args";
import { clusterWarnings } from "../components/internal/warnings";
import { TalosCluster, TalosClusterArgs } from "../components";
import { exampleCluster, runComponents, runStack, succeeded } from "./harness";

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access,
   @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return
   -- each row edits the untyped YAML data of a stack file */
type Cluster = Record<string, any>;

interface Row {
  what: string;
  edit: (c: Cluster) => void;
  path: string;
  message: RegExp;
}

const rows: Row[] = [
  {
    what: "a Talos release newer than the list",
    edit: (c) => (c.talosVersion = "v1.13.10"),
    path: "talosVersion",
    message:
      /"v1\.13\.10" is newer than every Talos 1\.13 release this library's list knows \(the newest is "v1\.13\.9"\)\. If it is a new release, refresh the list with bash tools\/upstream\/releases\.sh/,
  },
  {
    what: "a Cilium chart newer than the list",
    edit: (c) => (c.cilium.version = "1.19.7"),
    path: "cilium.version",
    message:
      /"1\.19\.7" is newer than every Cilium chart 1\.19 release this library's list knows \(the newest is "1\.19\.\d+"\)/,
  },
  {
    what: "a kube-vip newer than the list",
    edit: (c) => (c.kubeVip.version = "v1.2.4"),
    path: "kubeVip.version",
    message: /"v1\.2\.4" is newer than every kube-vip 1\.2 release/,
  },
  {
    what: "a kube-vip-cloud-provider newer than the list",
    edit: (c) => (c.kubeVip.cloudProviderVersion = "v0.0.13"),
    path: "kubeVip.cloudProviderVersion",
    message: /"v0\.0\.13" is newer than every kube-vip-cloud-provider 0\.0 release/,
  },
  {
    what: "a worker pool of one node",
    edit: (c) => c.workerPools[0].nodes.pop(),
    path: "workerPools[0].nodes",
    message:
      /has one node: every roll .* drains it, and whatever runs only on pool "general" stops meanwhile/,
  },
];

describe("warnings: said, not refused", function () {
  this.timeout(60_000);

  for (const row of rows) {
    it(`warns of ${row.what} (${row.path}), and the stack still runs`, async () => {
      const cluster = exampleCluster("homelab") as Cluster;
      row.edit(cluster);
      const spec = readClusterArgs(cluster).spec;
      expect(spec, "the description passes every check").to.not.equal(undefined);
      const warnings = clusterWarnings(spec!);
      expect(warnings.map((w) => w.path)).to.deep.equal([row.path]);
      expect(warnings[0].message).to.match(row.message);
      // TalosCluster logs it as pulumi up shows it, and the offline engine keeps it.
      const run = succeeded(await runStack("homelab", cluster));
      expect(run.warnings).to.deep.equal([`${row.path}: ${warnings[0].message}`]);
    });
  }

  it("has nothing to say of the example stacks", async () => {
    for (const stack of ["homelab", "prod"] as const) {
      expect(clusterWarnings(readClusterArgs(exampleCluster(stack)).spec!), stack).to.deep.equal([]);
      expect(succeeded(await runStack(stack)).warnings, stack).to.deep.equal([]);
    }
  });

  it("says so when a program leaves lastUpdate out, which turns the checks against the running cluster off", async () => {
    const args = exampleCluster("homelab") as unknown as TalosClusterArgs;
    const run = succeeded(await runComponents(() => new TalosCluster("lab", args)));
    expect(run.warnings).to.deep.equal([
      "lastUpdate: is not given, so no change is checked against the running cluster (quorum, VM replacements, " +
        "a rename...). Pass lastUpdate: await readLastUpdate() (empty for a new stack).",
    ]);
    const given = succeeded(await runComponents(() => new TalosCluster("lab", { ...args, lastUpdate: {} })));
    expect(given.warnings).to.deep.equal([]);
  });
});
