/**
 * Views of an offline run: the console tree, `resources.json`, `outputs.json` and per-node
 * machine-config patches (the diagrams are in diagrams.ts). Pure functions of the run; output is
 * byte-stable.
 */
import { OfflineRun, ResourceRecord, SECRET, STACK_TYPE } from "./engine";

const VM_TYPE = "proxmoxve:index/vmLegacy:VmLegacy";
const CONFIG_APPLY_TYPE = "talos:machine/configurationApply:ConfigurationApply";

/** JSON with sorted keys and a trailing newline, so equal data is equal bytes. */
export function stableJson(value: unknown): string {
  return `${JSON.stringify(sortKeys(value), null, 2)}\n`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(sortKeys);
  }
  if (typeof value !== "object" || value === null) {
    return value;
  }
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
  );
}

/** Every resource in registration order, as the plan's `resources.json`. */
export function resourcesJson(run: OfflineRun): string {
  return stableJson(
    run.resources.map((r) => ({
      urn: r.urn,
      type: r.type,
      name: r.name,
      custom: r.custom,
      parent: r.parent,
      inputs: r.inputs,
      dependencies: r.dependencies,
      options: r.options,
    })),
  );
}

export function outputsJson(run: OfflineRun): string {
  return stableJson(run.outputs ?? {});
}

export interface NodeView {
  name: string;
  role: string;
  ip: string;
  pveNode: string;
  vmId: unknown;
  cores: unknown;
  memoryMiB: unknown;
  diskGiB: unknown;
}

/** The Talos nodes, read back from the VMs' inputs. */
export function nodesOf(run: Pick<OfflineRun, "resources">): NodeView[] {
  return run.resources
    .filter((r) => r.type === VM_TYPE)
    .map((r) => {
      const inputs = r.inputs as {
        name: string;
        nodeName: string;
        vmId?: number;
        tags?: string[];
        cpu?: { cores?: number };
        memory?: { dedicated?: number };
        disks?: { size?: number }[];
        initialization?: { ipConfigs?: { ipv4?: { address?: string } }[] };
      };
      const address = inputs.initialization?.ipConfigs?.[0]?.ipv4?.address ?? "";
      return {
        name: inputs.name,
        role: inputs.tags?.includes("controlplane") ? "controlplane" : "worker",
        ip: address.split("/")[0],
        pveNode: inputs.nodeName,
        vmId: inputs.vmId ?? "auto",
        cores: inputs.cpu?.cores,
        memoryMiB: inputs.memory?.dedicated,
        diskGiB: inputs.disks?.[0]?.size,
      };
    });
}

/**
 * Per node, every machine-config patch document applied to it (multi-document YAML). Secrets stay
 * redacted. A node appears once the program applies a configuration to it.
 */
export function machineConfigs(run: OfflineRun): Map<string, string> {
  const byIp = new Map(nodesOf(run).map((n) => [n.ip, n]));
  const files = new Map<string, string>();
  for (const apply of run.resources.filter((r) => r.type === CONFIG_APPLY_TYPE)) {
    const ip = String(apply.inputs.node);
    const node = byIp.get(ip);
    const patches = (apply.inputs.configPatches as unknown[] | undefined) ?? [];
    const header = `# ${node?.name ?? ip} (${node?.role ?? "unknown role"}, ${ip}): patches of ${apply.name}\n`;
    const docs = patches.map((p) => (p === SECRET ? `# ${SECRET}\n` : String(p)));
    files.set(node?.name ?? ip, header + docs.map((d) => `---\n${d.endsWith("\n") ? d : `${d}\n`}`).join(""));
  }
  return files;
}

/** A readable tree of what would be created, parents before children. */
export function renderTree(run: OfflineRun): string {
  const children = new Map<string | null, ResourceRecord[]>();
  for (const r of run.resources) {
    const siblings = children.get(r.parent) ?? [];
    siblings.push(r);
    children.set(r.parent, siblings);
  }
  const lines: string[] = [];
  const walk = (r: ResourceRecord, prefix: string, last: boolean, root: boolean): void => {
    const branch = root ? "" : last ? "└─ " : "├─ ";
    const details = describe(r);
    lines.push(`${prefix}${branch}${r.type}  ${r.name}${details ? `  (${details})` : ""}`);
    const kids = children.get(r.urn) ?? [];
    const nextPrefix = root ? "" : prefix + (last ? "   " : "│  ");
    kids.forEach((kid, i) => walk(kid, nextPrefix, i === kids.length - 1, false));
  };
  for (const root of children.get(null) ?? []) {
    walk(root, "", true, true);
  }
  const custom = run.resources.filter((r) => r.custom).length;
  const components = run.resources.filter((r) => !r.custom && r.type !== STACK_TYPE).length;
  const calls = run.invokes.length;
  lines.push(
    "",
    `${custom} resources, ${components} components, ${calls} provider ${calls === 1 ? "call" : "calls"}.`,
  );
  return `${lines.join("\n")}\n`;
}

function describe(r: ResourceRecord): string {
  const flags = r.options.protect ? ["protected"] : [];
  const i = r.inputs;
  if (r.type === VM_TYPE) {
    const node = nodesOf({ resources: [r] })[0];
    flags.unshift(
      `${node.role} on ${node.pveNode}, ${node.ip}, vmid ${String(node.vmId)}, ` +
        `${String(node.cores)} cores, ${String(node.memoryMiB)} MiB, ${String(node.diskGiB)} GiB`,
    );
  } else if (r.type === "proxmoxve:download/file:File") {
    flags.unshift(`${String(i.datastoreId)}:iso on ${String(i.nodeName)}`);
  } else if (r.type === CONFIG_APPLY_TYPE) {
    flags.unshift(`to ${String(i.node)}`);
  }
  return flags.join(", ");
}
