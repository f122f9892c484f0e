import * as pulumi from "@pulumi/pulumi";
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
