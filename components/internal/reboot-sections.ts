/**
 * Which machine-config changes take a reboot to take effect, per Talos minor. The config roll reboots
 * the nodes they touch (components/config-roll.ts) and the impact report says so (tools/offline/changes.ts).
 *
 * - v1.13 decides itself: a change outside the sections it applies live is refused in immediate mode and
 *   staged by the Talos provider's `staged_if_needing_reboot` dry run ({@link TALOS_113_LIVE_SECTIONS}).
 * - v1.14 applies every change live and never says one needs a reboot (talos v1.14.1
 *   internal/app/machined/internal/server/v1alpha1/v1alpha1_server.go ApplyConfiguration: AUTO is
 *   NO_REBOOT; CanApplyImmediate is gone), so the provider never stages. What only a reboot picks up is
 *   Talos's own list ({@link TALOS_114_REBOOT_SECTIONS}), which the library finds itself.
 */
import { createHash } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { parseAllDocuments } from "yaml";
import { TALOS_SUPPORT } from "./versions";

/**
 * The v1alpha1 sections Talos v1.13 applies to a running node without a reboot: everything else needs
 * one (siderolabs/talos v1.13.9 internal/app/machined/pkg/runtime/v1alpha1/v1alpha1_runtime.go,
 * CanApplyImmediate, which compares only the v1alpha1 document: the other documents always apply live).
 * YAML names from pkg/machinery/config/types/v1alpha1/v1alpha1_types.go.
 */
export const TALOS_113_LIVE_SECTIONS = [
  "debug",
  "cluster",
  ...[
    "ca",
    "acceptedCAs",
    "time",
    "certSANs",
    "install",
    "network",
    "sysfs",
    "sysctls",
    "logging",
    "controlPlane",
    "kubelet",
    "kernel",
    "registries",
    "pods",
    "seccompProfiles",
    "nodeAnnotations",
    "nodeLabels",
    "nodeTaints",
  ].map((key) => `machine.${key}`),
  ...["kubernetesTalosAPIAccess", "kubePrism", "hostDNS", "imageCache", "nodeAddressSortAlgorithm"].map(
    (key) => `machine.features.${key}`,
  ),
];

/**
 * The v1alpha1 sections a Talos v1.14 node applies but only a reboot puts in effect. Talos's list
 * (siderolabs/docs daf3cbe, public/talos/v1.14/configure-your-talos-cluster/system-configuration/
 * editing-machine-configuration.mdx, "Changes which might need a reboot", which says it is not
 * exhaustive): `.cluster.etcd` (etcd reads it when it starts; Talos does not restart it), the environment,
 * kernel modules (never unloaded; parameters only at first load), volume encryption keys. And
 * `machine.files`, which Talos writes only while booting (talos v1.14.1 internal/app/machined/pkg/runtime/
 * v1alpha1/v1alpha1_sequencer_tasks.go WriteUserFiles, a boot task): kube-vip's kubeconfig is one.
 */
export const TALOS_114_REBOOT_SECTIONS = [
  "cluster.etcd",
  "machine.env",
  "machine.kernel.modules",
  "machine.files",
  "machine.systemDiskEncryption",
];

/** Documents whose every change takes a v1.14 node's reboot (the same list): environment, kernel modules. */
export const TALOS_114_REBOOT_DOCUMENTS = ["EnvironmentConfig", "KernelModuleConfig"];

/** The documents of a list of patches (YAML text, possibly several documents each, or already parsed). */
export function patchDocuments(patches: readonly unknown[]): unknown[] {
  return patches.flatMap((patch) =>
    typeof patch === "string" ? parseAllDocuments(patch).map((doc) => doc.toJS() as unknown) : [patch],
  );
}

const under = (dotted: string, section: string) => dotted === section || dotted.startsWith(`${section}.`);

/** The dotted path of an RFC 6902 operation, "" when it has none. */
function operationPath(op: unknown): string {
  const path = (op as { path?: unknown } | null)?.path;
  return typeof path === "string" ? path.split("/").slice(1).join(".") : "";
}

/**
 * What of the documents can need a reboot on a node of `minor` (the part whose change takes one): equal
 * for two sets of documents exactly when going from one to the other needs no reboot.
 */
export function rebootRelevant(documents: readonly unknown[], minor: string): unknown[] {
  return TALOS_SUPPORT[minor]?.rebootChanges === "live"
    ? documents.flatMap(rebootSections114)
    : documents.flatMap(outsideLiveSections113);
}

/** Whether going from one set of patch documents to the other needs a reboot on a node of `minor`. */
export function needsReboot(before: readonly unknown[], after: readonly unknown[], minor: string): boolean {
  return !isDeepStrictEqual(rebootRelevant(before, minor), rebootRelevant(after, minor));
}

/**
 * A node config's reboot digest: the SHA-256 of what of its rendered config and patches needs a v1.14
 * node's reboot. The config roll compares it with the digest of the config the node last booted into.
 */
export function rebootDigest(configs: readonly unknown[]): string {
  const relevant = rebootRelevant(patchDocuments(configs), "v1.14");
  return createHash("sha256").update(JSON.stringify(relevant)).digest("hex").slice(0, 16);
}

function outsideLiveSections113(doc: unknown): unknown[] {
  const live = (dotted: string) => TALOS_113_LIVE_SECTIONS.some((section) => under(dotted, section));
  if (Array.isArray(doc)) {
    return doc.filter((op) => !live(operationPath(op)));
  }
  if (typeof doc !== "object" || doc === null || "kind" in doc) {
    return [];
  }
  const kept = withoutLive(doc as Record<string, unknown>, [], live);
  return Object.keys(kept).length > 0 ? [kept] : [];
}

function withoutLive(
  node: Record<string, unknown>,
  path: string[],
  live: (dotted: string) => boolean,
): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    const at = [...path, key];
    if (live(at.join("."))) {
      continue;
    }
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      // A mapping left empty once its live sections are gone holds nothing that needs a reboot.
      const inner = withoutLive(value as Record<string, unknown>, at, live);
      if (Object.keys(inner).length > 0 || Object.keys(value).length === 0) {
        kept[key] = inner;
      }
    } else {
      kept[key] = value;
    }
  }
  return kept;
}

function rebootSections114(doc: unknown): unknown[] {
  if (Array.isArray(doc)) {
    // An operation inside a section, or on a mapping that holds one (`add /machine`), can change it.
    return doc.filter((op) => {
      const dotted = operationPath(op);
      return TALOS_114_REBOOT_SECTIONS.some((section) => under(dotted, section) || under(section, dotted));
    });
  }
  if (typeof doc !== "object" || doc === null) {
    return [];
  }
  const record = doc as Record<string, unknown>;
  if ("kind" in record) {
    if (typeof record.kind === "string" && TALOS_114_REBOOT_DOCUMENTS.includes(record.kind)) {
      return [record];
    }
    // Volume documents (VolumeConfig, UserVolumeConfig, RawVolumeConfig, SwapVolumeConfig): their keys.
    return "encryption" in record
      ? [{ kind: record.kind, name: record.name, encryption: record.encryption }]
      : [];
  }
  const picked: Record<string, unknown> = {};
  for (const section of TALOS_114_REBOOT_SECTIONS) {
    const keys = section.split(".");
    let value: unknown = record;
    for (const key of keys) {
      value =
        typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;
    }
    if (value !== undefined) {
      picked[section] = value;
    }
  }
  return Object.keys(picked).length > 0 ? [picked] : [];
}
