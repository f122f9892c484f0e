/**
 * The end-to-end lane's figures for `npm run bench`: the lane (test/e2e) records what it measures while
 * it runs when TALOS_PROXMOX_E2E_FIGURES names a file, one JSON line per figure; the bench runs the
 * lane with that set and prints them.
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TimelineEntry } from "../simcluster/cluster";
import { PROJECT_DIR } from "../engine/pulumi";

/**
 * A figure of the lane: a `pulumi up`'s wall time in ms (labelled by its scenario), a stack's resource
 * count ("resources"), or the timeline of its Talos patch roll ("roll").
 */
export interface E2eFigure {
  stack: string;
  label: string;
  value: unknown;
}

export function recordFigure(stack: string, label: string, value: unknown): void {
  const file = process.env.TALOS_PROXMOX_E2E_FIGURES;
  if (file) {
    appendFileSync(file, `${JSON.stringify({ stack, label, value } satisfies E2eFigure)}\n`);
  }
}

/** Runs `npm run test:e2e`'s mocha with the figures recorded; its progress goes to stderr. */
export function measureEndToEnd(): E2eFigure[] {
  const dir = mkdtempSync(join(tmpdir(), "talos-proxmox-e2e-figures-"));
  const file = join(dir, "figures.jsonl");
  try {
    const result = spawnSync(
      process.execPath,
      [join(PROJECT_DIR, "node_modules", "mocha", "bin", "mocha.js"), "--config", "test/e2e/mocharc.json"],
      { cwd: PROJECT_DIR, env: { ...process.env, TALOS_PROXMOX_E2E_FIGURES: file }, stdio: ["ignore", 2, 2] },
    );
    if (result.status !== 0) {
      throw new Error("the end-to-end lane failed (its output is above): no figures from it");
    }
    return readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as E2eFigure);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);

/** The lane's figures as Markdown: each scenario's `pulumi up`, the engine per resource, prod's roll. */
export function endToEndReport(figures: E2eFigure[]): string[] {
  const stacks = [...new Set(figures.map((f) => f.stack))];
  const of = (stack: string, label: string) =>
    figures.find((f) => f.stack === stack && f.label === label)?.value;
  const ups = (stack: string) =>
    figures.filter((f) => f.stack === stack && typeof f.value === "number" && f.label !== "resources");
  const out = [
    "",
    "End to end (test/e2e: the real engine on a simulated cluster), each `pulumi up`'s wall time in seconds:",
    "",
    `| scenario | ${stacks.join(" | ")} |`,
    `|---|${stacks.map(() => "--:").join("|")}|`,
  ];
  const labels = [...new Set(stacks.flatMap((s) => ups(s).map((f) => f.label)))];
  for (const label of labels) {
    const cells = stacks.map((s) => {
      const ms = of(s, label);
      return typeof ms === "number" ? seconds(ms) : "";
    });
    out.push(`| ${label} | ${cells.join(" | ")} |`);
  }
  out.push(
    "",
    "The real engine's cost per resource: an `up` with nothing to change (the program runs, every resource " +
      "is diffed, the providers do nothing) over the stack's resources:",
    "",
  );
  for (const stack of stacks) {
    const ms = of(stack, "no-change");
    const resources = of(stack, "resources");
    if (typeof ms === "number" && typeof resources === "number") {
      out.push(
        `- ${stack}: ${seconds(ms)} s for ${resources} resources, ${(ms / resources).toFixed(0)} ms each`,
      );
    }
  }
  const roll = of("prod", "roll") as TimelineEntry[] | undefined;
  if (roll?.length) {
    const start = roll[0].ms;
    const at = (node: string, event: string) => {
      const e = roll.find((x) => x.node === node && x.event === event);
      return e ? seconds(e.ms - start) : "";
    };
    const nodes = [...new Set(roll.filter((e) => e.event === "upgrade-installed").map((e) => e.node))];
    out.push(
      "",
      `The Talos patch roll of the simulated prod, measured (seconds from the first node's upgrade; the whole roll ${seconds(roll[roll.length - 1].ms - start)} s):`,
      "",
      "| node | installed | cordoned | down | up | uncordoned |",
      "|---|--:|--:|--:|--:|--:|",
      ...nodes.map(
        (n) =>
          `| ${n} | ${at(n, "upgrade-installed")} | ${at(n, "cordoned")} | ${at(n, "down")} | ${at(n, "up")} | ${at(n, "uncordoned")} |`,
      ),
    );
  }
  return out;
}
