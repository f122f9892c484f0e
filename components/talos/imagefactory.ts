/**
 * `talos.imagefactory`: schematics and the URLs of what Image Factory builds from them.
 */
import * as pulumi from "@pulumi/pulumi";
import { talosInvokeOptions, talosResourceOptions } from "./provider";

export interface SchematicArgs {
  /** The schematic YAML (`customization: {systemExtensions: {officialExtensions: [...]}}`). */
  schematic?: pulumi.Input<string>;
}

/**
 * Registers a schematic with Image Factory. The resource id is the schematic id, a content hash:
 * the same YAML always gives the same id.
 */
export class Schematic extends pulumi.CustomResource {
  static readonly TYPE = "talos:imageFactory/schematic:Schematic";
  declare public readonly schematic: pulumi.Output<string | undefined>;

  constructor(name: string, args: SchematicArgs = {}, opts?: pulumi.CustomResourceOptions) {
    super(Schematic.TYPE, name, { schematic: args.schematic }, talosResourceOptions(opts));
  }
}

export interface GetUrlsArgs {
  /** e.g. "v1.13.9" */
  talosVersion: pulumi.Input<string>;
  schematicId: pulumi.Input<string>;
  /** e.g. "nocloud", "metal". */
  platform?: pulumi.Input<string>;
  /** @default "amd64" */
  architecture?: pulumi.Input<string>;
}

export interface ImageUrls {
  installer: string;
  installerSecureboot: string;
  iso: string;
  isoSecureboot: string;
  diskImage: string;
  diskImageSecureboot: string;
  pxe: string;
  kernel: string;
  kernelCommandLine: string;
  initramfs: string;
  uki: string;
}

export interface GetUrlsResult {
  readonly id: string;
  readonly talosVersion: string;
  readonly schematicId: string;
  readonly platform?: string;
  readonly architecture: string;
  readonly urls: ImageUrls;
}

export const GET_URLS_TOKEN = "talos:imageFactory/getUrls:getUrls";

/** The factory URLs (installer image, ISO, disk image, ...) for a schematic and Talos version. */
export function getUrlsOutput(
  args: GetUrlsArgs,
  opts?: pulumi.InvokeOutputOptions,
): pulumi.Output<GetUrlsResult> {
  return pulumi.runtime.invokeOutput<GetUrlsResult>(
    GET_URLS_TOKEN,
    {
      talosVersion: args.talosVersion,
      schematicId: args.schematicId,
      platform: args.platform,
      architecture: args.architecture,
    },
    talosInvokeOptions(opts),
  );
}
