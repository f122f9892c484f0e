/**
 * Image Factory schematics as data. The factory identifies a schematic by the sha256 of its canonical
 * YAML, so order matters: extensions are sorted and de-duplicated here, and reordering them in the
 * stack config never changes the schematic (hence never triggers an upgrade).
 */
import { EXTENSIONS_RELEASE, OFFICIAL_EXTENSIONS } from "./talos-extensions";
import { nearest, Problem, show } from "./validation";

export const QEMU_GUEST_AGENT = "siderolabs/qemu-guest-agent";
export const ISCSI_TOOLS = "siderolabs/iscsi-tools";
export const UTIL_LINUX_TOOLS = "siderolabs/util-linux-tools";

/** The guide's extensions: the Proxmox guest agent, and what Longhorn needs (iSCSI, util-linux). */
export const DEFAULT_EXTENSIONS: readonly string[] = [QEMU_GUEST_AGENT, ISCSI_TOOLS, UTIL_LINUX_TOOLS];
/** What Longhorn needs on the node: iscsiadm and the util-linux tools (nsenter, ...). */
export const LONGHORN_EXTENSIONS: readonly string[] = [ISCSI_TOOLS, UTIL_LINUX_TOOLS];

/** Names Image Factory serves for the supported Talos minor; anything else is refused by the factory. */
export function checkExtensions(extensions: readonly string[], path: string): Problem[] {
  const problems: Problem[] = [];
  const seen = new Set<string>();
  extensions.forEach((extension, i) => {
    if (!OFFICIAL_EXTENSIONS.includes(extension)) {
      const near =
        nearest(extension, OFFICIAL_EXTENSIONS) ?? nearest(`siderolabs/${extension}`, OFFICIAL_EXTENSIONS);
      problems.push({
        path: `${path}[${i}]`,
        message:
          `${show(extension)} is not an official system extension of Talos ${EXTENSIONS_RELEASE} ` +
          `(siderolabs/extensions). ${near ? `Did you mean ${show(near)}?` : `Use the "siderolabs/<name>" form, e.g. "${QEMU_GUEST_AGENT}".`}`,
      });
    } else if (seen.has(extension)) {
      problems.push({
        path: `${path}[${i}]`,
        message: `${show(extension)} is listed twice. Remove the copy.`,
      });
    }
    seen.add(extension);
  });
  return problems;
}

export function canonicalExtensions(extensions: readonly string[]): string[] {
  return [...new Set(extensions)].sort();
}

/**
 * The schematic YAML in the factory's canonical form (gopkg.in/yaml.v3, four-space indent): the
 * factory's id for it is the sha256 of exactly this text.
 */
export function schematicYaml(extensions: readonly string[]): string {
  const names = canonicalExtensions(extensions);
  if (names.length === 0) {
    return "customization: {}\n";
  }
  return [
    "customization:",
    "    systemExtensions:",
    "        officialExtensions:",
    ...names.map((name) => `            - ${name}`),
    "",
  ].join("\n");
}
