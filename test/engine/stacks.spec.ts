/**
 * The engine lane (`npm run test:engine`): the real Pulumi CLI and engine (pkg/v3 v3.276.0) run the
 * real stack program through our Node.js language host, on a file backend, with stand-in provider
 * plugins (tools/engine/standin: the real talos, proxmoxve and command plugins are not served here, and
 * the real kubernetes plugin's Helm Check downloads the chart; the stand-ins follow each provider's
 * schema and replace rules, cited there). Every stack runs with `dist/` built beside it: with
 * `main: stacks/` the runtime would run the library barrel instead (issue 18).
 */
import { expect } from "chai";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_EXTENSIONS, ValidationError } from "../../components";
import { changesBetween } from "../../tools/offline/changes";
import { readProjectName } from "../../tools/offline/stack-file";
import { buildEngineTools, EngineTools, EngineWorkspace, PROJECT_DIR } from "../../tools/engine/pulumi";
import {
  changingSteps,
  offlineShapes,
  secretPlaintexts,
  stateShapes,
  stepsByUrn,
  touched,
} from "../../tools/engine/state";
import {
  API_TOKEN,
  buildDist,
  editCluster,
  editDescription,
  exportState,
  managedState,
  offlinePlan,
  preview,
  stackOutputs,
} from "./harness";
import { succeeded } from "../harness";

type Description = Record<string, unknown> & {
  image: { extensions?: string[] };
  kubeVip: { serviceRanges: string[] | Record<string, string[]> };
  workerPools: { nodes: { name: string; pveNode: string; ip: string; vmId: number }[] }[];
};

/** `a.b.c.X-a.b.c.Y` narrowed to its first six addresses. */
function narrowed(range: string): string {
  const [from] = range.split("-");
  const prefix = from.slice(0, from.lastIndexOf(".") + 1);
  return `${from}-${prefix}${Number(from.slice(prefix.length)) + 5}`;
}

/** Day-2 changes, each previewed and applied by the engine on a running stack, then undone. */
const DAY2_CHANGES: { what: string; edit: (cluster: Description) => void }[] = [
  { what: "a Talos patch bump", edit: (c) => (c.talosVersion = "v1.14.2") },
  { what: "a Kubernetes patch bump", edit: (c) => (c.kubernetesVersion = "1.36.2") },
  {
    what: "an added extension (a new schematic)",
    edit: (c) =>
      (c.image.extensions = [...(c.image.extensions ?? DEFAULT_EXTENSIONS), "siderolabs/intel-ucode"]),
  },
  {
    what: "narrower kube-vip Service ranges",
    edit: (c) => {
      const ranges = c.kubeVip.serviceRanges;
      c.kubeVip.serviceRanges = Array.isArray(ranges)
        ? ranges.map(narrowed)
        : Object.fromEntries(Object.entries(ranges).map(([ns, r]) => [ns, r.map(narrowed)]));
    },
  },
  {
    what: "a worker added",
    edit: (c) => {
      const nodes = c.workerPools[0].nodes;
      const last = nodes[nodes.length - 1];
      const ip = last.ip.split(".");
      ip[3] = String(Number(ip[3]) + 10);
      nodes.push({ name: "w-9", pveNode: last.pveNode, ip: ip.join("."), vmId: last.vmId + 10 });
    },
  },
  { what: "a worker removed", edit: (c) => c.workerPools[0].nodes.pop() },
];

describe("the real Pulumi engine", function () {
  this.timeout(900_000);
  let tools: EngineTools;

  before(function () {
    // Cold, this builds the CLI (about 7.5 minutes on 2 cores), the host and the stand-ins.
    this.timeout(3_600_000);
    tools = buildEngineTools();
  });

  for (const stack of ["homelab", "prod"] as const) {
    describe(stack, () => {
      let ws: EngineWorkspace;

      before(() => {
        ws = new EngineWorkspace(tools);
        buildDist(ws);
        ws.ok(["stack", "init", stack]);
      });
      after(() => ws?.remove());

      it("pulumi config set leaves the example stack file as it was, but for the new key", () => {
        // As in the repository: `pulumi stack init` has added the encryption salt to the copy since.
        const before = readFileSync(join(PROJECT_DIR, `Pulumi.${stack}.yaml`), "utf8");
        ws.ok(["config", "set", "--secret", "proxmoxve:apiToken", API_TOKEN]);
        const after = ws.read(`Pulumi.${stack}.yaml`);
        const added = after.split("\n").filter((line) => !before.split("\n").includes(line));
        expect(added.map((line) => line.replace(/: .*/, ":").trim())).to.have.members([
          "encryptionsalt:",
          "proxmoxve:apiToken:",
          "secure:",
        ]);
        const kept = after.split("\n").filter((line) => !added.includes(line));
        expect(kept.join("\n")).to.equal(before);
      });

      it("previews and creates the offline plan's resources: URNs, types, parents, providers, dependencies", async () => {
        const plan = succeeded(await offlinePlan(ws, stack));
        const prefix = `urn:pulumi:${stack}::${readProjectName(ws.project)}`;
        const expected = offlineShapes(plan.resources, prefix);

        const previewed = preview(ws);
        const creates = (previewed.steps ?? []).filter((s) => s.op === "create").map((s) => s.urn);
        expect(new Set(creates)).to.include.all.keys(expected.map((r) => r.urn));
        expect(changingSteps(previewed).every((s) => s.startsWith("create "))).to.equal(true);

        ws.ok(["up", "--yes", "--skip-preview"]);
        expect(stateShapes(exportState(ws))).to.deep.equal(expected);
      });

      it("previews no change on an unchanged stack", () => {
        const again = preview(ws, ["--expect-no-changes"]);
        expect(changingSteps(again)).to.deep.equal([]);
      });

      it("keeps every secret out of the state in plain text", () => {
        const plain = JSON.stringify(exportState(ws));
        const secrets = secretPlaintexts(exportState(ws, true));
        expect(secrets).to.include(API_TOKEN);
        expect(secrets.length).to.be.greaterThan(20);
        for (const secret of secrets) {
          expect(plain.includes(secret), `a secret is in the state in plain text: ${secret.slice(0, 12)}…`).to
            .be.false;
        }
      });

      it("refuses a control plane's new VM id through the real StackReference, and changes nothing", async () => {
        const outputs = stackOutputs(ws);
        const before = managedState(ws);
        editCluster(ws, stack, ["controlPlane", "nodes", 0, "vmId"], 1999);
        try {
          const offline = await offlinePlan(ws, stack, outputs);
          expect(offline.error).to.be.instanceOf(ValidationError);
          const problems = (offline.error as ValidationError).problems;
          expect(problems.map((p) => p.path)).to.include("cluster.controlPlane.nodes[0].vmId");

          for (const command of [["preview"], ["up", "--yes", "--skip-preview"]]) {
            const result = ws.pulumi(command);
            expect(result.status, command[0]).to.not.equal(0);
            for (const problem of problems) {
              expect(result.stdout + result.stderr).to.include(`${problem.path}: ${problem.message}`);
            }
          }
          expect(managedState(ws)).to.deep.equal(before);
          expect(stackOutputs(ws)).to.deep.equal(outputs);
        } finally {
          editCluster(ws, stack, ["controlPlane", "nodes", 0, "vmId"], stack === "homelab" ? 1011 : 2011);
        }
      });

      for (const change of DAY2_CHANGES) {
        it(`applies ${change.what} exactly as tools/offline/changes.ts predicts`, async () => {
          const file = join(ws.project, `Pulumi.${stack}.yaml`);
          const original = readFileSync(file, "utf8");
          const outputs = stackOutputs(ws);
          const before = succeeded(await offlinePlan(ws, stack, outputs));
          editDescription(ws, stack, change.edit);
          try {
            const after = succeeded(await offlinePlan(ws, stack, outputs));
            const predicted = Object.fromEntries(
              changesBetween(before.resources, after.resources).map((c) => [c.urn, c.change]),
            );
            expect(Object.keys(predicted)).to.not.be.empty;
            const previewed = stepsByUrn(preview(ws));
            const state = managedState(ws);
            ws.ok(["up", "--yes", "--skip-preview"]);
            const done = touched(state, managedState(ws));
            expect(done, "what pulumi up did").to.deep.equal(predicted);
            // The preview shows the same, but where a value is unknown until the update runs: a provider
            // may keep an output's old value in a preview (the Talos provider's machineConfiguration,
            // UseStateForUnknown), and what depends on it then shows no change until up.
            for (const [urn, kind] of Object.entries(previewed)) {
              expect(done[urn], `the preview's ${kind} of ${urn}`).to.equal(kind);
            }
          } finally {
            writeFileSync(file, original);
            ws.ok(["up", "--yes", "--skip-preview"]);
          }
        });
      }
    });
  }
});
