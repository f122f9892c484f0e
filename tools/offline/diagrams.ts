/**
 * The plan's Mermaid diagrams: where everything runs (`topology.mmd`) and in which order it is
 * created (`deployment.mmd`). Pure functions of the run; output is byte-stable.
 */
import { OfflineRun, ResourceRecord } from "./engine";
import { dependencyGraph } from "./graph";
import { nodesOf } from "./render";

const LAYER2_VIP_KIND = /^kind: Layer2VIPConfig$/m;

/**
 * Proxmox nodes with their VMs (role, IP, VM id), the API VIP and who holds it, and the addresses
 * Services of type LoadBalancer get and who announces them.
 */
export function topologyMermaid(run: OfflineRun): string {
  const nodes = nodesOf(run);
  const pveNodes = [...new Set(nodes.map((n) => n.pveNode))].sort();
  const lines = ["flowchart TB"];
  const endpoint = typeof run.outputs?.endpoint === "string" ? run.outputs.endpoint : undefined;
  if (endpoint) {
    lines.push(`  vip(["Kubernetes API ${endpoint}<br/>VIP held by ${vipHolder(run)}"])`);
  }
  const pools = loadBalancerPools(run);
  pools.forEach((pool, i) => lines.push(`  lb${i}[/"LoadBalancer Services<br/>${pool}"/]`));
  pveNodes.forEach((pveNode, p) => {
    lines.push(`  subgraph pve${p}["Proxmox node ${pveNode}"]`);
    nodes.forEach((n, i) => {
      if (n.pveNode === pveNode) {
        const role = n.role === "controlplane" ? "control plane" : "worker";
        lines.push(`    vm${i}["${n.name}<br/>${role}<br/>${n.ip}<br/>vmid ${String(n.vmId)}"]`);
      }
    });
    lines.push("  end");
  });
  if (endpoint) {
    nodes.forEach((n, i) => n.role === "controlplane" && lines.push(`  vip -.- vm${i}`));
  }
  pools.forEach((_, i) => pveNodes.forEach((_, p) => lines.push(`  lb${i} -.- pve${p}`)));
  lines.push(
    "  classDef controlplane fill:#dbeafe,stroke:#1d4ed8",
    "  classDef worker fill:#dcfce7,stroke:#15803d",
    "  classDef address fill:#fef9c3,stroke:#a16207",
  );
  nodes.forEach((n, i) => lines.push(`  class vm${i} ${n.role}`));
  const addresses = [...(endpoint ? ["vip"] : []), ...pools.map((_, i) => `lb${i}`)];
  if (addresses.length > 0) {
    lines.push(`  class ${addresses.join(",")} address`);
  }
  return `${lines.join("\n")}\n`;
}

/** Talos's own VIP (a Layer2VIPConfig in the control planes' configs) or kube-vip's static pods. */
function vipHolder(run: OfflineRun): string {
  const talosVip = run.resources.some(
    (r) =>
      r.type === "talos:machine/configurationApply:ConfigurationApply" &&
      ((r.inputs.configPatches as unknown[] | undefined) ?? []).some(
        (p) => typeof p === "string" && LAYER2_VIP_KIND.test(p),
      ),
  );
  return talosVip ? "Talos on one control plane" : "kube-vip on one control plane";
}

/** "a-b, c-d (kube-vip, global)" per kube-vip scope, and Cilium's L2 pool. */
function loadBalancerPools(run: OfflineRun): string[] {
  const pools: string[] = [];
  for (const r of run.resources) {
    const inputs = r.inputs as {
      kind?: string;
      metadata?: { name?: string };
      data?: Record<string, string>;
      spec?: { blocks?: { start?: string; stop?: string; cidr?: string }[] };
    };
    if (inputs.kind === "ConfigMap" && inputs.metadata?.name === "kubevip") {
      for (const [key, value] of Object.entries(inputs.data ?? {}).sort()) {
        const [kind, ...scope] = key.split("-");
        pools.push(`${value} (${kind === "cidr" ? "CIDR" : "range"}, kube-vip, ${scope.join("-")})`);
      }
    } else if (inputs.kind === "CiliumLoadBalancerIPPool") {
      const blocks = (inputs.spec?.blocks ?? []).map((b) => b.cidr ?? `${b.start}-${b.stop}`);
      pools.push(`${blocks.join(", ")} (Cilium L2 announcements)`);
    }
  }
  return pools;
}

/**
 * The order of creation: custom resources grouped by the component they belong to and their type,
 * an arrow where one group waits on another (only arrows no longer path implies). It reads the same
 * at any cluster size: more nodes make groups larger, never the chain longer.
 */
export function deploymentMermaid(run: OfflineRun): string {
  const graph = dependencyGraph(run);
  const typeOf = new Map(run.resources.map((r) => [r.urn, r.type]));
  const groups = new Map<string, Group>();
  const groupOf = new Map<string, Group>();
  for (const r of graph.resources) {
    const component = graph.topComponent(r);
    // The direct parent's type tells a rollout command (ClusterUpgrade) from decommission commands.
    const key = `${component?.urn ?? ""}|${r.parent ? typeOf.get(r.parent) : ""}|${r.type}`;
    let group = groups.get(key);
    if (!group) {
      group = { id: `g${groups.size}`, members: [], component };
      groups.set(key, group);
    }
    group.members.push(r);
    groupOf.set(r.urn, group);
  }

  const edges = new Map<Group, Set<Group>>();
  for (const r of graph.resources) {
    const to = groupOf.get(r.urn) as Group;
    for (const u of graph.upstream(r)) {
      const from = groupOf.get(u.urn) as Group;
      if (from !== to) {
        edges.set(from, (edges.get(from) ?? new Set()).add(to));
      }
    }
  }

  const lines = ["flowchart LR"];
  const byComponent = new Map<ResourceRecord | undefined, Group[]>();
  for (const group of groups.values()) {
    byComponent.set(group.component, [...(byComponent.get(group.component) ?? []), group]);
  }
  [...byComponent].forEach(([component, members], i) => {
    if (component) {
      lines.push(`  subgraph c${i}["${shortType(component.type)} ${component.name}"]`);
    }
    const indent = component ? "    " : "  ";
    members.forEach((group) => lines.push(`${indent}${group.id}["${groupLabel(group.members)}"]`));
    if (component) {
      lines.push("  end");
    }
  });
  for (const [from, tos] of transitiveReduction(edges)) {
    tos.forEach((to) => lines.push(`  ${from.id} --> ${to.id}`));
  }
  return `${lines.join("\n")}\n`;
}

interface Group {
  id: string;
  members: ResourceRecord[];
  /** The component directly under the stack it belongs to; none for stack-level resources. */
  component?: ResourceRecord;
}

/** "VmLegacy" for a resource type, "provider kubernetes" for a provider, "getHealth" for an invoke. */
export function shortType(type: string): string {
  const short = type.split(":").pop() as string;
  return type.startsWith("pulumi:providers:") ? `provider ${short}` : short;
}

/** "Bootstrap<br/>homelab-bootstrap", or "VmLegacy ×300<br/>prod-general-w-001 …" for a group. */
function groupLabel(members: ResourceRecord[]): string {
  const type = shortType(members[0].type);
  return members.length === 1
    ? `${type}<br/>${members[0].name}`
    : `${type} ×${members.length}<br/>${members[0].name} …`;
}

/** Drops each arrow a longer path already implies. Arrows of a cycle, if any, are all kept. */
function transitiveReduction<T>(edges: Map<T, Set<T>>): Map<T, Set<T>> {
  const reaches = (from: T, to: T, skip: T): boolean => {
    const seen = new Set<T>();
    const pending = [...(edges.get(from) ?? [])].filter((n) => n !== skip);
    while (pending.length > 0) {
      const n = pending.pop() as T;
      if (n === to) {
        return true;
      }
      if (!seen.has(n)) {
        seen.add(n);
        pending.push(...(edges.get(n) ?? []));
      }
    }
    return false;
  };
  const reduced = new Map<T, Set<T>>();
  for (const [from, tos] of edges) {
    const kept = [...tos].filter((to) => !reaches(from, to, to) || reaches(to, from, from));
    reduced.set(from, new Set(kept));
  }
  return reduced;
}
