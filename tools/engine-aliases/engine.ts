/**
 * Pulumi's own engine deciding what an update does: tools/engine-aliases builds a test binary of
 * github.com/pulumi/pulumi/pkg/v3 (its deployment engine, step generator and provider registry, run by
 * its lifecycle-test framework with providers that create anything), deploys the registrations of one
 * run, updates to those of another, and reports each step. What the providers would do is not in it;
 * which resources the engine finds again, creates, replaces or deletes is.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AliasRecord, ResourceRecord } from "../offline/engine";

/** One registration as the engine receives it. */
export interface Registration {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  parent: string | null;
  /** `<provider urn>::<id>`, when one was given. */
  provider?: string;
  aliases?: AliasRecord[];
}

export interface EngineUpdate {
  /** Each URN the engine gave to the second run's resources, to the URN the offline engine gave. */
  urns: Record<string, string>;
  /**
   * What the engine did to each resource in the update ("same", "create", "update", "delete", ...), and
   * the URN of the old state it started from, when there was one (found by URN or alias).
   */
  steps: { op: string; urn: string; old?: string }[];
}

/** A recorded resource as the engine received it. */
export function registrationOf(r: ResourceRecord): Registration {
  return {
    urn: r.urn,
    type: r.type,
    name: r.name,
    custom: r.custom,
    parent: r.parent,
    ...(r.options.provider ? { provider: r.options.provider } : {}),
    ...(r.options.aliases ? { aliases: r.options.aliases } : {}),
  };
}

/** Builds the engine's test binary (once per source version, into a cache outside the repository). */
export function buildEngine(): string {
  return execFileSync("bash", [join(__dirname, "..", "go-tool.sh"), __dirname, "test"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
}

/** Deploys `before`, then updates to `after`, with the real engine: what it did in the update. */
export function engineUpdate(
  binary: string,
  run: { project: string; stack: string; before: Registration[]; after: Registration[] },
): EngineUpdate {
  const dir = mkdtempSync(join(tmpdir(), "engine-aliases-"));
  try {
    const input = join(dir, "input.json");
    const output = join(dir, "output.json");
    writeFileSync(input, JSON.stringify(run));
    const result = spawnSync(binary, ["-test.run", "^TestUpdate$"], {
      env: { ...process.env, ENGINE_ALIASES_INPUT: input, ENGINE_ALIASES_OUTPUT: output },
      encoding: "utf8",
    });
    if (result.status !== 0) {
      throw new Error(`the engine failed (${String(result.status)}):\n${result.stdout}\n${result.stderr}`);
    }
    return JSON.parse(readFileSync(output, "utf8")) as EngineUpdate;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
