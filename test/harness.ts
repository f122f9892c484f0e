/**
 * Test helpers: run components or whole stacks under the offline engine and query what they did.
 */
import { ConfigReader } from "../components/internal/config-reader";
import * as k8s from "@pulumi/kubernetes";
import { expect } from "chai";
import {
  ClusterAddresses,
  KubeVip,
  KubeVipArgs,
  TalosCluster,
  TalosClusterArgs,
  ValidationError,
} from "../components";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { parse } from "yaml";
import { OfflineRun, OfflineRunOptions, ResourceRecord, runOffline } from "../tools/offline/engine";
import { readProjectName, readStackFile } from "../tools/offline/stack-file";
import program = require("../stacks");

export const PROJECT_DIR = join(__dirname, "..");

/** `npm run plan -- <args>`, as a process: its exit status and what it printed. */
export function planCli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", "tools/plan.ts", ...args],
    {
      cwd: PROJECT_DIR,
      encoding: "utf8",
    },
  );
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
const PROJECT = readProjectName(PROJECT_DIR);

function exampleStackFile(stack: "homelab" | "prod") {
  return readStackFile(join(PROJECT_DIR, `Pulumi.${stack}.yaml`), PROJECT, stack);
}

/** Runs a function that creates resources, as the body of a stack named "test". */
export function runComponents(
  body: () => unknown,
  options: Pick<OfflineRunOptions, "preview" | "scheduler" | "mocks"> = {},
): Promise<OfflineRun> {
  return runOffline(body, { project: PROJECT, stack: "test", ...options });
}

/**
 * A cluster as the add-ons see it: network 10.0.0.0/24, gateway 10.0.0.1, VIP 10.0.0.10 and one node,
 * 10.0.0.11; Talos forwards kube-dns unless told otherwise.
 */
export function clusterAddresses(forwardKubeDnsToHost = true): ClusterAddresses {
  return {
    forwardKubeDnsToHost,
    addresses: () => ({
      network: "10.0.0.0/24",
      inUse: [
        { ip: "10.0.0.11", owner: "node cp-1's address" },
        { ip: "10.0.0.10", owner: "the API VIP" },
        { ip: "10.0.0.1", owner: "the gateway" },
      ],
    }),
  };
}

/** A KubeVip with one global Service range (overridable), behind a Kubernetes provider, as a stack body. */
export function runKubeVip(args: Partial<KubeVipArgs> = {}): Promise<OfflineRun> {
  return runComponents(() => {
    const provider = new k8s.Provider("cluster", { kubeconfig: "apiVersion: v1\nkind: Config\n" });
    new KubeVip(
      "kube-vip",
      { cluster: clusterAddresses(), serviceRanges: { global: ["10.0.0.200-10.0.0.209"] }, ...args },
      { providers: [provider] },
    );
  });
}

/** Whether `from` waits on `to`, directly or through other resources. */
export function waitsOn(run: OfflineRun, from: ResourceRecord, to: ResourceRecord): boolean {
  const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
  const seen = new Set<string>();
  const pending = [...from.dependencies];
  while (pending.length > 0) {
    const urn = pending.pop() as string;
    if (urn === to.urn) {
      return true;
    }
    if (!seen.has(urn)) {
      seen.add(urn);
      pending.push(...(byUrn.get(urn)?.dependencies ?? []));
    }
  }
  return false;
}

/** A deep copy of the `talos-proxmox:cluster` object of an example stack, for tests to edit. */
export function exampleCluster(stack: "homelab" | "prod"): Record<string, unknown> {
  const file = exampleStackFile(stack);
  return parse(file.config["talos-proxmox:cluster"]) as Record<string, unknown>;
}

/** How a test runs a stack beyond its config: as an update of an earlier run, with more secrets. */
export interface StackRunOptions {
  /** The outputs of the stack's last update (an earlier run's). */
  previousOutputs?: Record<string, unknown>;
  /** Extra config keys that are secrets. */
  secretKeys?: string[];
  /** Keep the providers' unredacted inputs (to compare secret inputs). */
  providerInputs?: boolean;
  /** The URNs of the stack's last update, for each record's `old`. */
  olds?: readonly string[];
}

/**
 * Runs the real stack program with the example stack's config, the cluster object replaced by
 * `cluster` when given, and extra config keys merged in.
 */
export function runStack(
  stack: "homelab" | "prod",
  cluster?: Record<string, unknown>,
  extraConfig: Record<string, string | undefined> = {},
  options: StackRunOptions = {},
): Promise<OfflineRun> {
  const file = exampleStackFile(stack);
  const config: Record<string, string> = { ...file.config };
  if (cluster) {
    config["talos-proxmox:cluster"] = JSON.stringify(cluster);
  }
  for (const [key, value] of Object.entries(extraConfig)) {
    if (value === undefined) {
      delete config[key];
    } else {
      config[key] = value;
    }
  }
  return runOffline(program, {
    ...file,
    config,
    secretKeys: [...(file.secretKeys ?? []), ...(options.secretKeys ?? [])],
    previousOutputs: options.previousOutputs,
    providerInputs: options.providerInputs,
    olds: options.olds,
  });
}

/**
 * The same description as a program would give it to TalosCluster (with the default the stack adds in
 * a production stack), and the stack's outputs as its last update.
 */
export function runTalosCluster(
  stack: "homelab" | "prod",
  description: Record<string, unknown>,
  lastUpdate?: Record<string, unknown>,
): Promise<OfflineRun> {
  const args = { ...(stack === "prod" ? { highAvailability: true } : {}), ...description, lastUpdate };
  return runComponents(() => new TalosCluster("cluster", args as unknown as TalosClusterArgs));
}

/** A failed run's problems as `path: message` lines, paths under `root` made relative. */
export function problemLines(run: OfflineRun, root: string): string[] {
  expect(run.error, "the run must fail").to.be.instanceOf(ValidationError);
  return (run.error as ValidationError).problems
    .filter((p) => p.path === root || p.path.startsWith(`${root}.`))
    .map((p) => `${p.path.slice(root.length + 1)}: ${p.message}`);
}

export function ofType(run: OfflineRun, type: string): ResourceRecord[] {
  return run.resources.filter((r) => r.type === type);
}

/** The one resource of a type and name; fails the test if there is not exactly one. */
export function one(run: OfflineRun, type: string, name: string): ResourceRecord {
  const found = run.resources.filter((r) => r.type === type && r.name === name);
  expect(found, `${type} ${name}`).to.have.length(1);
  return found[0];
}

/** Fails the test with the program's error if the run failed. */
export function succeeded(run: OfflineRun): OfflineRun {
  if (run.error !== undefined) {
    throw run.error instanceof Error ? run.error : new Error(JSON.stringify(run.error));
  }
  return run;
}

export const TYPES = {
  stack: "pulumi:pulumi:Stack",
  proxmoxProvider: "pulumi:providers:proxmoxve",
  vm: "proxmoxve:index/vmLegacy:VmLegacy",
  file: "proxmoxve:download/file:File",
  schematic: "talos:imageFactory/schematic:Schematic",
  talosImage: "talos-proxmox:index:TalosImage",
  talosVm: "talos-proxmox:index:TalosVm",
  controlPlane: "talos-proxmox:index:ControlPlane",
  workerPool: "talos-proxmox:index:WorkerPool",
  secrets: "talos:machine/secrets:Secrets",
  configApply: "talos:machine/configurationApply:ConfigurationApply",
  bootstrap: "talos:machine/bootstrap:Bootstrap",
  kubeconfig: "talos:cluster/kubeconfig:Kubeconfig",
} as const;

export const TOKENS = {
  machineConfig: "talos:machine/getConfiguration:getConfiguration",
  clientConfig: "talos:client/getConfiguration:getConfiguration",
  health: "talos:cluster/getHealth:getHealth",
  urls: "talos:imageFactory/getUrls:getUrls",
} as const;

/** Every `cluster.key` path the validator allows, list indices as `[]`. */
export async function acceptedKeys(): Promise<Set<string>> {
  const keys = new Set<string>();
  // The original method, called below with the reader as `this`, and put back afterwards.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const object = ConfigReader.prototype.object;
  ConfigReader.prototype.object = function (this: ConfigReader, value, path, allowedKeys, renamed) {
    for (const key of allowedKeys) {
      keys.add(`cluster${path === "" ? "" : "."}${path.replace(/\[\d+\]/g, "[]")}.${key}`);
    }
    return object.call(this, value, path, allowedKeys, renamed);
  };
  try {
    succeeded(await runStack("homelab"));
  } finally {
    ConfigReader.prototype.object = object;
  }
  return keys;
}
