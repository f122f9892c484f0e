import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { Cni } from "./internal/machine-config";
import { READY_SCRIPT, SCRIPT_INTERPRETER, NO_PREVIOUS_OUTPUT } from "./internal/scripts";
import { talosMinor } from "./internal/versions";
import * as talos from "./talos";
import { ClientConfiguration } from "./talos/provider";

export interface HealthGateArgs {
  /** Talos API client credentials (secret). */
  clientConfiguration: pulumi.Input<ClientConfiguration>;
  /** Control-plane node IPs; also the Talos API endpoints of the check (never the VIP). */
  controlPlaneNodes: string[];
  /** Worker node IPs, checked too. @default [] */
  workerNodes?: string[];
  /**
   * Also check Kubernetes: every node Ready, control-plane pods, CoreDNS. These need the CNI, so a
   * gate before the CNI must leave them out or it waits for ever.
   */
  kubernetes: boolean;
  /** How long to wait, as a Go duration. */
  timeout: string;
  /**
   * Why this update must not run the check (it says so in the update's log), as when nodes leave in it.
   * @default undefined (the check runs)
   */
  skippedBecause?: string;
}

/** Why the health gates wait for the next update when these nodes leave in this one, or nothing. */
export function leavingReason(nodesLeaving: readonly string[] = []): string | undefined {
  return nodesLeaving.length === 0
    ? undefined
    : `${nodesLeaving.join(", ")} leave${nodesLeaving.length === 1 ? "s" : ""} in this update, and Talos's ` +
        `checks want etcd's members and the Kubernetes nodes to be exactly the listed ones until ` +
        `Pulumi deletes ${nodesLeaving.length === 1 ? "it" : "them"}; the next update checks again`;
}

/**
 * Waits until Talos reports the cluster healthy; an unhealthy cluster fails the update after the
 * timeout. Previews skip the check: they must not reach into the nodes. Resolves to the check's id
 * (a marker to hang dependent values on).
 */
export function healthGate(args: HealthGateArgs, opts: pulumi.InvokeOutputOptions): pulumi.Output<string> {
  if (pulumi.runtime.isDryRun()) {
    return pulumi.output("skipped in preview");
  }
  if (args.skippedBecause !== undefined) {
    void pulumi.log.info(`health gate skipped: ${args.skippedBecause}`, opts.parent);
    return pulumi.output(`skipped: ${args.skippedBecause}`);
  }
  return talos.cluster
    .getHealthOutput(
      {
        clientConfiguration: args.clientConfiguration,
        controlPlaneNodes: args.controlPlaneNodes,
        endpoints: args.controlPlaneNodes,
        workerNodes: args.workerNodes,
        skipKubernetesChecks: !args.kubernetes,
        timeouts: { read: args.timeout },
      },
      opts,
    )
    .apply((health) => health.id);
}

export interface KubernetesReadyArgs {
  /** The cluster's name, for the command's messages. */
  clusterName: string;
  /** The Talos version the nodes run (talosctl must be of its minor). */
  talosVersion: string;
  /** Control-plane node IPs: where the kubeconfig is fetched from (never the VIP). */
  controlPlaneEndpoints: string[];
  /** The cluster's talosconfig (secret); it reaches the command on stdin. */
  talosconfig: pulumi.Input<string>;
  /** The cluster's CNI: with `cilium`, its agents must be rolled out too. */
  cni: Cni;
  /** Every node's name: the check runs again when the set changes. */
  nodeNames: string[];
  /** How long to wait, as a Go duration. */
  timeout: string;
}

/**
 * The readiness Talos's health check leaves out while the CNI is "none" (Cilium installed after
 * bootstrap; v1.13.9 pkg/cluster/check/default.go skips "all k8s nodes to report ready" and "coredns to
 * report ready"): a command that waits with kubectl for every node Ready, CoreDNS rolled out and, with
 * Cilium, its agents rolled out. It runs on `pulumi up` (never in a preview), and again when the set of
 * nodes changes; a cluster that is not ready fails the update.
 */
export function kubernetesReady(
  name: string,
  args: KubernetesReadyArgs,
  opts: pulumi.CustomResourceOptions,
): command.local.Command {
  return new command.local.Command(
    name,
    {
      interpreter: SCRIPT_INTERPRETER,
      addPreviousOutputInEnv: NO_PREVIOUS_OUTPUT,
      create: READY_SCRIPT,
      environment: {
        CLUSTER: args.clusterName,
        TALOS_MINOR: talosMinor(args.talosVersion),
        CONTROL_PLANE_ENDPOINTS: args.controlPlaneEndpoints.join(" "),
        CNI: args.cni,
        NODES: [...args.nodeNames].sort().join(" "),
        READY_TIMEOUT: args.timeout,
      },
      stdin: pulumi.secret(args.talosconfig),
    },
    opts,
  );
}
