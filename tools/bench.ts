/**
 * The benchmark: the `prod` stack at several sizes, each planned offline (time, memory, dependency
 * depth) and deployed under a virtual clock (a simulated `pulumi up` and Talos roll). Prints Markdown.
 * Figures, not assertions: the targets are printed beside them.
 *
 *   npm run bench [-- --parallel <n>] [-- --sizes 1x0,3x3,3x30] [-- --engine false] [-- --e2e false]
 *
 * With the engine on (the default), it also times the real engine's `pulumi preview` of prod against
 * the offline plan's (tools/bench/engine-preview.ts; builds the engine lane's tools on first use).
 * With the end-to-end lane on (the default), it runs it (test/e2e, tools/bench/e2e.ts; builds the
 * engine's and the simulated cluster's programs on first use) and prints what it measured: each
 * scenario's `pulumi up`, the engine's cost per resource, and prod's Talos roll node by node.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { ClusterSize, sizeLabel } from "./bench/cluster-sizes";
import { HEALTH_LATENCIES, NODE_LATENCIES, RESOURCE_LATENCIES, UPGRADE_LATENCIES } from "./bench/latencies";
import { measureEnginePreview } from "./bench/engine-preview";
import { endToEndReport, measureEndToEnd } from "./bench/e2e";
import { Evaluation, PlanMeasurement } from "./bench/measure";
import { shortType } from "./offline/diagrams";

/** The one-node cluster first: its time is the lower bound of every other. */
const DEFAULT_SIZES = "1x0,3x3,3x30,3x300,5x300";
const USAGE =
  "usage: npm run bench [-- --parallel <n>] [--sizes 1x0,3x3,...] [--engine true|false] [--e2e true|false]  (<control planes>x<workers>)";
const MEASURE = join(__dirname, "bench", "measure.ts");
/** The targets of issue 6. */
const TARGETS = { overBound: 0.05, planSeconds: 20, planBytes: 2 ** 30 };

interface Options {
  parallel?: number;
  sizes: ClusterSize[];
  engine: boolean;
  e2e: boolean;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { sizes: parseSizes(DEFAULT_SIZES), engine: true, e2e: true };
  for (let i = 0; i < argv.length; i += 2) {
    const value = argv[i + 1];
    if (argv[i] === "--parallel" && /^[1-9][0-9]*$/.test(value ?? "")) {
      options.parallel = Number(value);
    } else if (argv[i] === "--sizes" && value) {
      options.sizes = parseSizes(value);
    } else if (argv[i] === "--engine" && (value === "true" || value === "false")) {
      options.engine = value === "true";
    } else if (argv[i] === "--e2e" && (value === "true" || value === "false")) {
      options.e2e = value === "true";
    } else {
      throw new Error(`bad argument ${argv[i]}\n${USAGE}`);
    }
  }
  return options;
}

function parseSizes(text: string): ClusterSize[] {
  return text.split(",").map((item) => {
    const match = /^([1-9][0-9]*)x([0-9]+)$/.exec(item);
    if (!match) {
      throw new Error(`bad size ${item}\n${USAGE}`);
    }
    return { controlPlanes: Number(match[1]), workers: Number(match[2]) };
  });
}

/** Runs one measurement in a fresh Node process, so its memory is its own. */
function measure<T>(size: ClusterSize, mode: "plan" | "pulumi", parallel?: number): T {
  const args = ["-r", "ts-node/register/transpile-only", MEASURE, JSON.stringify(size), mode];
  const result = spawnSync(process.execPath, parallel ? [...args, String(parallel)] : args, {
    encoding: "utf8",
    maxBuffer: 64 * 2 ** 20,
  });
  if (result.status !== 0) {
    throw new Error(`measuring ${sizeLabel(size)} (${mode}) failed:\n${result.stderr}`);
  }
  return JSON.parse(result.stdout) as T;
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);
const mib = (bytes: number) => String(Math.round(bytes / 2 ** 20));
function duration(totalSeconds: number): string {
  const s = Math.round(totalSeconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h ${String(m).padStart(2, "0")}m` : `${m}m ${String(s % 60).padStart(2, "0")}s`;
}
/** A step's label (`type::name`, or an invoke's token) in a few words. */
const stepName = (label: string) => {
  const [type, name] = label.split("::");
  return name ? `${shortType(type)} ${name}` : shortType(type);
};
const check = (ok: boolean) => (ok ? "met" : "MISSED");

function main(): void {
  const options = parseOptions(process.argv.slice(2));
  const rows = options.sizes.map((size) => {
    process.stderr.write(`measuring ${sizeLabel(size)} ...\n`);
    return {
      plan: measure<PlanMeasurement>(size, "plan", options.parallel),
      pulumi: measure<Evaluation>(size, "pulumi"),
    };
  });
  const bound = rows.find((r) => r.plan.size.workers === 0 && r.plan.size.controlPlanes === 1)?.plan
    .upSeconds;

  const out: string[] = [];
  const parallel = options.parallel
    ? `--parallel ${options.parallel}`
    : "Pulumi's default parallelism (unbounded)";
  out.push(
    `## talos-proxmox benchmark: the prod stack at each size (Node ${process.version}, simulated with ${parallel})`,
    "",
    "| cluster | resources | plan: evaluation | plan: whole command | ms / resource | peak memory | with stack traces, as `pulumi up` runs TS | depth | simulated `pulumi up` | over one node's time | Talos roll, 1 worker at a time | in batches of 10 |",
    "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
  );
  for (const { plan, pulumi } of rows) {
    const over = bound ? `${(((plan.upSeconds - bound) / bound) * 100).toFixed(1)}%` : "n/a";
    out.push(
      `| ${sizeLabel(plan.size)} | ${plan.resources} | ${seconds(plan.evaluationMs)} s | ${seconds(plan.processMs)} s | ` +
        `${(plan.evaluationMs / plan.resources).toFixed(1)} | ${mib(plan.peakRss)} MiB | ` +
        `${seconds(pulumi.evaluationMs)} s, ${mib(pulumi.peakRss)} MiB | ${plan.depth} | ${duration(plan.upSeconds)} | ${over} | ` +
        `${duration(plan.upgradeSeconds.oneByOne)} | ${duration(plan.upgradeSeconds.batchesOf10)} |`,
    );
  }

  const largest = rows[rows.length - 1].plan;
  out.push(
    "",
    `Longest dependency chain (${largest.depth} custom resources, ${sizeLabel(largest.size)}):`,
    "",
    largest.chain.map(stepName).join(" → "),
    "",
    `Simulated \`pulumi up\` of ${sizeLabel(largest.size)}: the steps that set its time`,
    "",
    "| from | to | step |",
    "|--:|--:|---|",
    ...largest.criticalPath.map(
      (s) => `| ${duration(s.start)} | ${duration(s.end)} | ${stepName(s.label)} |`,
    ),
  );

  const measured = rows.map((r) => r.plan);
  const depths = new Set(measured.filter((m) => m.size.workers > 0).map((m) => m.depth));
  const at = (cp: number, w: number) =>
    measured.find((m) => m.size.controlPlanes === cp && m.size.workers === w);
  const [m30, m300] = [at(3, 30), at(3, 300)];
  const biggest = measured.filter((m) => m.size.workers >= 300);
  const worstOver = bound ? Math.max(...measured.map((m) => (m.upSeconds - bound) / bound)) : undefined;
  out.push("", "Targets:", "");
  out.push(
    `- depth the same at every size with workers: ${[...depths].join(", ")} (${check(depths.size === 1)})`,
    worstOver === undefined
      ? "- time to ready within 5% of one node's time: no one-node size measured (add 1x0)"
      : `- time to ready within 5% of one node's time (${duration(bound as number)}): worst ${(worstOver * 100).toFixed(1)}% (${check(worstOver <= TARGETS.overBound)})`,
  );
  if (m30 && m300) {
    const per30 = m30.evaluationMs / m30.resources;
    const per300 = m300.evaluationMs / m300.resources;
    out.push(
      `- evaluation cost per resource flat from 30 to 300 workers: ${per30.toFixed(1)} → ${per300.toFixed(1)} ms (×${(per300 / per30).toFixed(2)}; ${check(per300 <= per30 * 1.25)})`,
    );
  }
  for (const m of biggest) {
    out.push(
      `- ${sizeLabel(m.size)} planned in under ${TARGETS.planSeconds} s and 1 GiB: ${seconds(m.processMs)} s, ${mib(m.peakRss)} MiB (${check(m.processMs / 1000 < TARGETS.planSeconds && m.peakRss < TARGETS.planBytes)})`,
    );
  }

  out.push(
    "",
    "Latency model (tools/bench/latencies.ts), seconds:",
    "",
    "| step | s | what |",
    "|---|--:|---|",
  );
  for (const [type, l] of Object.entries(RESOURCE_LATENCIES)) {
    out.push(`| ${stepName(type)} | ${l.seconds} | ${l.why} |`);
  }
  out.push(
    `| getHealth (Talos checks) | ${HEALTH_LATENCIES.talos.seconds} | ${HEALTH_LATENCIES.talos.why} |`,
    `| getHealth (with Kubernetes) | ${HEALTH_LATENCIES.kubernetes.seconds} | ${HEALTH_LATENCIES.kubernetes.why} |`,
    `| talosctl upgrade (one node) | ${UPGRADE_LATENCIES.node.seconds} | ${UPGRADE_LATENCIES.node.why} |`,
    `| health gate of the roll | ${UPGRADE_LATENCIES.healthGate.seconds} | ${UPGRADE_LATENCIES.healthGate.why} |`,
    `| upgrade-k8s (per control plane) | ${UPGRADE_LATENCIES.kubernetesControlPlane.seconds} | ${UPGRADE_LATENCIES.kubernetesControlPlane.why} |`,
    `| upgrade-k8s (the kubelets) | ${UPGRADE_LATENCIES.kubelets.seconds} | ${UPGRADE_LATENCIES.kubelets.why} |`,
    `| a drained reboot (config roll) | ${NODE_LATENCIES.reboot.seconds} | ${NODE_LATENCIES.reboot.why} |`,
    `| a node joins | ${NODE_LATENCIES.join.seconds} | ${NODE_LATENCIES.join.why} |`,
    `| a node leaves | ${NODE_LATENCIES.leave.seconds} | ${NODE_LATENCIES.leave.why} |`,
  );
  if (options.engine) {
    process.stderr.write("measuring the real engine's preview of prod ...\n");
    const engine = measureEnginePreview();
    out.push(
      "",
      `The real engine (tools/engine: Pulumi CLI v3.276.0, our language host, stand-in plugins), median of ${engine.runs} runs:`,
      "",
      "| prod, a new stack | wall time |",
      "|---|--:|",
      `| \`pulumi preview\` (real engine) | ${seconds(engine.previewMs)} s |`,
      `| \`npm run plan -- --stack prod\` (offline plan) | ${seconds(engine.planMs)} s |`,
      `| ratio | ×${(engine.previewMs / engine.planMs).toFixed(1)} |`,
    );
  }
  if (options.e2e) {
    process.stderr.write("running the end-to-end lane ...\n");
    out.push(...endToEndReport(measureEndToEnd()));
  }
  console.log(out.join("\n"));
}

try {
  main();
} catch (e) {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
}
