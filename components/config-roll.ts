import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { checkRollSettings, UpgradeOrder } from "./cluster-upgrade";
import { Cni } from "./internal/machine-config";
import { CONFIG_ROLL_SCRIPT, digestOf, NO_PREVIOUS_OUTPUT, SCRIPT_INTERPRETER } from "./internal/scripts";
import { throwIfProblems } from "./internal/validation";
import { rebootDigest } from "./internal/reboot-sections";
import { TALOS_SUPPORT, talosMinor } from "./internal/versions";
import * as talos from "./talos";

export interface ConfigRollArgs {
  /** The cluster's name, for the command's messages. */
  clusterName: string;
  /** The Talos version the nodes run (talosctl must be of its minor). */
  talosVersion: string;
  /** Control-plane node IPs: the Talos API endpoints of the command (never the VIP). */
  controlPlaneEndpoints: readonly string[];
  /** The cluster's talosconfig (secret); it reaches the command on stdin. */
  talosconfig: pulumi.Input<string>;
  /** The config apply of every node of the cluster: the roll runs after them, and whenever one changes. */
  applies: talos.machine.ConfigurationApply[];
  /**
   * The Kubernetes node name (hostname) of every node of the cluster, `nodeNames[i]` the node of
   * `applies[i]`. Before it reboots anything, the roll waits for each to exist and be Ready: a node added
   * in the same update registers only once it has installed, after its apply returned.
   */
  nodeNames: readonly string[];
  /** The cluster's CNI: with `cilium`, the health gate waits for its agents too. */
  cni: Cni;
  /** Which role rolls first. @default "workers-first" */
  order?: UpgradeOrder;
  /** Workers rebooted at the same time; control planes always go one by one. @default 1 */
  maxParallelWorkers?: number;
  /** How long one node's drain and reboot may take (Go duration). @default "30m" */
  rebootTimeout?: string;
  /** How long the health gate after a node may wait (Go duration). @default "20m" */
  healthTimeout?: string;
}

/**
 * The rolling reboot that config changes needing one go through. Every config apply runs in
 * `staged_if_needing_reboot` mode (terraform-provider-talos v0.11.0: a dry run decides between `auto` and
 * `staged`). On Talos v1.13 a change Talos applies live lands on every node at once, and one that needs a
 * reboot waits on disk (staged). Talos v1.14 applies every change live and never asks for a reboot, so
 * the library finds the changes only a reboot puts in effect itself (reboot-sections.ts): each node's
 * reboot digest, compared with the digest of the config it last booted into, which the roll keeps on its
 * Kubernetes Node as the annotation `talos-proxmox/boot-config-digest`.
 * This command reboots the nodes holding a staged config, or (v1.14) whose digest moved, one at a time,
 * drained and uncordoned by `talosctl reboot --drain`, with a health gate after each, in the upgrade
 * order, and records every node's digest. It first waits for every node it names to exist and be Ready (a
 * node whose apply just returned may still be installing, and has no Node object yet). It runs after the
 * applies whenever a node's config changed; nodes that need nothing are skipped, so it resumes after a
 * failure and leaves a converged cluster alone.
 */
export function configRoll(
  name: string,
  args: ConfigRollArgs,
  opts: Omit<pulumi.CustomResourceOptions, "dependsOn"> & { dependsOn?: pulumi.Resource[] },
): command.local.Command {
  throwIfProblems(`configRoll "${name}"`, [
    ...checkRollSettings(
      {
        order: args.order,
        maxParallelWorkers: args.maxParallelWorkers,
        timeouts: { rebootTimeout: args.rebootTimeout, healthTimeout: args.healthTimeout },
      },
      "args",
    ),
    ...(args.nodeNames.length === 0
      ? [
          {
            path: "args.nodeNames",
            message: "is empty: name every node of the cluster, so the roll waits for each.",
          },
        ]
      : []),
    ...(args.nodeNames.length !== args.applies.length
      ? [
          {
            path: "args.nodeNames",
            message: `names ${args.nodeNames.length} node(s) for ${args.applies.length} config applies: give the node of each apply, in order.`,
          },
        ]
      : []),
    ...(args.controlPlaneEndpoints.length === 0
      ? [
          {
            path: "args.controlPlaneEndpoints",
            message: "is empty: the commands need a control plane to talk to.",
          },
        ]
      : []),
  ]);

  // Every node's config, hashed: the command's trigger.
  const digest = digestOf(
    args.applies.map((apply) => apply.machineConfiguration),
    `configRoll "${name}": the config applies' machineConfiguration`,
  );
  // Each node's reboot digest ("name=digest", sorted by name): hashes of config parts, not secret.
  const rebootDigests = pulumi.unsecret(
    pulumi
      .all(
        args.applies.map((apply, i) =>
          apply.machineConfiguration.apply((config) => `${args.nodeNames[i]}=${rebootDigest([config])}`),
        ),
      )
      .apply((pairs) => [...pairs].sort().join(" ")),
  );
  return new command.local.Command(
    name,
    {
      interpreter: SCRIPT_INTERPRETER,
      addPreviousOutputInEnv: NO_PREVIOUS_OUTPUT,
      create: CONFIG_ROLL_SCRIPT,
      update: CONFIG_ROLL_SCRIPT,
      environment: {
        CLUSTER: args.clusterName,
        TALOS_MINOR: talosMinor(args.talosVersion),
        CONTROL_PLANE_ENDPOINTS: args.controlPlaneEndpoints.join(" "),
        CNI: args.cni,
        ORDER: args.order ?? "workers-first",
        MAX_PARALLEL_WORKERS: String(args.maxParallelWorkers ?? 1),
        REBOOT_TIMEOUT: args.rebootTimeout ?? "30m",
        HEALTH_TIMEOUT: args.healthTimeout ?? "20m",
        NODES: [...args.nodeNames].sort().join(" "),
        CONFIG_DIGEST: digest,
        REBOOT_DIGESTS: rebootDigests,
        LIVE_MINORS: liveMinors(),
      },
      stdin: pulumi.secret(args.talosconfig),
    },
    { ...opts, dependsOn: [...(opts.dependsOn ?? []), ...args.applies] },
  );
}

/** The Talos minors that apply every change live, whose reboots the digests decide ("v1.14"). */
function liveMinors(): string {
  return Object.keys(TALOS_SUPPORT)
    .filter((minor) => TALOS_SUPPORT[minor].rebootChanges === "live")
    .join(" ");
}
