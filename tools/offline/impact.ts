/**
 * The impact report of a change, for a reviewer: from an earlier plan (`--out`) and a run of the changed
 * stack, what happens to each node, in what order and batches, about how long it takes, which values
 * move, and the warnings; or the refusal. Rendered as text (a terminal), markdown (a pull-request
 * comment) or JSON (a machine). It reads only what the offline plan records: the resources' inputs and
 * the stack's outputs (`nodes`, `cluster`, `installerImage`), with the per-resource rules of
 * `changes.ts`. What each step does on the nodes is what the lifecycle scripts do
 * (`components/scripts/rollout.sh`, `config-roll.sh`, `decommission.sh`, `roll.sh`).
 */
import { UPGRADE_LATENCIES, NODE_LATENCIES } from "../bench/latencies";
import { rollingUpgradeSeconds } from "../bench/rolling-upgrade";
import {
  Change,
  changesBetween,
  CONFIG_APPLY,
  isDowngrade,
  mostDisruptiveFirst,
  overallEffect,
  RELEASE,
  renderChanges,
  ResourceChange,
  rolloutEnvironment,
  VM,
} from "./changes";
import { ResourceRecord } from "./engine";

/** What happens to one node, in the order `pulumi up` does it. */
export type NodeAction =
  | "drained upgrade"
  | "Kubernetes upgrade"
  | "live config"
  | "live config, then a drained reboot"
  | "staged config, then a drained reboot"
  | "VM update"
  | "joins"
  | "leaves"
  | "refused";

export interface NodeImpact {
  name: string;
  role: "control plane" | "worker";
  pool?: string;
  ip: string;
  /** Empty when nothing happens to the node. */
  actions: { action: NodeAction; detail: string }[];
}

/** One step of the update that touches nodes, in the order the update runs them. */
export interface RollStep {
  what: string;
  /** Batches run one after the other; the nodes of a batch at once. */
  batches: string[][];
  seconds: number;
}

export interface ImpactReport {
  stack: string;
  /** The refusal `pulumi up` would print; then nothing else happens. */
  refused?: string;
  values: { name: string; from: string | null; to: string | null }[];
  order: string;
  maxParallelWorkers: number;
  nodes: NodeImpact[];
  steps: RollStep[];
  /** The sum of the steps, by the bench's latency model (tools/bench/latencies.ts). */
  estimatedSeconds: number;
  warnings: string[];
  /** How many resources change, and the most disruptive effect. */
  summary: { create: number; update: number; replace: number; delete: number; overall: string };
  /** Each resource that changes. */
  changes: ResourceChange[];
}

export interface PlanSide {
  resources: readonly ResourceRecord[];
  outputs: Record<string, unknown>;
}

interface RecordedNode {
  role: string;
  pool?: string;
  ip: string;
}

const recordedNodes = (outputs: Record<string, unknown>) =>
  (outputs.nodes ?? {}) as Record<string, RecordedNode>;
/** The environment of the cluster's roll command, which every stack has: its targets and settings. */
function rollout(records: readonly ResourceRecord[]): Record<string, string> {
  const environment = rolloutEnvironment(records);
  if (!environment) {
    throw new Error(
      "the plan has no <cluster>-upgrade-rollout command: is it a plan of a talos-proxmox stack?",
    );
  }
  return environment;
}

/** The report of a change that `pulumi up` would refuse: every node stays as it is. */
export function refusedReport(stack: string, before: PlanSide, message: string): ImpactReport {
  const roll = rollout(before.resources);
  return {
    stack,
    refused: message,
    values: [],
    order: roll.ORDER,
    maxParallelWorkers: Number(roll.MAX_PARALLEL_WORKERS),
    nodes: nodeList(recordedNodes(before.outputs)).map((n) => ({
      ...n,
      actions: [{ action: "refused", detail: "pulumi up stops before it registers anything" }],
    })),
    steps: [],
    estimatedSeconds: 0,
    warnings: [],
    summary: { create: 0, update: 0, replace: 0, delete: 0, overall: "refused" },
    changes: [],
  };
}

/** The report of the change from `before` (an earlier plan) to `after` (this run). */
export function impactReport(
  stack: string,
  before: PlanSide,
  after: PlanSide,
  warnings: readonly string[],
): ImpactReport {
  const changes = changesBetween(before.resources, after.resources);
  const [was, now] = [rollout(before.resources), rollout(after.resources)];
  const order = now.ORDER;
  const maxParallelWorkers = Number(now.MAX_PARALLEL_WORKERS);
  const [oldNodes, newNodes] = [recordedNodes(before.outputs), recordedNodes(after.outputs)];
  const nodes = nodeList({ ...oldNodes, ...newNodes }).map((n): NodeImpact => ({ ...n, actions: [] }));
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const byIp = new Map(nodes.map((n) => [n.ip, n]));
  const kept = nodes.filter((n) => n.name in oldNodes && n.name in newNodes);
  const steps: RollStep[] = [];

  const talosMoves =
    was.TARGET_VERSION !== now.TARGET_VERSION || was.TARGET_SCHEMATIC !== now.TARGET_SCHEMATIC;
  if (talosMoves && kept.length > 0) {
    const down = isDowngrade(was.TARGET_VERSION, now.TARGET_VERSION);
    const detail =
      was.TARGET_VERSION !== now.TARGET_VERSION
        ? `talosctl upgrade to ${now.TARGET_VERSION}${down ? ` (a downgrade from ${was.TARGET_VERSION})` : ""}`
        : `talosctl upgrade to the new schematic on ${now.TARGET_VERSION}`;
    for (const n of kept) {
      n.actions.push({ action: "drained upgrade", detail });
    }
    const batches = rollBatches(kept, order, maxParallelWorkers);
    steps.push({
      what:
        `Talos ${down ? "downgrade" : "upgrade"} (${detail}), ${order}, ${workersAtOnce(maxParallelWorkers)}: ` +
        `cordon, drain, reboot into the new image, health gate after each batch`,
      batches,
      seconds: rollingUpgradeSeconds({
        controlPlanes: kept.filter((n) => n.role === "control plane").length,
        workers: kept.filter((n) => n.role === "worker").length,
        maxParallelWorkers,
      }),
    });
  }
  const kubernetesMoves = was.KUBERNETES_VERSION !== now.KUBERNETES_VERSION;
  if (kubernetesMoves && kept.length > 0) {
    const detail = `upgrade-k8s to ${now.KUBERNETES_VERSION}: the kubelet restarts, no reboot`;
    for (const n of kept) {
      n.actions.push({ action: "Kubernetes upgrade", detail });
    }
    // talos v1.13.9 pkg/cluster/kubernetes/talos_managed.go Upgrade: each control-plane component on the
    // control planes one at a time, then (kubelet.go upgradeKubelet) every kubelet, control planes first,
    // one node at a time.
    const controlPlanes = kept.filter((n) => n.role === "control plane");
    steps.push(
      {
        what: `talosctl upgrade-k8s to ${now.KUBERNETES_VERSION}: the control-plane components, one node at a time`,
        batches: controlPlanes.map((n) => [n.name]),
        seconds: controlPlanes.length * UPGRADE_LATENCIES.kubernetesControlPlane.seconds,
      },
      {
        what: `then every kubelet to ${now.KUBERNETES_VERSION}, one node at a time`,
        batches: [...controlPlanes, ...kept.filter((n) => n.role === "worker")].map((n) => [n.name]),
        seconds: UPGRADE_LATENCIES.kubelets.seconds,
      },
    );
  }

  const rebooted: NodeImpact[] = [];
  for (const change of changes) {
    const resource = after.resources.find((r) => r.urn === change.urn);
    if (change.type === CONFIG_APPLY && change.change === "update") {
      const node = byIp.get(String(resource?.inputs.node));
      if (!node) {
        continue;
      }
      if (change.effect === "staged config, rolling reboot") {
        node.actions.push({
          action: "staged config, then a drained reboot",
          detail: "Talos stages it; the config roll reboots the node into it",
        });
        rebooted.push(node);
      } else if (change.effect === "live config, rolling reboot") {
        node.actions.push({
          action: "live config, then a drained reboot",
          detail: "Talos applies it live, in effect only after a boot; the config roll reboots the node",
        });
        rebooted.push(node);
      } else {
        // A Talos move changes every config's machine.install.image, a Kubernetes move its images: live.
        const recorded = [
          talosMoves && "the new installer image",
          kubernetesMoves && "the new Kubernetes version",
        ];
        const what = recorded.filter((r) => r !== false).join(" and ");
        node.actions.push({
          action: "live config",
          detail: what ? `records ${what}, no reboot` : "applied without a reboot",
        });
      }
    }
    if (change.type === VM && (change.change === "update" || change.change === "replace")) {
      const node = byName.get(String(resource?.inputs.name));
      if (node) {
        node.actions.push({ action: "VM update", detail: change.impact });
      }
    }
  }
  // New nodes install after the roll (their configs render the versions it reports); the config roll
  // waits for every node, the new ones included, before it reboots anything.
  const joining = nodes.filter((n) => !(n.name in oldNodes));
  for (const n of joining) {
    n.actions.push({
      action: "joins",
      detail: `a new VM boots the ISO; Talos ${now.TARGET_VERSION} installs and the node joins`,
    });
  }
  if (joining.length > 0) {
    steps.push({
      what: "new nodes: VM, install, join (at once), then the readiness check",
      batches: [joining.map((n) => n.name)],
      seconds: NODE_LATENCIES.join.seconds,
    });
  }
  if (rebooted.length > 0) {
    const batches = rollBatches(rebooted, order, maxParallelWorkers);
    steps.push({
      what: `config roll, ${order}, ${workersAtOnce(maxParallelWorkers)}: reboot into the new config, drained, health gate after each batch`,
      batches,
      seconds: batches.length * (NODE_LATENCIES.reboot.seconds + UPGRADE_LATENCIES.healthGate.seconds),
    });
  }
  // The engine deletes what the program no longer registers only after it has registered everything
  // (pulumi/pulumi pkg/v3 v3.276.0 resource/deploy/deployment_executor.go, performPostSteps).
  const leaving = nodes.filter((n) => !(n.name in newNodes));
  for (const n of leaving) {
    n.actions.push({
      action: "leaves",
      detail:
        n.role === "control plane"
          ? "etcd checked, drained, leaves etcd, reset; then its VM is deleted"
          : "drained, reset; then its VM is deleted",
    });
  }
  if (leaving.length > 0) {
    steps.push({
      what: "removals, one at a time, at the end of the update (the engine deletes last)",
      batches: leaving.map((n) => [n.name]),
      seconds: leaving.length * NODE_LATENCIES.leave.seconds,
    });
  }

  const count = (change: Change) => changes.filter((c) => c.change === change).length;
  return {
    stack,
    values: movedValues(before, after),
    order,
    maxParallelWorkers,
    nodes,
    steps,
    estimatedSeconds: steps.reduce((sum, s) => sum + s.seconds, 0),
    warnings: [...warnings],
    summary: {
      create: count("create"),
      update: count("update"),
      replace: count("replace"),
      delete: count("delete"),
      overall: overallEffect(changes),
    },
    changes,
  };
}

function nodeList(recorded: Record<string, RecordedNode>): Omit<NodeImpact, "actions">[] {
  return Object.entries(recorded)
    .map(([name, n]) => ({
      name,
      role: n.role === "controlplane" ? ("control plane" as const) : ("worker" as const),
      ...(n.pool === undefined ? {} : { pool: n.pool }),
      ip: n.ip,
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The batches a roll takes `nodes` down in: roll.sh's roll_cluster, workers in batches of
 * `maxParallelWorkers` and control planes one by one, in `order`, each group sorted by name as
 * common.sh's nodes_of lists them.
 */
function rollBatches(nodes: readonly NodeImpact[], order: string, maxParallelWorkers: number): string[][] {
  const controlPlanes = nodes.filter((n) => n.role === "control plane").map((n) => [n.name]);
  const workers = nodes.filter((n) => n.role === "worker").map((n) => n.name);
  const workerBatches: string[][] = [];
  for (let i = 0; i < workers.length; i += maxParallelWorkers) {
    workerBatches.push(workers.slice(i, i + maxParallelWorkers));
  }
  return order === "control-plane-first"
    ? [...controlPlanes, ...workerBatches]
    : [...workerBatches, ...controlPlanes];
}

interface PodTemplateOwner {
  spec?: { template?: { spec?: { containers?: { image?: string }[] } } };
}

/** The values a reviewer checks: versions, the schematic, the installer and the add-ons' versions. */
function movedValues(before: PlanSide, after: PlanSide): ImpactReport["values"] {
  const read = (side: PlanSide): Record<string, string | undefined> => {
    const roll = rollout(side.resources);
    const cluster = (side.outputs.cluster ?? {}) as { talosVersion?: string; kubernetesVersion?: string };
    const images = (type: string) =>
      side.resources
        .filter((r) => r.type === type)
        .flatMap((r) => (r.inputs as PodTemplateOwner).spec?.template?.spec?.containers ?? [])
        .map((c) => c.image)
        .join(", ");
    const release = side.resources.find((r) => r.type === RELEASE)?.inputs as
      { chart?: string; version?: string } | undefined;
    return {
      Talos: cluster.talosVersion,
      Kubernetes: cluster.kubernetesVersion,
      schematic: roll.TARGET_SCHEMATIC,
      "installer image": side.outputs.installerImage as string | undefined,
      "Cilium chart": release ? `${release.chart} ${release.version}` : undefined,
      "kube-vip (Services)": images("kubernetes:apps/v1:DaemonSet"),
      "kube-vip cloud provider": images("kubernetes:apps/v1:Deployment"),
      "upgrade order": roll.ORDER,
      "max parallel workers": roll.MAX_PARALLEL_WORKERS,
    };
  };
  const [was, now] = [read(before), read(after)];
  const text = (v: string | undefined) => (v === undefined || v === "" ? null : v);
  return Object.keys(now)
    .filter((name) => text(was[name]) !== text(now[name]))
    .map((name) => ({ name, from: text(was[name]), to: text(now[name]) }));
}

const minutes = (seconds: number) =>
  seconds < 60 ? `${seconds} s` : `about ${Math.round(seconds / 60)} min`;
const what = (n: NodeImpact) =>
  n.actions.length === 0 ? "nothing" : n.actions.map((a) => `${a.action} (${a.detail})`).join("; then ");
const role = (n: NodeImpact) => (n.pool ? `worker, pool ${n.pool}` : n.role);
const workersAtOnce = (maxParallelWorkers: number) =>
  maxParallelWorkers === 1 ? "one worker at a time" : `up to ${maxParallelWorkers} workers at once`;
const batchText = (batches: string[][]) => batches.map((b) => b.join(" + ")).join(" → ");

/** For a terminal. */
export function renderImpactText(report: ImpactReport): string {
  const lines: string[] = [];
  if (report.refused !== undefined) {
    lines.push(
      "Refused: pulumi up would stop before it registers anything; no node is touched.",
      "",
      report.refused,
    );
    return `${lines.join("\n")}\n`;
  }
  if (report.values.length > 0) {
    lines.push("Values:");
    lines.push(...report.values.map((v) => `  ${v.name}: ${v.from ?? "(none)"} → ${v.to ?? "(none)"}`), "");
  }
  lines.push("Nodes:");
  const width = Math.max(...report.nodes.map((n) => n.name.length));
  lines.push(...report.nodes.map((n) => `  ${n.name.padEnd(width)}  ${role(n)}: ${what(n)}`), "");
  if (report.steps.length > 0) {
    lines.push("Steps:");
    lines.push(
      ...report.steps.map((s, i) => `  ${i + 1}. ${s.what}: ${batchText(s.batches)} (${minutes(s.seconds)})`),
    );
    lines.push(
      `  Estimated: ${minutes(report.estimatedSeconds)} (the bench's latency model, tools/bench/latencies.ts).`,
      "",
    );
  }
  if (report.warnings.length > 0) {
    lines.push("Warnings:", ...report.warnings.map((w) => `  - ${w}`), "");
  }
  lines.push("Resources:", renderChanges(report.changes).trimEnd());
  return `${lines.join("\n")}\n`;
}

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** For a pull-request comment. */
export function renderImpactMarkdown(report: ImpactReport): string {
  const lines = [`**Impact on stack \`${report.stack}\`**`, ""];
  if (report.refused !== undefined) {
    lines.push(
      "**Refused**: `pulumi up` would stop before it registers anything; no node is touched.",
      "",
      "```",
      report.refused,
      "```",
    );
    return `${lines.join("\n")}\n`;
  }
  const r = report.summary;
  if (report.changes.length === 0) {
    lines.push("No changes: `pulumi up` would leave every resource as it is.");
    return `${lines.join("\n")}\n`;
  }
  lines.push(
    `**${r.overall}**: ${r.create} to create, ${r.update} to update, ${r.replace} to replace, ${r.delete} to delete.` +
      (report.steps.length > 0
        ? ` Estimated ${minutes(report.estimatedSeconds)} (the bench's latency model, not a measurement).`
        : ""),
    "",
  );
  if (report.values.length > 0) {
    lines.push("| Value | From | To |", "| --- | --- | --- |");
    lines.push(...report.values.map((v) => `| ${v.name} | ${code(v.from)} | ${code(v.to)} |`), "");
  }
  lines.push("| Node | Role | What happens |", "| --- | --- | --- |");
  lines.push(...report.nodes.map((n) => `| ${n.name} | ${role(n)} | ${cell(what(n))} |`), "");
  if (report.steps.length > 0) {
    lines.push("Steps:", "");
    lines.push(
      ...report.steps.map((s, i) => `${i + 1}. ${s.what}: ${batchText(s.batches)} (${minutes(s.seconds)})`),
      "",
    );
  }
  if (report.warnings.length > 0) {
    lines.push("Warnings:", "", ...report.warnings.map((w) => `- ${cell(w)}`), "");
  }
  lines.push(
    "<details><summary>Resources</summary>",
    "",
    "| Change | Effect | Resource | What happens |",
    "| --- | --- | --- | --- |",
    ...mostDisruptiveFirst(report.changes).map(
      (c) => `| ${c.change} | ${c.effect} | ${c.name} | ${cell(c.impact)} |`,
    ),
    "",
    "</details>",
  );
  return `${lines.join("\n")}\n`;
}

const code = (v: string | null) => (v === null ? "(none)" : `\`${v}\``);

/** For a machine: the report as JSON, the changes included. */
export function renderImpactJson(report: ImpactReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
