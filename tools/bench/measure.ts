/**
 * One benchmark size in one mode, in a process of its own so its time and memory are its own. Prints
 * one JSON object on stdout.
 *
 *   node -r ts-node/register/transpile-only tools/bench/measure.ts '<ClusterSize>' plan [parallel]
 *     the offline plan (timed, peak memory), its longest dependency chain, a simulated `pulumi up`
 *   node -r ts-node/register/transpile-only tools/bench/measure.ts '<ClusterSize>' pulumi
 *     the program evaluated with stack traces on, as `pulumi up` runs a TypeScript program (ts-node)
 */
import { performance } from "node:perf_hooks";
import { OfflineRun, runOffline } from "../offline/engine";
import { StackConfig } from "../offline/stack-file";
import { ClusterSize, stackOfSize } from "./cluster-sizes";
import { longestChain } from "./dependency-depth";
import { rollingUpgradeSeconds } from "./rolling-upgrade";
import { criticalPath, VirtualClock } from "./virtual-clock";
import program = require("../../stacks");

export interface Evaluation {
  /** Program evaluation under the offline engine, ms. */
  evaluationMs: number;
  /** From the process's start (Node, ts-node, modules) to the end of the evaluation, ms. */
  processMs: number;
  /** Resident memory of the process at its peak, bytes. */
  peakRss: number;
}

export interface PlanMeasurement extends Evaluation {
  size: ClusterSize;
  resources: number;
  components: number;
  invokes: number;
  /** Custom resources on the longest dependency chain, and that chain. */
  depth: number;
  chain: string[];
  /** Simulated `pulumi up` of a new stack, seconds, and the steps that set it. */
  upSeconds: number;
  criticalPath: { label: string; start: number; end: number }[];
  /** Simulated roll of a Talos version: one worker at a time (the default), and in batches of 10. */
  upgradeSeconds: { oneByOne: number; batchesOf10: number };
}

async function evaluate(stack: StackConfig, stackTraces: boolean): Promise<Evaluation & { run: OfflineRun }> {
  const started = performance.now();
  const run = await runOffline(program, { ...stack, stackTraces });
  const evaluationMs = performance.now() - started;
  if (run.error !== undefined) {
    throw asError(run.error);
  }
  return { run, evaluationMs, processMs: performance.now(), peakRss: process.resourceUsage().maxRSS * 1024 };
}

async function measurePlan(size: ClusterSize, parallel: number): Promise<PlanMeasurement> {
  const stack = stackOfSize(size);
  const { run, evaluationMs, processMs, peakRss } = await evaluate(stack, false);
  const { depth, chain } = longestChain(run);

  const clock = new VirtualClock(parallel);
  const simulated = runOffline(program, { ...stack, scheduler: clock });
  const upSeconds = await clock.drive(simulated);
  const simulatedRun = await simulated;
  if (simulatedRun.error !== undefined) {
    throw asError(simulatedRun.error);
  }
  const resources = run.resources.filter((r) => r.custom).length;
  if (clock.steps.length !== resources + run.invokes.length) {
    throw new Error(
      `the simulation saw ${clock.steps.length} steps, the plan ${resources} resources and ${run.invokes.length} invokes`,
    );
  }
  return {
    size,
    resources,
    components: run.resources.filter((r) => !r.custom).length,
    invokes: run.invokes.length,
    evaluationMs,
    processMs,
    peakRss,
    depth,
    chain: chain.map((r) => `${r.type}::${r.name}`),
    upSeconds,
    criticalPath: criticalPath(clock.steps).map(({ label, start, end }) => ({ label, start, end })),
    upgradeSeconds: {
      oneByOne: rollingUpgradeSeconds({ ...size, maxParallelWorkers: 1 }),
      batchesOf10: rollingUpgradeSeconds({ ...size, maxParallelWorkers: 10 }),
    },
  };
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(JSON.stringify(e));
}

async function main(): Promise<unknown> {
  const [sizeArg, mode, parallelArg] = process.argv.slice(2);
  const size = JSON.parse(sizeArg) as ClusterSize;
  if (mode === "pulumi") {
    const { evaluationMs, processMs, peakRss } = await evaluate(stackOfSize(size), true);
    return { evaluationMs, processMs, peakRss };
  }
  if (mode === "plan") {
    return measurePlan(size, parallelArg ? Number(parallelArg) : Number.POSITIVE_INFINITY);
  }
  throw new Error(`unknown mode ${mode}: use plan or pulumi`);
}

main().then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
