/**
 * The Talos Pulumi provider (pulumiverse/pulumi-talos) without its npm package.
 *
 * `@pulumiverse/talos` is only a generated typed wrapper; what `pulumi up` runs is the provider plugin
 * `pulumi-resource-talos`. Every resource and invoke below names the plugin version and where to get
 * it, so the engine installs it on first use (or: `pulumi plugin install resource talos 0.8.1
 * --server github://api.github.com/pulumiverse`). The modules mirror the real SDK (`machine`,
 * `cluster`, `client`, `imagefactory`): switching to `@pulumiverse/talos` is an import change.
 */
import * as pulumi from "@pulumi/pulumi";

/** Provider plugin version: wraps terraform-provider-talos 0.11.0 and Talos machinery 1.13.0. */
export const TALOS_PROVIDER_VERSION = "0.8.1";
export const TALOS_PLUGIN_DOWNLOAD_URL = "github://api.github.com/pulumiverse";

/** Resource options with the plugin pinned, merged under the caller's options. */
export function talosResourceOptions(
  opts: pulumi.CustomResourceOptions | undefined,
  secretOutputs: string[] = [],
): pulumi.CustomResourceOptions {
  return pulumi.mergeOptions(
    {
      version: TALOS_PROVIDER_VERSION,
      pluginDownloadURL: TALOS_PLUGIN_DOWNLOAD_URL,
      additionalSecretOutputs: secretOutputs,
    },
    opts,
  );
}

/** Invoke options with the plugin pinned. */
export function talosInvokeOptions(opts: pulumi.InvokeOutputOptions | undefined): pulumi.InvokeOutputOptions {
  return { ...opts, version: TALOS_PROVIDER_VERSION, pluginDownloadURL: TALOS_PLUGIN_DOWNLOAD_URL };
}

/** Talos API client credentials (`talosctl` uses the same three PEM blocks). */
export interface ClientConfiguration {
  caCertificate: string;
  clientCertificate: string;
  /** Secret. */
  clientKey: string;
}

/** Durations are Go duration strings: "30s", "10m", "1h30m". */
export interface Timeouts {
  create?: string;
  update?: string;
  delete?: string;
}
