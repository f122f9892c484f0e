/**
 * The lifecycle scripts' reader of talosctl's `-o json` stream, on a stream with the hard cases real
 * output can hold. The scripts themselves run against real talosctl and kubectl in the simulated-cluster
 * lane (test/simcluster/lifecycle.spec.ts, npm run test:cluster).
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { PROJECT_DIR } from "./harness";

describe("lifecycle scripts: talosctl's JSON stream", () => {
  it("reads talosctl's -o json stream with a JSON parser, braces and quotes in strings included", () => {
    // talosctl v1.13.9 prints one indented object per resource, back to back (output/json.go).
    const stream = [
      {
        metadata: { id: "0" },
        node: "10.0.0.11",
        spec: { metadata: { name: "a", description: 'has } and "{' } },
      },
      { metadata: { id: "1" }, node: "10.0.0.11", spec: { metadata: { name: "schematic", version: "abc" } } },
    ]
      .map((r) => `${JSON.stringify(r, null, 4)}\n`)
      .join("");
    const helper =
      "eval \"$(sed -n '/^TALOS_JSON_STREAM=/,/^talos_config_state() {/p' components/scripts/common.sh | sed '$d')\"";
    const read = (args: string) =>
      execFileSync("bash", ["-c", `${helper}; talos_spec_values ${args}`], {
        cwd: PROJECT_DIR,
        input: stream,
        encoding: "utf8",
      });
    expect(read("metadata.version metadata.name schematic")).to.equal("abc\n");
    expect(read("metadata.name")).to.equal("a\nschematic\n");
  });
});
