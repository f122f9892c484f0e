/**
 * One offline run of the stack program from a stack file, as `npm run plan` makes it, optionally
 * against an earlier plan (its `resources.json` and `outputs.json`): the program then reads that plan's
 * outputs as its stack's last update, and each resource is matched to the earlier one the engine would
 * find for it (by URN or alias).
 */
import { OfflineRun, ResourceRecord, runOffline } from "./engine";
import { PlanSide } from "./impact";
import { outputsJson, resourcesJson } from "./render";
import { readProjectName, readStackFile } from "./stack-file";
import program = require("../../stacks");

/** Runs the stack of `file`; throws StackFileError for a file that cannot be read. */
export function runStackFile(
  projectDir: string,
  file: string,
  stack: string,
  previous?: PlanSide,
): Promise<OfflineRun> {
  const stackConfig = readStackFile(file, readProjectName(projectDir), stack);
  return runOffline(program, {
    ...stackConfig,
    previousOutputs: previous?.outputs,
    olds: previous?.resources.map((r) => r.urn),
  });
}

/** What a failed run threw, as its message. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : JSON.stringify(error);
}

/** A run as this run's side of the report: its records as the engine made them. */
export function runSideOf(run: OfflineRun): PlanSide {
  return { resources: run.resources, outputs: run.outputs ?? {} };
}

/** A run as an earlier plan holds it: `resources.json` and `outputs.json`, secrets redacted. */
export function planSideOf(run: OfflineRun): PlanSide {
  return {
    resources: JSON.parse(resourcesJson(run)) as ResourceRecord[],
    outputs: JSON.parse(outputsJson(run)) as Record<string, unknown>,
  };
}
