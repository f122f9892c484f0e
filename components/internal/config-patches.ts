/**
 * Users' own machine-config patches (the escape hatch): they must parse, and must not use fields that
 * Talos v1.13 deprecates, since this library renders v1.13 configs with the documents that replace them
 * (a deprecated `machine.network.hostname` next to the library's HostnameConfig is a conflict Talos
 * refuses at apply time, long after the VMs exist).
 */
import { parseAllDocuments } from "yaml";
import { Problem, show } from "./validation";

/**
 * v1alpha1 fields marked `Deprecated:` in Talos v1.13.9 (pkg/machinery/config/types/v1alpha1/
 * v1alpha1_types.go), with what replaces each.
 */
export const DEPRECATED_FIELDS: Readonly<Record<string, string>> = {
  persist: "nothing (no longer supported): remove it",
  "machine.network":
    "the multi-document network config: HostnameConfig, LinkConfig, ResolverConfig, StaticHostConfig, " +
    "KubeSpanConfig documents (this library already sets the hostname and the VIP that way)",
  "machine.disks": "a UserVolumeConfig document",
  "machine.env": "an EnvironmentConfig document",
  "machine.time": "a TimeSyncConfig document",
  "machine.registries": "RegistryMirrorConfig, RegistryAuthConfig and RegistryTLSConfig documents",
  "machine.systemDiskEncryption": "VolumeConfig documents",
  "machine.install.extraKernelArgs": "extraKernelArgs in the Image Factory schematic",
  "machine.install.extensions": "the image's extensions (cluster.image.extensions, TalosImage extensions)",
  "machine.install.bootloader": "nothing (it never worked): remove it",
  "machine.features.stableHostname": "a HostnameConfig document with auto: stable",
  "cluster.allowSchedulingOnMasters": "cluster.allowSchedulingOnControlPlanes",
  "cluster.etcd.subnet": "cluster.etcd.advertisedSubnets",
};

function has(doc: unknown, dotted: string): boolean {
  let node = doc;
  for (const key of dotted.split(".")) {
    if (typeof node !== "object" || node === null || Array.isArray(node) || !(key in node)) {
      return false;
    }
    node = (node as Record<string, unknown>)[key];
  }
  return true;
}

/** The dotted fields a document touches that Talos deprecates. */
function deprecatedIn(doc: unknown): string[] {
  if (Array.isArray(doc)) {
    // An RFC 6902 JSON patch: its operations' paths, e.g. "/machine/network/hostname".
    return doc.flatMap((op) => {
      const path = (op as { path?: unknown } | null)?.path;
      if (typeof path !== "string") {
        return [];
      }
      const dotted = path.split("/").slice(1).join(".");
      return Object.keys(DEPRECATED_FIELDS).filter(
        (field) => dotted === field || dotted.startsWith(`${field}.`),
      );
    });
  }
  // A typed document (HostnameConfig, ...) has a kind; deprecated fields live in the v1alpha1 one.
  if (typeof doc === "object" && doc !== null && "kind" in doc) {
    return [];
  }
  return Object.keys(DEPRECATED_FIELDS).filter((field) => has(doc, field));
}

/** Problems of a list of patches, each at `${path}[i]`: YAML that does not parse, deprecated fields. */
export function checkConfigPatches(patches: readonly string[], path: string): Problem[] {
  return patches.flatMap((patch, i) => {
    const at = `${path}[${i}]`;
    const documents = parseAllDocuments(patch);
    const errors = documents.flatMap((d) => d.errors);
    if (errors.length > 0) {
      const { message, linePos } = errors[0];
      const where = linePos ? ` (line ${linePos[0].line}, column ${linePos[0].col})` : "";
      return [{ path: at, message: `is not valid YAML${where}: ${message.split("\n")[0]} Fix the patch.` }];
    }
    return documents
      .flatMap((d) => deprecatedIn(d.toJS()))
      .map((field) => ({
        path: at,
        message:
          `sets ${show(field)}, which Talos v1.13 deprecates and this library's v1.13 configs replace. ` +
          `Use ${DEPRECATED_FIELDS[field]} instead.`,
      }));
  });
}
