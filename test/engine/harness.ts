/**
 * What the engine lane's specs share: a workspace's stack as the offline plan sees it, edits of its
 * stack file, and reads of its state and outputs through the real CLI.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Document, parseDocument } from "yaml";
import { runOffline } from "../../tools/offline/engine";
import { readProjectName, readStackFile } from "../../tools/offline/stack-file";
import { EngineWorkspace } from "../../tools/engine/pulumi";
import { PreviewDigest, StackExport, StateResource } from "../../tools/engine/state";
import program = require("../../stacks");

export const API_TOKEN = `pulumi@pve!talos=${"5e1f0c4a-8d2b-4c6e-9a17-3b5d".padEnd(36, "0")}`;

/** The offline plan of the workspace's stack file, as `npm run plan` makes it. */
export function offlinePlan(ws: EngineWorkspace, stack: string, previousOutputs?: Record<string, unknown>) {
  const file = join(ws.project, `Pulumi.${stack}.yaml`);
  return runOffline(program, {
    ...readStackFile(file, readProjectName(ws.project), stack),
    previousOutputs,
  });
}

/** Edits the workspace's stack file as a YAML document (comments and layout kept where untouched). */
function editStackFile(ws: EngineWorkspace, stack: string, edit: (doc: Document) => void): void {
  const file = join(ws.project, `Pulumi.${stack}.yaml`);
  const doc = parseDocument(readFileSync(file, "utf8"));
  edit(doc);
  writeFileSync(file, doc.toString());
}

const CLUSTER = ["config", "talos-proxmox:cluster"];

/** Sets one value of the cluster description in the workspace's stack file. */
export function editCluster(
  ws: EngineWorkspace,
  stack: string,
  path: (string | number)[],
  value: unknown,
): void {
  editStackFile(ws, stack, (doc) => doc.setIn([...CLUSTER, ...path], value));
}

/** Rewrites the cluster description of the workspace's stack file through `edit` (its layout not kept). */
export function editDescription<T>(ws: EngineWorkspace, stack: string, edit: (cluster: T) => void): void {
  editStackFile(ws, stack, (doc) => {
    const cluster = (doc.toJS() as { config: Record<string, T> }).config["talos-proxmox:cluster"];
    edit(cluster);
    doc.setIn(CLUSTER, cluster);
  });
}

export function exportState(ws: EngineWorkspace, showSecrets = false): StackExport {
  return JSON.parse(ws.ok(["stack", "export", ...(showSecrets ? ["--show-secrets"] : [])])) as StackExport;
}

export function stackOutputs(ws: EngineWorkspace): Record<string, unknown> {
  return JSON.parse(ws.ok(["stack", "output", "--json", "--show-secrets"])) as Record<string, unknown>;
}

export function preview(ws: EngineWorkspace, extra: string[] = []): PreviewDigest {
  return JSON.parse(ws.ok(["preview", "--json", ...extra])) as PreviewDigest;
}

/** `npm run build` in the workspace: dist/ beside the program, as after `npm run build` or `npm pack`. */
export function buildDist(ws: EngineWorkspace): void {
  execFileSync("npm", ["run", "build"], { cwd: ws.project, stdio: ["ignore", "ignore", "inherit"] });
}

/**
 * What a change must leave alone: every resource the program manages, secrets decrypted (the CLI
 * encrypts each anew whenever it writes the checkpoint), without the StackReference reads, which every
 * run refreshes.
 */
export function managedState(ws: EngineWorkspace): StateResource[] {
  return (exportState(ws, true).deployment.resources ?? []).filter((r) => !r.external);
}
