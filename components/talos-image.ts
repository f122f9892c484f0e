import * as proxmoxve from "@muhlba91/pulumi-proxmoxve";
import * as pulumi from "@pulumi/pulumi";
import { checkTalosVersion } from "./internal/versions";
import {
  checkExtensions,
  DEFAULT_EXTENSIONS,
  QEMU_GUEST_AGENT,
  canonicalExtensions,
  schematicYaml,
} from "./internal/schematic";
import {
  checkDnsLabel,
  checkDuration,
  checkStorageId,
  durationSeconds,
  Problem,
  throwIfProblems,
} from "./internal/validation";
import * as talos from "./talos";

export interface TalosImageArgs {
  /** Talos version to boot and install, a v1.13 or v1.14 release such as `"v1.14.1"`. */
  talosVersion: string;
  /**
   * Official system extensions baked into the image (and into the installer, so installed nodes keep
   * them). Order does not matter.
   * @default ["siderolabs/qemu-guest-agent", "siderolabs/iscsi-tools", "siderolabs/util-linux-tools"]
   */
  extensions?: string[];
  /**
   * Every Proxmox node that runs a VM of the cluster. Each gets its own copy of the ISO, since a file
   * on local storage is visible to its own node only.
   */
  pveNodes: string[];
  /** Proxmox storage for the ISO; it must allow the `iso` content type. @default "local" */
  datastore?: string;
  /**
   * The storage is shared by all Proxmox nodes (NFS, CephFS): one download serves every node.
   * @default false
   */
  sharedDatastore?: boolean;
  /** Prefix of the ISO file name, so clusters sharing a storage never touch each other's files. */
  fileNamePrefix: string;
  /** How long Proxmox may take to fetch the ISO (the factory builds it on first request; Go duration). @default "30m" */
  downloadTimeout?: string;
}

/** The platform whose image reads the Proxmox cloud-init drive (static IP, DNS, hostname). */
export const TALOS_PLATFORM = "nocloud";
/** The CPU architecture of the image and the installer: Proxmox VMs here are x86-64. */
export const TALOS_ARCHITECTURE = "amd64";

/**
 * A Talos Image Factory image for Proxmox: a schematic with the chosen system extensions, its nocloud
 * ISO downloaded to the storage of every Proxmox node that needs it, and the matching installer image.
 */
export class TalosImage extends pulumi.ComponentResource {
  static readonly TYPE = "talos-proxmox:index:TalosImage";

  /** The schematic id: sha256 of the canonical schematic YAML. */
  public readonly schematicId: pulumi.Output<string>;
  /** The installer image for `machine.install.image` and upgrades, e.g. `factory.talos.dev/nocloud-installer/<id>:v1.14.1`. */
  public readonly installerImage: pulumi.Output<string>;
  /** Where Proxmox downloads the ISO from (for Proxmox nodes that do not have it yet). */
  public readonly isoUrl: pulumi.Output<string>;
  /** Proxmox file id of the ISO (`local:iso/...`) per Proxmox node. */
  public readonly isoFileIds: pulumi.Output<Record<string, string>>;
  /** The Proxmox nodes that hold the ISO. */
  public readonly pveNodes: readonly string[];
  /** The extensions in the image, sorted. */
  public readonly extensions: readonly string[];
  /** The Talos version of the image, e.g. "v1.14.1". */
  public readonly talosVersion: string;
  /** Whether the image runs the QEMU guest agent, so VMs can enable theirs. */
  public readonly hasGuestAgent: boolean;

  private readonly isoFiles: ReadonlyMap<string, proxmoxve.download.File>;

  constructor(name: string, args: TalosImageArgs, opts?: pulumi.ComponentResourceOptions) {
    const extensions = canonicalExtensions(args.extensions ?? DEFAULT_EXTENSIONS);
    const pveNodes = [...new Set(args.pveNodes)].sort();
    const datastoreId = args.datastore ?? "local";
    const sharedDatastore = args.sharedDatastore ?? false;
    const downloadTimeout = args.downloadTimeout ?? "30m";
    throwIfProblems(`TalosImage "${name}"`, validateTalosImageArgs(args, pveNodes, datastoreId));
    super(TalosImage.TYPE, name, {}, opts);

    this.extensions = extensions;
    this.talosVersion = args.talosVersion;
    this.hasGuestAgent = extensions.includes(QEMU_GUEST_AGENT);
    this.pveNodes = pveNodes;

    // The provider updates a schematic in place and sets a new id in its Update
    // (terraform-provider-talos v0.11.0 talos_image_factory_schematic_resource.go: no RequiresReplace),
    // but the Pulumi engine never changes a resource's id in an update (pulumi/pulumi#3729): the
    // installer image would keep the old schematic and no node would roll. A new schematic replaces the
    // old one instead (its Delete is a no-op), so its id, and everything built from it, follows.
    const schematic = new talos.imagefactory.Schematic(
      `${name}-schematic`,
      { schematic: schematicYaml(extensions) },
      { parent: this, replaceOnChanges: ["schematic"] },
    );
    const urls = talos.imagefactory.getUrlsOutput(
      {
        talosVersion: args.talosVersion,
        schematicId: schematic.id,
        platform: TALOS_PLATFORM,
        architecture: TALOS_ARCHITECTURE,
      },
      { parent: this },
    ).urls;

    // The ISO only boots new VMs into maintenance mode; nodes install and upgrade from the installer
    // image. So one ISO per Proxmox node, kept across upgrades: a stable name, and the URL's changes
    // ignored, so VMs never see their CD change (new VMs still install the current version).
    const fileName = `${args.fileNamePrefix}-talos-${TALOS_PLATFORM}-${TALOS_ARCHITECTURE}.iso`;
    // On shared storage one download serves every node; on local storage each node needs its own.
    const downloadNodes = sharedDatastore ? pveNodes.slice(0, 1) : pveNodes;
    const files = downloadNodes.map(
      (pveNode) =>
        [
          pveNode,
          new proxmoxve.download.File(
            `${name}-iso-${pveNode}`,
            {
              nodeName: pveNode,
              datastoreId,
              contentType: "iso",
              url: urls.iso,
              fileName,
              // The factory serves the same bytes for a schematic and version; never re-download on
              // a Content-Length difference (a perpetual diff otherwise).
              overwrite: false,
              // bpg's download File takes seconds.
              uploadTimeout: durationSeconds(downloadTimeout),
            },
            { parent: this, ignoreChanges: ["url"] },
          ),
        ] as const,
    );
    this.isoFiles = new Map(
      sharedDatastore ? pveNodes.map((pveNode) => [pveNode, files[0][1]] as const) : files,
    );

    this.schematicId = schematic.id;
    // Every node installs and upgrades from it: without it the install patch would lose its image and
    // Talos would install its default one, without the extensions. The Talos provider always sets it
    // (terraform-provider-talos v0.11.0 pkg/talos/talos_image_factory_urls_data_source.go: `Installer`
    // from the factory host, platform, schematic and version); mocks that echo their arguments do not
    // (talos-proxmox/testing's do).
    this.installerImage = pulumi.all([urls.installer, schematic.id]).apply(([installer, id]) => {
      if (typeof installer !== "string" || installer === "") {
        throw new Error(
          `TalosImage "${name}": the Image Factory URLs of schematic ${String(id)} have no installer image. ` +
            `Under test mocks, answer talos:imageFactory/getUrls:getUrls as the provider does (TalosProxmoxMocks from talos-proxmox/testing).`,
        );
      }
      return installer;
    });
    this.isoUrl = urls.iso;
    this.isoFileIds = pulumi
      .all(pveNodes.map((pveNode) => this.isoFileIdFor(pveNode)))
      .apply((ids) => Object.fromEntries(pveNodes.map((pveNode, i) => [pveNode, ids[i]])));

    this.registerOutputs({
      schematicId: this.schematicId,
      installerImage: this.installerImage,
      isoUrl: this.isoUrl,
      isoFileIds: this.isoFileIds,
    });
  }

  /** The ISO's file id on a Proxmox node; throws if the image was not downloaded there. */
  isoFileIdFor(pveNode: string): pulumi.Output<string> {
    const file = this.isoFiles.get(pveNode);
    if (!file) {
      throw new Error(
        `TalosImage has no ISO on Proxmox node "${pveNode}" (it has: ${this.pveNodes.join(", ")}). ` +
          `Add "${pveNode}" to the image's pveNodes.`,
      );
    }
    return file.id;
  }
}

function validateTalosImageArgs(args: TalosImageArgs, pveNodes: string[], datastoreId: string): Problem[] {
  const problems: Problem[] = [
    ...checkTalosVersion(args.talosVersion, "args.talosVersion"),
    ...checkExtensions(args.extensions ?? DEFAULT_EXTENSIONS, "args.extensions"),
    ...checkStorageId(datastoreId, "args.datastore"),
    ...checkDuration(args.downloadTimeout ?? "30m", "args.downloadTimeout", 60),
    ...checkDnsLabel(args.fileNamePrefix, "args.fileNamePrefix", "the file name prefix"),
    ...pveNodes.flatMap((pveNode, i) => checkDnsLabel(pveNode, `args.pveNodes[${i}]`, "a Proxmox node name")),
  ];
  if (pveNodes.length === 0) {
    problems.push({
      path: "args.pveNodes",
      message: "is empty: the ISO must go to every Proxmox node that runs a VM. List them.",
    });
  }
  return problems;
}
