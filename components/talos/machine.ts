/**
 * `talos.machine`: cluster secrets, machine configuration render and apply, etcd bootstrap.
 */
import * as pulumi from "@pulumi/pulumi";
import { ClientConfiguration, Timeouts, talosInvokeOptions, talosResourceOptions } from "./provider";

interface CertAndKey {
  cert: string;
  /** Secret. */
  key: string;
}

/** Everything a Talos cluster is made of: CAs, tokens, encryption keys. All of it is a secret. */
export interface MachineSecrets {
  certs: {
    etcd: CertAndKey;
    k8s: CertAndKey;
    k8sAggregator: CertAndKey;
    k8sServiceaccount: { key: string };
    os: CertAndKey;
  };
  cluster: { id: string; secret: string };
  secrets: { bootstrapToken: string; secretboxEncryptionSecret: string; aescbcEncryptionSecret?: string };
  trustdinfo: { token: string };
}

export interface SecretsArgs {
  /** The version contract of the generated secrets, e.g. "v1.13". Pin it: it must never drift. */
  talosVersion?: pulumi.Input<string>;
}

/**
 * Generates the cluster's secrets once; they live in Pulumi state (encrypted) and never regenerate
 * unless the resource is replaced.
 */
export class Secrets extends pulumi.CustomResource {
  static readonly TYPE = "talos:machine/secrets:Secrets";
  declare public readonly machineSecrets: pulumi.Output<MachineSecrets>;
  declare public readonly clientConfiguration: pulumi.Output<ClientConfiguration>;
  declare public readonly talosVersion: pulumi.Output<string>;

  constructor(name: string, args: SecretsArgs = {}, opts?: pulumi.CustomResourceOptions) {
    super(
      Secrets.TYPE,
      name,
      { talosVersion: args.talosVersion, machineSecrets: undefined, clientConfiguration: undefined },
      // The schema marks only nested leaves secret; the whole objects are credentials.
      talosResourceOptions(opts, ["machineSecrets", "clientConfiguration"]),
    );
  }
}

export type ApplyMode = "auto" | "reboot" | "no_reboot" | "staged" | "staged_if_needing_reboot";

export interface ConfigurationApplyArgs {
  /** The node to apply to (its IP). A node in maintenance mode is reached without credentials. */
  node: pulumi.Input<string>;
  /** Talos API endpoint. @default node */
  endpoint?: pulumi.Input<string>;
  clientConfiguration: pulumi.Input<ClientConfiguration>;
  /** The rendered machine configuration (secret). */
  machineConfigurationInput: pulumi.Input<string>;
  /** Strategic-merge or RFC 6902 patches applied on top of the input, per node. */
  configPatches?: pulumi.Input<pulumi.Input<string>[]>;
  /** @default "auto" */
  applyMode?: pulumi.Input<ApplyMode>;
  /** What happens to the node when this resource is deleted. */
  onDestroy?: pulumi.Input<{ graceful?: boolean; reboot?: boolean; reset?: boolean }>;
  timeouts?: pulumi.Input<Timeouts>;
}

/**
 * Applies a machine configuration: first insecurely (maintenance mode), then with the client
 * configuration, retrying until the timeout. One resource covers first install and later updates.
 */
export class ConfigurationApply extends pulumi.CustomResource {
  static readonly TYPE = "talos:machine/configurationApply:ConfigurationApply";
  declare public readonly node: pulumi.Output<string>;
  declare public readonly endpoint: pulumi.Output<string>;
  declare public readonly applyMode: pulumi.Output<ApplyMode>;
  declare public readonly machineConfiguration: pulumi.Output<string>;
  declare public readonly machineConfigurationHash: pulumi.Output<string>;
  declare public readonly resolvedApplyMode: pulumi.Output<string>;

  constructor(name: string, args: ConfigurationApplyArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      ConfigurationApply.TYPE,
      name,
      {
        node: args.node,
        endpoint: args.endpoint,
        clientConfiguration: args.clientConfiguration,
        machineConfigurationInput: pulumi.secret(args.machineConfigurationInput),
        configPatches: args.configPatches,
        applyMode: args.applyMode,
        onDestroy: args.onDestroy,
        timeouts: args.timeouts,
        machineConfiguration: undefined,
        machineConfigurationHash: undefined,
        resolvedApplyMode: undefined,
      },
      talosResourceOptions(opts, ["machineConfiguration", "machineConfigurationInput"]),
    );
  }
}

export interface BootstrapArgs {
  /** The control-plane node that starts etcd. Exactly one per cluster, exactly once. */
  node: pulumi.Input<string>;
  endpoint?: pulumi.Input<string>;
  clientConfiguration: pulumi.Input<ClientConfiguration>;
  timeouts?: pulumi.Input<{ create?: string }>;
}

/** Bootstraps etcd on one control-plane node. */
export class Bootstrap extends pulumi.CustomResource {
  static readonly TYPE = "talos:machine/bootstrap:Bootstrap";
  declare public readonly node: pulumi.Output<string>;
  declare public readonly endpoint: pulumi.Output<string>;

  constructor(name: string, args: BootstrapArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      Bootstrap.TYPE,
      name,
      {
        node: args.node,
        endpoint: args.endpoint,
        clientConfiguration: args.clientConfiguration,
        timeouts: args.timeouts,
      },
      talosResourceOptions(opts),
    );
  }
}

export type MachineType = "controlplane" | "worker";

export interface GetConfigurationArgs {
  clusterName: pulumi.Input<string>;
  /** e.g. `https://10.0.0.10:6443` */
  clusterEndpoint: pulumi.Input<string>;
  machineSecrets: pulumi.Input<MachineSecrets>;
  machineType: pulumi.Input<MachineType>;
  configPatches?: pulumi.Input<pulumi.Input<string>[]>;
  /** The config contract (e.g. "v1.13"). Unset, it follows the plugin's machinery: always pin it. */
  talosVersion?: pulumi.Input<string>;
  /** Unset, it follows the plugin's machinery: always pin it. */
  kubernetesVersion?: pulumi.Input<string>;
  docs?: pulumi.Input<boolean>;
  examples?: pulumi.Input<boolean>;
}

export interface GetConfigurationResult {
  readonly id: string;
  /** The rendered machine configuration: secret. */
  readonly machineConfiguration: string;
  readonly clusterName: string;
  readonly clusterEndpoint: string;
  readonly machineType: MachineType;
}

export const GET_CONFIGURATION_TOKEN = "talos:machine/getConfiguration:getConfiguration";

/**
 * Renders a machine configuration. The result holds private keys, so the whole result is a secret
 * whatever the provider marks.
 */
export function getConfigurationOutput(
  args: GetConfigurationArgs,
  opts?: pulumi.InvokeOutputOptions,
): pulumi.Output<GetConfigurationResult> {
  return pulumi.secret(
    pulumi.runtime.invokeOutput<GetConfigurationResult>(
      GET_CONFIGURATION_TOKEN,
      {
        clusterName: args.clusterName,
        clusterEndpoint: args.clusterEndpoint,
        machineSecrets: args.machineSecrets,
        machineType: args.machineType,
        configPatches: args.configPatches,
        talosVersion: args.talosVersion,
        kubernetesVersion: args.kubernetesVersion,
        docs: args.docs,
        examples: args.examples,
      },
      talosInvokeOptions(opts),
    ),
  );
}
