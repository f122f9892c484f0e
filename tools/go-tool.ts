/** tools/go-tool.sh from TypeScript: builds a Go tool of a module once per source version, returns its path. */
import { execFileSync } from "node:child_process";
import { join } from "node:path";

const GO_TOOL = join(__dirname, "go-tool.sh");

/** `go-tool.sh <moduleDir> build <args...>`: the binary's path in the cache. */
export function goTool(moduleDir: string, args: string[]): string {
  return execFileSync("bash", [GO_TOOL, moduleDir, "build", ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
}
