import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { Cni } from "./internal/machine-config";
import { PREFLIGHT_SCRIPT, ROLLOUT_SCRIPT, SCRIPT_INTERPRETER, NO_PREVIOUS_OUTPUT } from "./internal/scripts";
import { checkDuration, checkInteger, Problem, show } from "./internal/validation";
import { talosMinor } from "./internal/versions";
import { TalosImage } from "./talos-image";

/** Which role rolls first: workers (the guide's advice) or control planes. */
export type UpgradeOrder = "workers-first" | "control-plane-first";
/** Every upgrade order, for validation. */
export const UPGRADE_ORDERS: readonly UpgradeOrder[] = ["workers-first", "control-plane-first"];

export interface ClusterUpgradeArgs {
  /** The cluster's name, for the commands' messages. */
  clusterName: string;
  /** Target Talos version, e.g. "v1.14.1". */
  talosVersion: string;
  /** Target Kubernetes version, e.g. "1.36.1". */
  kubernetesVersion: string;
  /** The image whose installer (and schematic) the nodes run. */
  image: TalosImage;
  /** Control-plane node IPs: the Talos API endpoints of the commands (never the VIP). */
  controlPlaneEndpoints: string[];
  /** The cluster's talosconfig (secret); it reaches the commands on stdin. */
  talosconfig: pulumi.Input<string>;
  /** Which role rolls first. The guide recommends workers. @default "workers-first" */
  order?: UpgradeOrder;
  /** Workers upgraded at the same time; control planes always go one by one. @default 1 */
  maxParallelWorkers?: number;
  /** How long one node's upgrade may take (Go duration). @default "30m" */
  upgradeTimeout?: string;
  /** How long the health gate after a node may wait (Go duration). @default "20m" */
  healthTimeout?: string;
  /**
   * The cluster's CNI. With `cilium` (Talos's CNI "none"), Talos's own health checks skip node
   * readiness and CoreDNS, so the gate checks them, and Cilium's rollout, with kubectl.
   * @default "cilium"
   */
  cni?: Cni;
}

/**
 * Rolling upgrades, declared: change the Talos version, the extensions or the Kubernetes version in
 * config and `pulumi up` rolls the cluster in place. One command runs `talosctl upgrade` node by node
 * (control planes strictly one at a time, workers in batches) with a health gate after each, stopping
 * at the first failure; then `talosctl upgrade-k8s` once. Nodes already on target are skipped, so the
 * next `pulumi up` resumes a stopped roll. On creation it only checks the tools: new nodes install the
 * target directly. Nothing here replaces a VM, re-bootstraps or touches the secrets.
 *
 * Machine configs follow `kubernetesVersion`, which resolves once the cluster runs that version, so a
 * config apply never runs ahead of (or fights) `upgrade-k8s`.
 */
export class ClusterUpgrade extends pulumi.ComponentResource {
  static readonly TYPE = "talos-proxmox:index:ClusterUpgrade";

  /** The Kubernetes version the cluster runs; resolves after the roll. */
  public readonly kubernetesVersion: pulumi.Output<string>;
  /** The roll itself: whatever must not run ahead of an upgrade depends on it. */
  public readonly rollout: command.local.Command;

  constructor(name: string, args: ClusterUpgradeArgs, opts?: pulumi.ComponentResourceOptions) {
    // Its only user, ControlPlane, has checked these settings (checkRollSettings) before creating it.
    const order = args.order ?? "workers-first";
    const maxParallelWorkers = args.maxParallelWorkers ?? 1;
    super(ClusterUpgrade.TYPE, name, {}, opts);

    this.rollout = new command.local.Command(
      `${name}-rollout`,
      {
        interpreter: SCRIPT_INTERPRETER,
        addPreviousOutputInEnv: NO_PREVIOUS_OUTPUT,
        create: PREFLIGHT_SCRIPT,
        update: ROLLOUT_SCRIPT,
        environment: {
          CLUSTER: args.clusterName,
          TALOS_MINOR: talosMinor(args.talosVersion),
          TARGET_VERSION: args.talosVersion,
          TARGET_IMAGE: args.image.installerImage,
          TARGET_SCHEMATIC: args.image.schematicId,
          KUBERNETES_VERSION: args.kubernetesVersion,
          ORDER: order,
          MAX_PARALLEL_WORKERS: String(maxParallelWorkers),
          CONTROL_PLANE_ENDPOINTS: args.controlPlaneEndpoints.join(" "),
          UPGRADE_TIMEOUT: args.upgradeTimeout ?? "30m",
          HEALTH_TIMEOUT: args.healthTimeout ?? "20m",
          CNI: args.cni ?? "cilium",
        },
        stdin: pulumi.secret(args.talosconfig),
      },
      { parent: this },
    );
    this.kubernetesVersion = this.rollout.environment.apply((env) => {
      const version = env?.KUBERNETES_VERSION;
      if (!version) {
        throw new Error(`the rollout of ${name} reported no KUBERNETES_VERSION`);
      }
      return version;
    });
    this.registerOutputs({ kubernetesVersion: this.kubernetesVersion });
  }
}

/** How a roll goes, as ClusterUpgrade, ControlPlane's `upgrade` and configRoll take it. */
export interface RollSettings {
  order?: string;
  maxParallelWorkers?: number;
  /** Each timeout's name and value (Go durations). */
  timeouts?: Record<string, string | undefined>;
}

/** The problems of a roll's settings, under `path` (e.g. "args.upgrade"). */
export function checkRollSettings(settings: RollSettings, path: string): Problem[] {
  const problems = [
    ...checkInteger(settings.maxParallelWorkers ?? 1, `${path}.maxParallelWorkers`, {
      min: 1,
      what: "the number of workers rolled at once",
    }),
    ...Object.entries(settings.timeouts ?? {}).flatMap(([key, value]) =>
      value === undefined ? [] : checkDuration(value, `${path}.${key}`, 60),
    ),
  ];
  const order = settings.order ?? "workers-first";
  if (!UPGRADE_ORDERS.includes(order as UpgradeOrder)) {
    problems.push({
      path: `${path}.order`,
      message: `${show(order)} is not an order. Use "workers-first" or "control-plane-first".`,
    });
  }
  return problems;
}
