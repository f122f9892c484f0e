/**
 * The real engine beside the offline plan: wall time of `pulumi preview` of the prod stack (a new
 * stack, so every resource is a create) through the CLI built here, our language host and the stand-in
 * plugins (tools/engine), and of `npm run plan -- --stack prod`, each the median of a few runs.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { buildEngineTools, EngineWorkspace, PROJECT_DIR } from "../engine/pulumi";

export interface EnginePreviewMeasurement {
  runs: number;
  previewMs: number;
  planMs: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function timed(run: () => void): number {
  const start = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export function measureEnginePreview(runs = 3): EnginePreviewMeasurement {
  const ws = new EngineWorkspace(buildEngineTools());
  try {
    ws.ok(["stack", "init", "prod"]);
    ws.ok(["config", "set", "--secret", "proxmoxve:apiToken", "pulumi@pve!bench=not-a-real-token"]);
    const previews: number[] = [];
    const plans: number[] = [];
    for (let i = 0; i < runs; i++) {
      previews.push(timed(() => ws.ok(["preview"])));
      plans.push(
        timed(() => {
          const result = spawnSync(
            process.execPath,
            [
              "-r",
              "ts-node/register/transpile-only",
              join(PROJECT_DIR, "tools", "plan.ts"),
              "--stack",
              "prod",
            ],
            { cwd: PROJECT_DIR, encoding: "utf8" },
          );
          if (result.status !== 0) {
            throw new Error(`the offline plan of prod failed:\n${result.stderr}`);
          }
        }),
      );
    }
    return { runs, previewMs: median(previews), planMs: median(plans) };
  } finally {
    ws.remove();
  }
}
