/**
 * The GitHub Actions workflows: valid YAML, running what CI and the README promise, with the plugin and
 * CLI versions the code pins (a version bump that forgets the workflow fails here).
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { TALOS_PLUGIN_DOWNLOAD_URL, TALOS_PROVIDER_VERSION } from "../components/talos/provider";
import { PROJECT_DIR } from "./harness";

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
  "working-directory"?: string;
}
interface Workflow {
  name: string;
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  jobs: Record<
    string,
    {
      "runs-on": string;
      if?: string;
      needs?: string;
      strategy?: { matrix: Record<string, unknown> };
      steps: Step[];
    }
  >;
}

const WORKFLOWS = join(PROJECT_DIR, ".github", "workflows");
const read = (file: string) => parse(readFileSync(join(WORKFLOWS, file), "utf8")) as Workflow;
const packageJson = JSON.parse(readFileSync(join(PROJECT_DIR, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const pluginOf = (sdk: string) =>
  (
    JSON.parse(readFileSync(join(PROJECT_DIR, "node_modules", sdk, "package.json"), "utf8")) as {
      version: string;
      pulumi: { name: string; version?: string; server?: string };
    }
  ).pulumi;

describe("GitHub workflows", () => {
  it("are valid YAML with pinned actions and least privileges", () => {
    const files = readdirSync(WORKFLOWS).sort();
    expect(files).to.deep.equal(["ci.yml", "preview.yml"]);
    for (const file of files) {
      const workflow = read(file);
      expect(workflow.name, file).to.be.a("string");
      expect(workflow.permissions, file).to.include({ contents: "read" });
      for (const job of Object.values(workflow.jobs)) {
        expect(job["runs-on"], file).to.be.a("string");
        for (const step of job.steps) {
          expect(
            Object.keys(step).some((k) => k === "uses" || k === "run"),
            file,
          ).to.equal(true);
          if (step.uses) {
            expect(step.uses, file).to.match(/^[\w-]+\/[\w-]+@v\d+$/);
          }
        }
      }
    }
  });

  it("CI runs .ci/run, which runs the README's test command, on every push and pull request", () => {
    const ci = read("ci.yml");
    expect(ci.on).to.have.keys("push", "pull_request");
    const steps = ci.jobs.test.steps;
    expect(steps.map((s) => s.run)).to.include("bash .ci/run");
    const script = readFileSync(join(PROJECT_DIR, ".ci", "run"), "utf8");
    expect(script).to.include("npm ci");
    expect(script).to.include("npm run lint");
    expect(script).to.match(/^npm test$/m);
    expect(readFileSync(join(PROJECT_DIR, "README.md"), "utf8")).to.match(/^npm test {2,}# /m);
  });

  describe("preview", () => {
    const preview = read("preview.yml");
    const job = preview.jobs.preview;

    it("previews every stack of the repository on pull requests and comments on the PR", () => {
      expect(preview.on).to.have.keys("pull_request");
      expect(preview.permissions).to.include({ "pull-requests": "write" });
      const stacks = readdirSync(PROJECT_DIR)
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
      expect(job.strategy?.matrix.stack).to.deep.equal(stacks);
      const run = job.steps.find((s) => s.with?.command === "preview");
      expect(run?.uses).to.match(/^pulumi\/actions@v\d+$/);
      expect(run?.with).to.include({
        "stack-name": "${{ matrix.stack }}",
        "comment-on-pr": true,
        "github-token": "${{ secrets.GITHUB_TOKEN }}",
      });
      // Forks get no secrets.
      expect(job.if).to.equal("github.event.pull_request.head.repo.full_name == github.repository");
    });

    it("pins provider SDKs that name a released plugin version", () => {
      // @pulumi/command 4.5.0 (deprecated on npm) names no plugin version, so its resources ask for
      // plugin command v4.5.0, which pulumi/pulumi-command never released (its tags end at v1.2.1): a
      // real pulumi up could not install it. A sound provider SDK names the plugin it was generated for.
      for (const sdk of ["@pulumi/command", "@pulumi/kubernetes", "@muhlba91/pulumi-proxmoxve"]) {
        const plugin = pluginOf(sdk);
        expect(plugin.version, sdk).to.equal(packageJson.dependencies[sdk]);
      }
    });

    it("installs the CLI of the pinned SDK and the plugins the code pins, before the preview", () => {
      const cli = packageJson.devDependencies["@pulumi/pulumi"];
      for (const step of job.steps.filter((s) => s.uses?.startsWith("pulumi/actions@"))) {
        expect(step.with?.["pulumi-version"]).to.equal(cli);
      }
      const installs = job.steps.findIndex((s) => s.run?.includes("pulumi plugin install"));
      expect(installs).to.be.lessThan(job.steps.findIndex((s) => s.with?.command === "preview"));
      const lines = (job.steps[installs].run as string).trim().split("\n");
      const proxmox = pluginOf("@muhlba91/pulumi-proxmoxve");
      expect(lines).to.deep.equal([
        `pulumi plugin install resource talos ${TALOS_PROVIDER_VERSION} --server ${TALOS_PLUGIN_DOWNLOAD_URL}`,
        `pulumi plugin install resource ${proxmox.name} ${proxmox.version} --server ${proxmox.server}`,
        `pulumi plugin install resource kubernetes ${pluginOf("@pulumi/kubernetes").version}`,
        `pulumi plugin install resource command ${packageJson.dependencies["@pulumi/command"]}`,
      ]);
    });
  });

  describe("impact", () => {
    const preview = read("preview.yml");
    const job = preview.jobs.impact;
    const step = (name: string, steps = job.steps) => {
      const found = steps.find((s) => s.name?.startsWith(name));
      expect(found, name).to.not.equal(undefined);
      return found as Step;
    };
    const bash = (script: string, cwd: string, env: Record<string, string>) =>
      spawnSync("bash", ["-euo", "pipefail", "-c", script], {
        cwd,
        env: { ...process.env, ...env },
        encoding: "utf8",
      });

    it("plans the base branch with its code and the head against it, for every stack of either, with no secrets", () => {
      expect(job.needs).to.equal("stacks");
      expect(job.strategy?.matrix.stack).to.equal("${{ fromJSON(needs.stacks.outputs.stacks) }}");
      const [base, head] = job.steps.filter((s) => s.uses?.startsWith("actions/checkout@"));
      expect(base.with).to.deep.equal({ ref: "${{ github.event.pull_request.base.sha }}", path: "base" });
      expect(head.with).to.deep.equal({ path: "head" });
      expect(step("Plan the base")["working-directory"]).to.equal("base");
      expect(step("The head's impact")["working-directory"]).to.equal("head");
      expect(JSON.stringify(preview.jobs.stacks) + JSON.stringify(job)).to.not.include("secrets.");
      expect(step("Comment on the pull request").env?.GH_TOKEN).to.equal("${{ github.token }}");
      expect(step("Comment on the pull request").run).to.include('.user.login == \\"github-actions[bot]\\"');
    });

    it("lists the stacks of the base and the head, as JSON for the matrix", () => {
      const root = mkdtempSync(join(tmpdir(), "talos-proxmox-stacks-job-"));
      for (const [side, files] of [
        ["base", ["Pulumi.yaml", "Pulumi.homelab.yaml", "Pulumi.prod.yaml", "package.json"]],
        ["head", ["Pulumi.yaml", "Pulumi.prod.yaml", "Pulumi.staging.yaml"]],
      ] as const) {
        mkdirSync(join(root, side));
        files.forEach((f) => writeFileSync(join(root, side, f), ""));
      }
      const output = join(root, "github-output");
      const result = bash(step("List them", preview.jobs.stacks.steps).run as string, root, {
        GITHUB_OUTPUT: output,
      });
      expect(result.status, result.stderr).to.equal(0);
      expect(readFileSync(output, "utf8")).to.equal('stacks=["homelab","prod","staging"]\n');
    });

    // The job's own scripts, run by bash on two copies of this project (base and head) as the runner
    // would, but with node_modules linked instead of installed: what the comment would say, and the
    // outcome that fails the job on a refusal or a failed plan.
    const runJob = (editHead: (text: string) => string, { baseHasStack = true } = {}) => {
      const root = mkdtempSync(join(tmpdir(), "talos-proxmox-impact-job-"));
      for (const side of ["base", "head"]) {
        const dir = join(root, side);
        for (const entry of [
          "components",
          "stacks",
          "tools",
          "package.json",
          "tsconfig.json",
          "Pulumi.yaml",
        ]) {
          cpSync(join(PROJECT_DIR, entry), join(dir, entry), { recursive: true });
        }
        symlinkSync(join(PROJECT_DIR, "node_modules"), join(dir, "node_modules"));
        const prod = readFileSync(join(PROJECT_DIR, "Pulumi.prod.yaml"), "utf8");
        if (side === "head" || baseHasStack) {
          writeFileSync(join(dir, "Pulumi.prod.yaml"), side === "head" ? editHead(prod) : prod);
        }
      }
      const output = join(root, "github-output");
      writeFileSync(output, "");
      for (const name of ["Plan the base", "The head's impact"]) {
        const s = step(name);
        const script = (s.run as string).replace(/^\s*npm ci --no-audit --no-fund\n/m, "");
        const result = bash(script, join(root, s["working-directory"] as string), {
          STACK: "prod",
          GITHUB_OUTPUT: output,
        });
        expect(result.status, `${name}: ${result.stderr}`).to.equal(0);
      }
      return { report: readFileSync(join(root, "impact.md"), "utf8"), output: readFileSync(output, "utf8") };
    };

    it("writes the markdown report of the head's change against the base", function () {
      this.timeout(180_000);
      const { report, output } = runJob((text) =>
        text.replace("maxParallelWorkers: 1", "maxParallelWorkers: 2"),
      );
      expect(report).to.match(/^\*\*Impact on stack `prod`\*\*\n/);
      expect(report).to.include("| max parallel workers | `1` | `2` |");
      expect(output).to.equal("outcome=planned\n");
    });

    it("fails the job after the report on a refusal, and says a failed plan is not a refusal", function () {
      this.timeout(180_000);
      const refused = runJob((text) => text.replace("cores: 8", "cores: 16"));
      expect(refused.report).to.include("**Refused**");
      expect(refused.output).to.equal("outcome=refused\n");
      const failed = runJob((text) => `${text}\n  talos-proxmox:cluster: [unclosed\n`);
      expect(failed.report).to.include("The offline plan failed:");
      expect(failed.report).to.include('Offline plan of stack "prod" failed');
      expect(failed.output).to.equal("outcome=failed\n");
      expect(step("A refused change or a failed plan fails the job").if).to.equal(
        "steps.impact.outputs.outcome == 'refused' || steps.impact.outputs.outcome == 'failed'",
      );
    });

    it("plans a new stack on its own", function () {
      this.timeout(180_000);
      const { report, output } = runJob((text) => text, { baseHasStack: false });
      expect(report).to.include("A new stack: its offline plan.");
      expect(report).to.include("46 resources");
      expect(output).to.equal("outcome=planned\n");
    });
  });
});
