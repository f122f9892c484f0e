/**
 * The offline plan: runs the real stack program under Pulumi's mock engine and shows what it would
 * create, with no Proxmox, no credentials and no Pulumi CLI. A view of a stack, not a substitute for
 * `pulumi preview`.
 *
 *   npm run plan -- --stack homelab [--out plan/homelab]
 *   npm run plan -- --config-file path/to/Pulumi.mystack.yaml [--stack mystack] [--out dir]
 *   npm run plan -- --stack prod --against plan/prod [--format text|markdown|json]
 *     (what changes against an earlier plan's --out: the impact report, tools/offline/impact.ts)
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  ImpactReport,
  impactReport,
  PlanSide,
  refusedReport,
  renderImpactJson,
  renderImpactMarkdown,
  renderImpactText,
} from "./offline/impact";
import { ResourceRecord } from "./offline/engine";
import { deploymentMermaid, topologyMermaid } from "./offline/diagrams";
import { machineConfigs, outputsJson, renderTree, resourcesJson } from "./offline/render";
import { StackFileError, stackNameOf } from "./offline/stack-file";
import { errorMessage, runSideOf, runStackFile } from "./offline/stack-run";

const PROJECT_DIR = resolve(__dirname, "..");
const USAGE =
  "usage: npm run plan -- (--stack <name> | --config-file <path>) [--out <dir>] [--against <earlier --out dir> [--format text|markdown|json]]";
const FORMATS: Record<string, (report: ImpactReport) => string> = {
  text: renderImpactText,
  markdown: renderImpactMarkdown,
  json: renderImpactJson,
};

interface PlanArgs {
  stack?: string;
  configFile?: string;
  out?: string;
  against?: string;
  format?: string;
}

function parseArgs(argv: string[]): PlanArgs {
  const args: PlanArgs = {};
  const flags: Record<string, keyof PlanArgs> = {
    "--stack": "stack",
    "--config-file": "configFile",
    "--out": "out",
    "--against": "against",
    "--format": "format",
  };
  for (let i = 0; i < argv.length; i += 2) {
    const key = flags[argv[i]];
    const value = argv[i + 1];
    if (!key || value === undefined || value.startsWith("--")) {
      throw new UsageError(`bad argument ${argv[i]}`);
    }
    args[key] = value;
  }
  if (!args.stack && !args.configFile) {
    throw new UsageError("name a stack or a config file");
  }
  if (args.format !== undefined && !(args.format in FORMATS)) {
    throw new UsageError(`--format ${args.format}: use text, markdown or json`);
  }
  if (args.format !== undefined && args.against === undefined) {
    throw new UsageError("--format is the impact report's: give it with --against");
  }
  return args;
}

class UsageError extends Error {}

async function main(): Promise<number> {
  let args: PlanArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) {
      throw e;
    }
    console.error(`${e.message}\n${USAGE}`);
    return 2;
  }
  const file = args.configFile ? resolve(args.configFile) : join(PROJECT_DIR, `Pulumi.${args.stack}.yaml`);
  const stack = args.stack ?? stackNameOf(file);
  if (!stack) {
    console.error(`cannot tell the stack name from ${file}; add --stack <name>\n${USAGE}`);
    return 2;
  }
  let previous: PlanSide | undefined;
  if (args.against) {
    const dir = resolve(args.against);
    const files = ["resources.json", "outputs.json"].map((f) => join(dir, f));
    const missing = files.filter((f) => !existsSync(f));
    if (missing.length > 0) {
      console.error(
        `${missing.join(" and ")} not found: --against takes a directory an earlier --out wrote.`,
      );
      return 2;
    }
    const [resources, outputs] = files.map((f) => JSON.parse(readFileSync(f, "utf8")) as unknown);
    previous = {
      resources: resources as ResourceRecord[],
      outputs: outputs as Record<string, unknown>,
    };
  }
  // Against an earlier plan, the program refuses what it would refuse on the real stack.
  let run;
  try {
    run = await runStackFile(PROJECT_DIR, file, stack, previous);
  } catch (e) {
    if (!(e instanceof StackFileError)) {
      throw e;
    }
    console.error(`Offline plan of stack "${stack}" failed; nothing was written.\n\n${e.message}`);
    return 1;
  }
  const render = FORMATS[args.format ?? "text"];
  const text = render === renderImpactText;
  if (run.error !== undefined) {
    const message = errorMessage(run.error);
    if (previous && !text) {
      // The report of a refused change goes to stdout like any other (a pull-request comment shows it);
      // the exit code still says it was refused.
      process.stdout.write(render(refusedReport(stack, previous, message)));
    }
    console.error(`Offline plan of stack "${stack}" (${file}) failed; nothing was written.\n\n${message}`);
    return 1;
  }
  if (previous) {
    // The impact report lists the warnings itself.
    const report = impactReport(stack, previous, runSideOf(run), run.warnings);
    if (text) {
      console.log(`Offline plan of stack "${stack}" (${file}) against ${resolve(args.against ?? "")}\n`);
    }
    process.stdout.write(render(report));
  } else {
    for (const warning of run.warnings) {
      console.error(`warning: ${warning}`);
    }
    console.log(`Offline plan of stack "${stack}" (${file})\n`);
    console.log(renderTree(run));
  }
  if (args.out) {
    const out = resolve(args.out);
    const configDir = join(out, "machine-config");
    rmSync(configDir, { recursive: true, force: true });
    mkdirSync(configDir, { recursive: true });
    writeFileSync(join(out, "resources.json"), resourcesJson(run));
    writeFileSync(join(out, "outputs.json"), outputsJson(run));
    writeFileSync(join(out, "topology.mmd"), topologyMermaid(run));
    writeFileSync(join(out, "deployment.mmd"), deploymentMermaid(run));
    for (const [node, yaml] of machineConfigs(run)) {
      writeFileSync(join(configDir, `${node}.yaml`), yaml);
    }
    // A report in markdown or JSON owns stdout.
    (text ? console.log : console.error)(
      `Wrote resources.json, outputs.json, topology.mmd, deployment.mmd and machine-config/ to ${out}`,
    );
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
