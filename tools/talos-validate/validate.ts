/**
 * Talos's own validation of what a run would apply. For each node: the getConfiguration request of its
 * role and the patches of its ConfigurationApply, in order, with secrets as the provider receives them
 * (offline they are the models' fakes). machinery-v1.13 renders and patches them as the Talos provider
 * 0.8.1 does (its machinery is v1.13, whatever minor the node runs); the machinery of the minor the node
 * runs judges the result, as `talosctl validate --mode metal --strict` of that minor does.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { parse } from "yaml";
import { talosMinor } from "../../components/internal/versions";
import { goTool } from "../go-tool";
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
  /** The Talos minor the node runs (its installer image's tag), whose machinery judges its config. */
  runs: string;
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
      const patches = inputs.configPatches ?? [];
      return {
        name: names.get(inputs.node) ?? inputs.node,
        runs: installedMinor(apply.name, patches),
        ...(render as Omit<ValidatorNode, "name" | "runs" | "patches">),
        patches,
      };
    });
}

/** The minor of the installer image the install patch names (`…/installer/<schematic>:v1.14.1`). */
function installedMinor(apply: string, patches: string[]): string {
  for (const patch of patches) {
    const image = (parse(patch) as { machine?: { install?: { image?: unknown } } } | null)?.machine?.install
      ?.image;
    if (typeof image === "string") {
      return talosMinor(image.slice(image.lastIndexOf(":") + 1));
    }
  }
  throw new Error(`${apply}: no patch names the installer image`);
}

/** The validators, by the Talos minor whose machinery each is built on. */
export type Validators = Readonly<Record<string, string>>;

/** The machinery modules, by minor: v1.13 also renders and patches for every minor (see the top). */
const MODULES: Readonly<Record<string, string>> = {
  "v1.13": join(__dirname, "machinery-v1.13"),
  "v1.14": join(__dirname, "machinery-v1.14"),
};
const RENDERER = "v1.13";

/** Builds the validators (once per source version, into a cache outside the repository); their paths. */
export function buildValidators(): Validators {
  return Object.fromEntries(Object.entries(MODULES).map(([minor, dir]) => [minor, goTool(dir, [])]));
}

function run(binary: string, args: string[], nodes: object[]): string[] {
  const result = spawnSync(binary, args, { input: JSON.stringify({ nodes }), encoding: "utf8" });
  if (result.status !== 0 && result.status !== 1) {
    throw new Error(`talos-validate ${args.join(" ")} failed (${result.status}): ${result.stderr}`);
  }
  return result.stdout.trim().split("\n");
}

/** A node's config as the provider's ConfigurationApply sends it: rendered, then patched. */
export interface RenderedNode {
  name: string;
  config: string;
}

/** The configs the provider would send the nodes, rendered and patched by its machinery (v1.13). */
export function renderConfigs(validators: Validators, nodes: ValidatorNode[]): RenderedNode[] {
  return run(validators[RENDERER], ["-render"], nodes).map((line) => JSON.parse(line) as RenderedNode);
}

/** Runs the validator of the minor each node runs over it: one result per node, in the nodes' order. */
export function validateNodes(validators: Validators, nodes: ValidatorNode[]): ValidatorResult[] {
  const results = new Map<string, ValidatorResult>();
  for (const minor of new Set(nodes.map((n) => n.runs))) {
    const binary = validators[minor];
    if (binary === undefined) {
      throw new Error(`no validator of Talos ${minor} (there are: ${Object.keys(validators).join(", ")})`);
    }
    const group = nodes.filter((n) => n.runs === minor);
    const judged = minor === RENDERER ? group : renderConfigs(validators, group);
    for (const line of run(binary, [], judged)) {
      const result = JSON.parse(line) as ValidatorResult;
      results.set(result.name, result);
    }
  }
  return nodes.map((n) => results.get(n.name) as ValidatorResult);
}
