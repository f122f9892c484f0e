/**
 * The README's configuration reference lists exactly the keys the stack config accepts: every key
 * the validator allows (read off the validator as it runs) has a row, and every row is a real key.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { acceptedKeys, PROJECT_DIR } from "./harness";

function documentedKeys(): Set<string> {
  const readme = readFileSync(join(PROJECT_DIR, "README.md"), "utf8");
  const start = readme.indexOf("## Configuration reference");
  const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
  return new Set([...section.matchAll(/^\| `([^`]+)` +\|/gm)].map((m) => m[1]));
}

describe("configuration reference (README)", () => {
  it("has a row for every key the stack config accepts, and no other", async () => {
    const accepted = await acceptedKeys();
    const documented = documentedKeys();
    expect(accepted.size).to.be.greaterThan(50);
    expect([...accepted].filter((k) => !documented.has(k))).to.deep.equal([]);
    const providerKeys = ["proxmoxve:endpoint", "proxmoxve:apiToken", "proxmoxve:insecure"];
    expect([...documented].filter((k) => !accepted.has(k) && !providerKeys.includes(k))).to.deep.equal([]);
  });
});
