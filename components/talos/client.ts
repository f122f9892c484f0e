/**
 * `talos.client`: the talosconfig that `talosctl` reads.
 */
import * as pulumi from "@pulumi/pulumi";
import { ClientConfiguration, talosInvokeOptions } from "./provider";

export interface GetConfigurationArgs {
  clusterName: pulumi.Input<string>;
  clientConfiguration: pulumi.Input<ClientConfiguration>;
  /** Talos API endpoints: control-plane node IPs. Never the VIP: it moves during upgrades. */
  endpoints?: pulumi.Input<pulumi.Input<string>[]>;
  /** Default target nodes of `talosctl` commands. */
  nodes?: pulumi.Input<pulumi.Input<string>[]>;
}

export interface GetConfigurationResult {
  readonly id: string;
  /** The talosconfig YAML: secret. */
  readonly talosConfig: string;
}

export const GET_CONFIGURATION_TOKEN = "talos:client/getConfiguration:getConfiguration";

/** Renders a talosconfig; the whole result is a secret. */
export function getConfigurationOutput(
  args: GetConfigurationArgs,
  opts?: pulumi.InvokeOutputOptions,
): pulumi.Output<GetConfigurationResult> {
  return pulumi.secret(
    pulumi.runtime.invokeOutput<GetConfigurationResult>(
      GET_CONFIGURATION_TOKEN,
      {
        clusterName: args.clusterName,
        clientConfiguration: args.clientConfiguration,
        endpoints: args.endpoints,
        nodes: args.nodes,
      },
      talosInvokeOptions(opts),
    ),
  );
}
