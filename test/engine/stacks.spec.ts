/**
 * The engine lane (`npm run test:engine`): the real Pulumi CLI and engine (pkg/v3 v3.276.0) run the
 * real stack program through our Node.js language host, on a file backend, with stand-in provider
 * plugins (tools/engine/standin: the real talos, proxmoxve and command plugins are not served here, and
 * the real kubernetes plugin's Helm Check downloads the chart; the stand-ins follow each provider's
 * schema and replace rules, cited there). Every stack runs with `dist/` built beside it: with
 * `main: stacks/` the runtime would run the library barrel instead (issue 18).
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ValidationError } from "../../components";
import { changesBetween } from "../../tools/offline/changes";
import { readProjectName } from "../../tools/offline/stack-file";
import { buildEngineTools, EngineTools, EngineWorkspace, PROJECT_DIR } from "../../tools/engine/pulumi";
import {
  changingSteps,
  offlineShapes,
  secretPlaintexts,
  stateShapes,
  stepsByUrn,
} from "../../tools/engine/state";
import {
  API_TOKEN,
  buildDist,
  editCluster,
  exportState,
  managedState,
  offlinePlan,
  preview,
  stackOutputs,
  succeeded,
} from "./harness";

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

      it("diffs a Talos patch bump exactly as tools/offline/changes.ts predicts", async () => {
        const outputs = stackOutputs(ws);
        const before = succeeded(await offlinePlan(ws, stack, outputs));
        editCluster(ws, stack, ["talosVersion"], "v1.13.10");
        const after = succeeded(await offlinePlan(ws, stack, outputs));
        const predicted = Object.fromEntries(
          changesBetween(before.resources, after.resources).map((c) => [c.urn, c.change]),
        );
        expect(Object.keys(predicted)).to.not.be.empty;
        expect(stepsByUrn(preview(ws))).to.deep.equal(predicted);
      });
    });
  }
});
