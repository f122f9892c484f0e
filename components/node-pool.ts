/**
 * What ControlPlane and WorkerPool share: a set of Talos nodes of one shape, each a TalosVm plus the
 * ConfigurationApply that installs Talos on it once the VM exists.
 */
import * as pulumi from "@pulumi/pulumi";
import { parseIPv4 } from "./internal/ipv4";
import { installPatch, Patch, renderPatch } from "./internal/machine-config";
import { NodeRole } from "./internal/node-rules";
import { Problem, show } from "./internal/validation";
import * as talos from "./talos";
import { ClientConfiguration } from "./talos/provider";
import { checkVmPlacement, checkVmShape, TalosVm, VmPlacementArgs, VmShapeArgs } from "./talos-vm";

export interface PoolNodeArgs extends VmPlacementArgs {
  /** Hostname, Proxmox VM name and Kubernetes node name. */
  name: string;
}

export interface NodePoolArgs extends VmShapeArgs {
  /** The nodes, all of this pool's shape. */
  nodes: PoolNodeArgs[];
  /**
   * Extra machine-config patches for every node of the pool (strategic-merge YAML, multi-document
   * allowed), applied after this library's own: the escape hatch for anything not modelled here.
   * @default []
   */
  configPatches?: string[];
}

/** How long a node may take to take its config: install from the factory image, reboot. */
const APPLY_TIMEOUT = "20m";

/** The pool's shape once, each node's placement, and names, IPs and VM ids unique in the pool. */
export function checkNodePool(role: NodeRole, args: NodePoolArgs): Problem[] {
  const problems = [
    ...checkVmShape(role, args, "args"),
    ...args.nodes.flatMap((node, i) =>
      checkVmPlacement({ ...node, hostname: node.name }, args, `args.nodes[${i}]`, "args"),
    ),
    ...duplicates(
      args.nodes.map((n, i) => ({ value: n.name, path: `args.nodes[${i}].name` })),
      "name",
    ),
    ...duplicates(
      args.nodes.map((n, i) => ({ value: parseIPv4(n.ip), path: `args.nodes[${i}].ip` })),
      "address",
    ),
    ...duplicates(
      args.nodes.map((n, i) => ({ value: n.vmId, path: `args.nodes[${i}].vmId` })),
      "VM id",
    ),
  ];
  // The shared gateway is checked against every node's network: report it once.
  return problems.filter(
    (p, i) => problems.findIndex((q) => q.path === p.path && q.message === p.message) === i,
  );
}

/** A problem for each entry whose value an earlier entry already has (undefined values are skipped). */
export function duplicates(entries: { value: unknown; path: string }[], what: string): Problem[] {
  const seen = new Map<unknown, string>();
  const problems: Problem[] = [];
  for (const { value, path } of entries) {
    if (value === undefined) {
      continue;
    }
    const first = seen.get(value);
    if (first) {
      problems.push({
        path,
        message: `${show(value)} is already the ${what} of ${first}. Each node needs its own.`,
      });
    } else {
      seen.set(value, path);
    }
  }
  return problems;
}

export interface PoolNodesInput {
  role: NodeRole;
  clusterName: string;
  args: NodePoolArgs;
  /** Talos API credentials of the cluster. */
  clientConfiguration: pulumi.Output<ClientConfiguration>;
  /** The role's rendered machine configuration (secret). */
  machineConfiguration: pulumi.Output<string>;
  /** This library's patches for a node, besides the install patch. */
  patchesFor: (node: PoolNodeArgs) => Patch[];
  /** Rendered patches that carry credentials: they stay secret, each on its own. */
  secretPatches?: pulumi.Output<string>[];
  protect: boolean;
}

export interface PoolNode {
  name: string;
  ip: string;
  vm: TalosVm;
  apply: talos.machine.ConfigurationApply;
}

/**
 * Creates each node's VM and, once the VM exists, applies its configuration. A fresh VM boots the ISO
 * into maintenance mode at its static IP and takes the config without credentials; the same resource
 * later applies updates with the cluster's client configuration.
 */
export function createPoolNodes(
  parent: pulumi.ComponentResource,
  name: string,
  input: PoolNodesInput,
): PoolNode[] {
  const { args, role } = input;
  const userPatches = args.configPatches ?? [];
  return args.nodes.map((node) => {
    const vm = new TalosVm(
      `${name}-${node.name}`,
      {
        ...args,
        role,
        clusterName: input.clusterName,
        hostname: node.name,
        pveNode: node.pveNode,
        ip: node.ip,
        vmId: node.vmId,
        protect: input.protect,
      },
      { parent },
    );
    const install = args.image.installerImage.apply((installer) =>
      renderPatch(installPatch(vm.installDisk, installer)),
    );
    const apply = new talos.machine.ConfigurationApply(
      `${name}-${node.name}-config`,
      {
        node: node.ip,
        clientConfiguration: input.clientConfiguration,
        machineConfigurationInput: input.machineConfiguration,
        configPatches: [
          install,
          ...input.patchesFor(node).map(renderPatch),
          ...(input.secretPatches ?? []),
          ...userPatches,
        ],
        timeouts: { create: APPLY_TIMEOUT, update: APPLY_TIMEOUT },
      },
      { parent, dependsOn: [vm] },
    );
    return { name: node.name, ip: node.ip, vm, apply };
  });
}
