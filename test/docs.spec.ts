/**
 * The component reference in the README is generated from the TSDoc (npm run docs), and the TSDoc is
 * complete: every component, args field (optional ones with @default) and output.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  changeContract,
  componentReference,
  IMPACT_EXAMPLES,
  impactExamples,
  withChangeContract,
  withImpactExamples,
  withReference,
} from "../tools/docs";
import { PROJECT_DIR } from "./harness";

describe("component reference (npm run docs)", function () {
  this.timeout(60_000);

  it("documents every public component, args field (with @default when optional) and output", async () => {
    const { missing } = await componentReference();
    expect(missing).to.deep.equal([]);
  });

  it("is in the README as npm run docs writes it", async () => {
    const readme = readFileSync(join(PROJECT_DIR, "README.md"), "utf8");
    const { markdown } = await componentReference();
    expect(withReference(readme, markdown) === readme, "README.md is out of date: run npm run docs").to.equal(
      true,
    );
    expect(markdown).to.include("### ControlPlane");
    // Columns are padded to the widest cell: allow any padding.
    expect(markdown).to.match(/\| `upgrade\.maxParallelWorkers` +\| `number`/);
  });

  it("writes the change-impact contract into the README as npm run docs does", async () => {
    const readme = readFileSync(join(PROJECT_DIR, "README.md"), "utf8");
    const markdown = await changeContract();
    expect(
      withChangeContract(readme, markdown) === readme,
      "README.md is out of date: run npm run docs",
    ).to.equal(true);
    expect(markdown).to.match(
      /\| `cluster\.talosVersion` +\| v1\.13 to v1\.14 +\| rolling Talos upgrade +\|/,
    );
  });

  it("writes the impact report's examples into the README as npm run docs does", async function () {
    this.timeout(180_000);
    const readme = readFileSync(join(PROJECT_DIR, "README.md"), "utf8");
    const markdown = await impactExamples();
    expect(
      withImpactExamples(readme, markdown) === readme,
      "README.md is out of date: run npm run docs",
    ).to.equal(true);
    expect(markdown.match(/^#### /gm)).to.have.length(IMPACT_EXAMPLES.length);
    expect(markdown).to.include("**Refused**");
  });

  it("finds what lacks TSDoc", async () => {
    const { missing, markdown } = await componentReference(
      join(PROJECT_DIR, "test", "fixtures", "docs", "undocumented.ts"),
    );
    expect(missing).to.deep.equal([
      "Gap: no description",
      "GapArgs.label: no description",
      "GapArgs.label: optional without @default",
      "GapArgs.zone: optional without @default",
      "GapArgs.nested.depth: no description",
      "GapArgs.nested.depth: optional without @default",
      "Gap.size: no description",
    ]);
    expect(markdown).to.include("type `fixture:index:Gap`");
  });
});

describe("the README's library example", () => {
  it("is the consumer program that the package test type-checks and runs", () => {
    const readme = readFileSync(join(PROJECT_DIR, "README.md"), "utf8");
    const program = readFileSync(join(PROJECT_DIR, "test", "fixtures", "consumer", "program.ts"), "utf8");
    expect(readme).to.include("```ts\n" + program + "```\n");
  });
});

describe("the stack program", () => {
  it("imports only the package's public entry point, so it can be copied into a project", () => {
    for (const file of ["index.ts", "config.ts"]) {
      const source = readFileSync(join(PROJECT_DIR, "stacks", file), "utf8");
      const local = [...source.matchAll(/from "(\.[^"]*)"/g)].map((m) => m[1]);
      expect(
        local.filter((path) => path !== "../components" && path !== "./config"),
        file,
      ).to.deep.equal([]);
    }
  });
});

describe("the README's day-2 promises", () => {
  it("each name a test that exists, in the file named", () => {
    const readme = readFileSync(join(PROJECT_DIR, "README.md"), "utf8");
    const section = readme.slice(
      readme.indexOf("## Day 2:"),
      readme.indexOf("### The change-impact contract"),
    );
    const rows = [...section.matchAll(/^\| .+ \| `(test\/[^`]+)` › "([^"]+)" +\|$/gm)];
    expect(rows.length, "the promise table").to.be.at.least(15);
    const missing = rows
      .filter(([, file, title]) => !readFileSync(join(PROJECT_DIR, file), "utf8").includes(`it("${title}"`))
      .map(([, file, title]) => `${file} › ${title}`);
    expect(missing).to.deep.equal([]);
  });
});
