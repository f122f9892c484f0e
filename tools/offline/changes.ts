/**
 * What `pulumi up` would do to a running stack, from two offline runs (or a plan directory and a run):
 * per resource, create, update, replace or delete as the engine decides it, and what that does to the
 * cluster, by the rules of the providers and tools behind each resource type. The engine compares
 * inputs minus `ignoreChanges`; an update keeps the resource's id (pulumi/pulumi#3729); a replacement
 * creates the new resource before it deletes the old one unless `deleteBeforeReplace` is set.
 */
import { needsReboot, patchDocuments } from "../../components/internal/reboot-sections";
import {
  compareVersions,
  isTalosVersion,
  TALOS_SUPPORT,
  talosMinor,
} from "../../components/internal/versions";
import { Effect, EFFECTS } from "../../stacks/change-contract";
import { OfflineRun, ResourceRecord } from "./engine";

export type { Effect };

export type Change = "create" | "update" | "replace" | "delete";

export interface ResourceChange {
  urn: string;
  type: string;
  name: string;
  change: Change;
  /** Changed top-level inputs (of an update or replacement). */
  fields: string[];
  effect: Effect;
  /** What happens, in words. */
  impact: string;
}

export const VM = "proxmoxve:index/vmLegacy:VmLegacy";
export const CONFIG_APPLY = "talos:machine/configurationApply:ConfigurationApply";
const COMMAND = "command:local:Command";
export const RELEASE = "kubernetes:helm.sh/v3:Release";
const SCHEMATIC = "talos:imageFactory/schematic:Schematic";
const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";
/**
 * pulumi-kubernetes (read at commit 94977969, after v4.32.0) provider/pkg/provider/diff.go,
 * forceNewProperties: a ConfigMap's data and binaryData force a new object unless the provider sets
 * enableConfigMapMutable (this library's does not); an object that keeps its name is deleted before the
 * new one is created (provider.go, Diff: DeleteBeforeReplace).
 */
const CONFIG_MAP_REPLACING = ["data", "binaryData"];

/**
 * bpg v0.111.1 proxmoxtf/resource/vm/vm.go: inputs whose change forces a new VM (CustomizeDiff
 * ForceNewIf on vm_id and node_name without migrate; efi_disk type) and those whose update sets
 * rebootRequired, which reboot_after_update (default true) turns into a reboot. disks: only aio and
 * queues reboot; a larger size is resized online.
 */
const VM_REPLACING = ["vmId", "nodeName", "efiDisk"];
const VM_REBOOTING = [
  "acpi",
  "kvmArguments",
  "bios",
  "keyboardLayout",
  "machine",
  "tabletDevice",
  "agent",
  "amdSev",
  "audioDevice",
  "bootOrders",
  "cpu",
  "tpmState",
  "rngs",
  "initialization",
  "hostpcis",
  "numas",
  "usbs",
  "memory",
  "operatingSystem",
  "serialDevices",
  "vga",
  "virtiofs",
  "scsiHardware",
  "watchdog",
];

/** The inputs the engine compares: `ignoreChanges` paths (dotted) removed. */
function comparable(resource: ResourceRecord): Record<string, unknown> {
  const inputs = structuredClone(resource.inputs);
  for (const path of resource.options.ignoreChanges) {
    const keys = path.split(".");
    const last = keys.pop() as string;
    const parent = keys.reduce<Record<string, unknown> | undefined>(
      (node, key) => node?.[key] as Record<string, unknown> | undefined,
      inputs,
    );
    delete parent?.[last];
  }
  return inputs;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Every resource whose inputs differ between the runs, or that only one of them has. A resource of
 * `after` is compared with the one the engine finds for it (`old`, by URN or alias, when the run was
 * given the earlier URNs), else with the one of its own URN.
 */
export function changesBetween(
  before: readonly ResourceRecord[],
  after: readonly ResourceRecord[],
): ResourceChange[] {
  const old = new Map(before.map((r) => [r.urn, r]));
  const found = new Set(after.map((r) => r.old ?? r.urn));
  const changes: ResourceChange[] = [];
  const kubernetesMoves = kubernetesVersionOf(before) !== kubernetesVersionOf(after);
  const minor = nodesMinor(after);
  for (const resource of after) {
    if (!resource.custom) {
      continue;
    }
    const previous = old.get(resource.old ?? resource.urn);
    if (!previous) {
      changes.push(classify(resource, "create", [], undefined, minor));
      continue;
    }
    const a = comparable(previous);
    const b = comparable(resource);
    const fields = [...new Set([...Object.keys(a), ...Object.keys(b)])]
      .filter((k) => !same(a[k], b[k]))
      .sort();
    // Every node's base config carries the Kubernetes images at the cluster's version (machinery's
    // generate, through the provider's getConfiguration): a Kubernetes move changes each one, though
    // the input is a secret the records hold redacted. Seen in the engine lane.
    if (kubernetesMoves && resource.type === CONFIG_APPLY && !fields.includes(BASE_CONFIG)) {
      fields.push(BASE_CONFIG);
      fields.sort();
    }
    if (fields.length === 0) {
      continue;
    }
    const replaced =
      resource.options.replaceOnChanges.some((key) => fields.includes(key)) ||
      (resource.type === VM && fields.some((f) => VM_REPLACING.includes(f))) ||
      (resource.type === CONFIG_MAP && fields.some((f) => CONFIG_MAP_REPLACING.includes(f)));
    changes.push(classify(resource, replaced ? "replace" : "update", fields, previous, minor));
  }
  for (const resource of before) {
    if (resource.custom && !found.has(resource.urn)) {
      changes.push(classify(resource, "delete", [], undefined, minor));
    }
  }
  return changes;
}

/** The ConfigurationApply input that holds the provider's rendered base config (a secret). */
const BASE_CONFIG = "machineConfigurationInput";

/** The environment of a run's roll command (`<cluster>-upgrade-rollout`): its targets, not secret. */
export function rolloutEnvironment(records: readonly ResourceRecord[]): Record<string, string> | undefined {
  const rollout = records.find((r) => r.type === COMMAND && r.name.endsWith("-upgrade-rollout"));
  return rollout?.inputs.environment as Record<string, string> | undefined;
}

/**
 * The Talos minor the nodes run once a run's roll is done, when its configs apply (the applies wait for
 * the roll): the minor of the version the roll command targets.
 */
function nodesMinor(records: readonly ResourceRecord[]): string | undefined {
  const target = rolloutEnvironment(records)?.TARGET_VERSION;
  return isTalosVersion(target) ? talosMinor(target) : undefined;
}

/** The Kubernetes version a run's roll command targets. */
function kubernetesVersionOf(records: readonly ResourceRecord[]): unknown {
  return rolloutEnvironment(records)?.KUBERNETES_VERSION;
}

function classify(
  resource: ResourceRecord,
  change: Change,
  fields: string[],
  previous: ResourceRecord | undefined,
  minor: string | undefined,
): ResourceChange {
  const base = { urn: resource.urn, type: resource.type, name: resource.name, change, fields };
  const is = (effect: Effect, impact: string): ResourceChange => ({ ...base, effect, impact });
  if (resource.type === VM) {
    if (change === "create") {
      return is("nodes join or leave", "a new VM boots the ISO into maintenance mode");
    }
    if (change === "delete") {
      return is("nodes join or leave", "the VM is deleted after its node was drained (decommission)");
    }
    if (change === "replace") {
      return is("VM reboot or replacement", `bpg forces a new VM (${fields.join(", ")})`);
    }
    const rebooting = fields.filter((f) => VM_REBOOTING.includes(f));
    return rebooting.length > 0
      ? is("VM reboot or replacement", `bpg reboots the VM after updating ${rebooting.join(", ")}`)
      : is("in place", `updated live (${fields.join(", ")})`);
  }
  if (resource.type === CONFIG_APPLY) {
    if (change === "update" && previous) {
      if (minor === undefined || TALOS_SUPPORT[minor] === undefined) {
        throw new Error(`${resource.name}: the run has no roll command naming a supported Talos version`);
      }
      if (!needsReboot(patchesOf(previous), patchesOf(resource), minor)) {
        return is("live config", `applied live (Talos ${minor} needs no reboot for these sections)`);
      }
      return TALOS_SUPPORT[minor].rebootChanges === "staged"
        ? is(
            "staged config, rolling reboot",
            "staged on the node; the config roll reboots it, drained, one at a time",
          )
        : is(
            "live config, rolling reboot",
            `applied live, in effect after a reboot (Talos ${minor}); the config roll reboots it, drained, one at a time`,
          );
    }
    return is(
      "nodes join or leave",
      change === "create" ? "installs Talos on the new node" : "no-op on removal",
    );
  }
  if (resource.type === COMMAND) {
    return commandChange(resource, change, previous, is);
  }
  if (resource.type === SCHEMATIC && change === "replace") {
    return is(
      "in place",
      "a new Image Factory schematic for the new extension list: its id names the installer the roll installs",
    );
  }
  if (resource.type === RELEASE && change === "update") {
    return is("in place", "helm upgrade; the chart's workloads roll by their own update strategy");
  }
  if (resource.type === CONFIG_MAP && change === "replace") {
    return is(
      "in place",
      "deleted, then created again under its name (pulumi-kubernetes replaces a ConfigMap's data)",
    );
  }
  return is("in place", change === "update" ? `updated in place (${fields.join(", ")})` : `${change}d`);
}

function commandChange(
  resource: ResourceRecord,
  change: Change,
  previous: ResourceRecord | undefined,
  is: (effect: Effect, impact: string) => ResourceChange,
): ResourceChange {
  const env = (r: ResourceRecord | undefined) => (r?.inputs.environment ?? {}) as Record<string, string>;
  const [was, now] = [env(previous), env(resource)];
  if (resource.name.endsWith("-decommission")) {
    return change === "delete"
      ? is(
          "nodes join or leave",
          now.ROLE === "controlplane"
            ? "checks etcd, drains the control plane and makes it leave etcd before its VM goes, one removal at a time"
            : "drains the worker and resets it before its VM goes, one removal at a time",
        )
      : is("in place", change === "create" ? "records how to remove the node" : "new removal settings");
  }
  if (resource.name.endsWith("-rollout") && change === "update") {
    const kubernetes =
      was.KUBERNETES_VERSION === now.KUBERNETES_VERSION
        ? undefined
        : `talosctl upgrade-k8s from ${was.KUBERNETES_VERSION} to ${now.KUBERNETES_VERSION}${downgrade(was.KUBERNETES_VERSION, now.KUBERNETES_VERSION, "within its minor, which upgrade-k8s allows")}`;
    if (was.TARGET_VERSION !== now.TARGET_VERSION) {
      return is(
        "rolling Talos upgrade",
        `talosctl upgrade from ${was.TARGET_VERSION} to ${now.TARGET_VERSION}${downgrade(was.TARGET_VERSION, now.TARGET_VERSION, "which Talos's installer allows within a minor")}, node by node, drained, health-gated; then ${kubernetes ?? "upgrade-k8s if behind"}`,
      );
    }
    if (was.TARGET_SCHEMATIC !== now.TARGET_SCHEMATIC) {
      return is(
        "rolling Talos upgrade",
        `a new schematic (${now.TARGET_SCHEMATIC.slice(0, 12)}…) on ${now.TARGET_VERSION}, installed node by node with talosctl upgrade, drained, health-gated${kubernetes ? `; then ${kubernetes}` : ""}`,
      );
    }
    if (kubernetes) {
      return is("rolling Kubernetes upgrade", kubernetes);
    }
    return is("in place", "the roll runs and finds every node on target");
  }
  if (resource.name.endsWith("-config-roll") && change === "update") {
    return is(
      "in place",
      "reboots, one at a time, the nodes holding a staged config (v1.13) or whose boot-time settings changed (v1.14); none when nothing needs a boot",
    );
  }
  if (resource.name.endsWith("-apply-gate")) {
    if (change === "create") {
      return is(
        "in place",
        "the new node's apply gate: it passes a node that installs from maintenance mode",
      );
    }
    return change === "update"
      ? is("in place", "checks that the node answers and is running and ready, before its config apply")
      : is("in place", `${change}d`);
  }
  if (resource.name.endsWith("-ready") && change === "update") {
    return is("in place", "waits for every node Ready again");
  }
  return is("in place", `${change}d`);
}

/**
 * " (a downgrade, <why it is allowed>)" when `to` is older than `from`, else nothing. Both downgrades
 * the program lets through are allowed upstream: Talos's installer checks only that the running version
 * is below the target minor's MaximumHostDowngradeVersion (talos v1.13.9
 * cmd/installer/pkg/install/preflight.go, pkg/machinery/compatibility/talos113/talos113.go: below v1.15.0), and
 * upgrade-k8s only compares minors (go-kubernetes v0.2.39 upgrade/path.go); the program refuses minor
 * downgrades (checkKubernetesMove) and accepts only Talos v1.13.
 */
function downgrade(from: string | undefined, to: string, allowed: string): string {
  return isDowngrade(from, to) ? ` (a downgrade, ${allowed})` : "";
}

/** Whether `to` is older than `from` (a known version). */
export function isDowngrade(from: string | undefined, to: string): boolean {
  return from !== undefined && compareVersions(to, from) < 0;
}

function patchesOf(apply: ResourceRecord): unknown[] {
  return patchDocuments((apply.inputs.configPatches as unknown[] | undefined) ?? []);
}

/** The most disruptive effect of a set of changes ("nothing" for none). */
export function overallEffect(changes: readonly ResourceChange[]): Effect {
  return changes.reduce<Effect>(
    (worst, c) => (EFFECTS.indexOf(c.effect) > EFFECTS.indexOf(worst) ? c.effect : worst),
    "nothing",
  );
}

/** The changes, most disruptive first, then by name. */
export function mostDisruptiveFirst(changes: readonly ResourceChange[]): ResourceChange[] {
  return [...changes].sort(
    (a, b) => EFFECTS.indexOf(b.effect) - EFFECTS.indexOf(a.effect) || a.name.localeCompare(b.name),
  );
}

/** The changes as a table, most disruptive first, then a summary line. */
export function renderChanges(changes: readonly ResourceChange[]): string {
  if (changes.length === 0) {
    return "No changes: pulumi up would leave every resource as it is.\n";
  }
  const rows = mostDisruptiveFirst(changes).map((c) => [c.change, c.effect, c.name, c.impact]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) => r.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]) : cell)).join("  "));
  const count = (change: Change) => changes.filter((c) => c.change === change).length;
  lines.push(
    "",
    `${count("create")} to create, ${count("update")} to update, ${count("replace")} to replace, ` +
      `${count("delete")} to delete. Overall: ${overallEffect(changes)}.`,
  );
  return `${lines.join("\n")}\n`;
}

/**
 * The changes between two runs. Runs made with `providerInputs` are compared on their unredacted
 * inputs, so a changed secret shows; a plan directory holds redacted inputs, where secrets compare equal.
 */
export function changesOfRuns(before: OfflineRun, after: OfflineRun): ResourceChange[] {
  const unredacted = (run: OfflineRun) =>
    run.resources.map((r) => ({ ...r, inputs: run.providerInputs?.get(r.urn) ?? r.inputs }));
  return changesBetween(unredacted(before), unredacted(after));
}
