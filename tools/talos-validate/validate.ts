/**
 * Talos's own validation of what a run would apply. For each node: the getConfiguration request of its
 * role and the patches of its ConfigurationApply, in order, with secrets as the provider receives them
 * (offline they are the models' fakes). tools/talos-validate renders, patches and validates them with
 * Talos's machinery, as the Talos provider and `talosctl validate --mode metal --strict` do.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { parse } from "yaml";
import { OfflineRun } from "../offline/engine";
import { nodesOf } from "../offline/render";

const CONFIG_APPLY = "talos:machine/configurationApply:ConfigurationApply";
const GET_CONFIGURATION = "talos:machine/getConfiguration:getConfiguration";
const RENDER_ARGS = [
  "clusterName",
  "clusterEndpoint",
  "machineType",
  "talosVersion",
  "kubernetesVersion",
] as const;

export interface ValidatorNode {
  name: string;
  machineType: string;
  clusterName: string;
  clusterEndpoint: string;
  talosVersion: string;
  kubernetesVersion: string;
  patches: string[];
}

export interface ValidatorResult {
  name: string;
  valid: boolean;
  warnings: string[];
  error?: string;
}

/** The nodes of a run (made with the `providerInputs` option) as the validator reads them. */
export function validatorInput(run: OfflineRun): ValidatorNode[] {
  if (!run.providerInputs) {
    throw new Error("validatorInput needs a run made with { providerInputs: true }");
  }
  // One render request per role: ControlPlane renders the control planes' base, each WorkerPool the
  // workers' with the same arguments.
  const renders = new Map<string, Record<string, string>>();
  for (const invoke of run.invokes.filter((i) => i.token === GET_CONFIGURATION)) {
    const args = Object.fromEntries(RENDER_ARGS.map((key) => [key, String(invoke.args[key])]));
    const known = renders.get(args.machineType);
    if (known && JSON.stringify(known) !== JSON.stringify(args)) {
      throw new Error(`two different ${args.machineType} renders: ${JSON.stringify([known, args])}`);
    }
    renders.set(args.machineType, args);
  }
  const names = new Map(nodesOf(run).map((n) => [n.ip, n.name]));
  return run.resources
    .filter((r) => r.type === CONFIG_APPLY)
    .map((apply) => {
      const inputs = run.providerInputs?.get(apply.urn) as {
        node: string;
        machineConfigurationInput: string;
        configPatches?: string[];
      };
      // The base config the apply received says which role rendered it.
      const base = parse(inputs.machineConfigurationInput) as { machine: { type: string } };
      const render = renders.get(base.machine.type);
      if (!render) {
        throw new Error(`${apply.name}: no getConfiguration for ${base.machine.type}`);
      }
      return {
        name: names.get(inputs.node) ?? inputs.node,
        ...(render as Omit<ValidatorNode, "name" | "patches">),
        patches: inputs.configPatches ?? [],
      };
    });
}

/** Builds the validator (once per source version, into a cache outside the repository); its path. */
export function buildValidator(): string {
  return execFileSync("bash", [join(__dirname, "..", "go-tool.sh"), __dirname, "build"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
}

/** Runs the validator over the nodes: one result per node. */
export function validateNodes(binary: string, nodes: ValidatorNode[]): ValidatorResult[] {
  const run = spawnSync(binary, [], { input: JSON.stringify({ nodes }), encoding: "utf8" });
  if (run.status !== 0 && run.status !== 1) {
    throw new Error(`talos-validate failed (${run.status}): ${run.stderr}`);
  }
  return run.stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as ValidatorResult);
}
