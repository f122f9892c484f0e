/**
 * What ControlPlane and WorkerPool share: a set of Talos nodes of one shape, each a TalosVm, a
 * decommission command that takes the node out of the cluster before its VM goes, and the
 * ConfigurationApply that installs Talos on it once the VM exists.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { checkConfigPatches, credentialsIn } from "./internal/config-patches";
import { parseIPv4 } from "./internal/ipv4";
import { installPatch, Patch, renderPatch } from "./internal/machine-config";
import { NodeRole } from "./internal/node-rules";
import {
  APPLY_GATE_SCRIPT,
  DECOMMISSION_SCRIPT,
  digestOf,
  NO_PREVIOUS_OUTPUT,
  SCRIPT_INTERPRETER,
} from "./internal/scripts";
import { Problem, show } from "./internal/validation";
import { talosMinor } from "./internal/versions";
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
   * allowed, or RFC 6902 JSON patches), applied after this library's own: the escape hatch for anything
   * not modelled here. Fields Talos v1.13 deprecates (`machine.network`, ...) are refused. A patch that
   * holds credentials (a RegistryAuthConfig password, ...) is passed as a secret.
   * @default []
   */
  configPatches?: string[];
}

/** How long a node may take to take its config: install from the factory image, reboot. */
const APPLY_TIMEOUT = "20m";
/** How long draining a node (and leaving etcd) may take before its removal fails. */
const RESET_TIMEOUT = "20m";

/** What every node of a cluster shares for its life cycle: credentials, endpoints, the roll. */
export interface NodeLifecycle {
  /** The cluster name: Talos cluster name, kubeconfig context, Proxmox tag. */
  readonly clusterName: string;
  /** The Talos version the nodes run, e.g. "v1.14.1". */
  readonly talosVersion: string;
  /** Talos API client credentials (secret). */
  readonly clientConfiguration: pulumi.Output<ClientConfiguration>;
  /** The talosconfig (secret); it reaches the lifecycle commands on stdin. */
  readonly talosconfig: pulumi.Output<string>;
  /** Control-plane node IPs: the Talos API endpoints (never the VIP). */
  readonly controlPlaneEndpoints: readonly string[];
  /** Config applies wait for it, so they never run ahead of an upgrade. */
  readonly rollout: pulumi.Resource;
  /** The whole cluster is going: removing a node skips the drain and the etcd leave. */
  readonly teardown: boolean;
}

/** The pool's shape once, each node's placement, and names, IPs and VM ids unique in the pool. */
export function checkNodePool(role: NodeRole, args: NodePoolArgs): Problem[] {
  const problems = [
    ...checkVmShape(role, args, "args"),
    ...checkConfigPatches(args.configPatches ?? [], "args.configPatches"),
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
  args: NodePoolArgs;
  cluster: NodeLifecycle;
  /** The role's rendered machine configuration (secret). */
  machineConfiguration: pulumi.Output<string>;
  /** This library's patches for a node, besides the install patch. */
  patchesFor: (node: PoolNodeArgs) => Patch[];
  /** Rendered patches that carry credentials: they stay secret, each on its own. */
  secretPatches?: pulumi.Output<string>[];
  protect: boolean;
}

export interface PoolNode {
  /** The node name: hostname, VM name and Kubernetes node name. */
  name: string;
  /** The node's static IP. */
  ip: string;
  /** Its VM. */
  vm: TalosVm;
  /** Its delete drains the node (a control plane also leaves etcd) before the VM is deleted. */
  decommission: command.local.Command;
  /** The config apply that installs Talos on the node and keeps its config current. */
  apply: talos.machine.ConfigurationApply;
}

/**
 * Creates each node's VM and, once the VM exists, applies its configuration. A fresh VM boots the ISO
 * into maintenance mode at its static IP and takes the config without credentials; the same resource
 * later applies updates with the cluster's client configuration, after any roll.
 *
 * Removal runs in reverse: the apply goes (a no-op), then the decommission command drains the node
 * (a control plane also leaves etcd), then the VM is deleted.
 */
export function createPoolNodes(
  parent: pulumi.ComponentResource,
  name: string,
  input: PoolNodesInput,
): PoolNode[] {
  const { args, role, cluster } = input;
  // A patch with credentials (a registry password...) stays secret in state and in every plan.
  const userPatches = (args.configPatches ?? []).map((patch) =>
    credentialsIn(patch).length > 0 ? pulumi.secret(patch) : patch,
  );
  return args.nodes.map((node) => {
    const vm = new TalosVm(
      `${name}-${node.name}`,
      {
        ...args,
        role,
        clusterName: cluster.clusterName,
        hostname: node.name,
        pveNode: node.pveNode,
        ip: node.ip,
        vmId: node.vmId,
        deletionProtection: input.protect,
      },
      { parent },
    );
    const decommission = new command.local.Command(
      `${name}-${node.name}-decommission`,
      {
        interpreter: SCRIPT_INTERPRETER,
        addPreviousOutputInEnv: NO_PREVIOUS_OUTPUT,
        create: "true",
        delete: DECOMMISSION_SCRIPT,
        environment: {
          CLUSTER: cluster.clusterName,
          NODE_NAME: node.name,
          NODE_IP: node.ip,
          ROLE: role,
          TALOS_MINOR: talosMinor(cluster.talosVersion),
          CONTROL_PLANE_ENDPOINTS: cluster.controlPlaneEndpoints.join(" "),
          TEARDOWN: String(cluster.teardown),
          RESET_TIMEOUT,
        },
        stdin: cluster.talosconfig,
      },
      // Protected with the VM, or a refused VM deletion would come after the node was already drained.
      { parent, dependsOn: [vm], protect: input.protect },
    );
    const install = args.image.installerImage.apply((installer) =>
      renderPatch(installPatch(vm.installDisk, installer)),
    );
    const configPatches = [
      install,
      ...input.patchesFor(node).map(renderPatch),
      ...(input.secretPatches ?? []),
      ...userPatches,
    ];
    // The provider's dry run, which decides between staging a change and applying it in auto mode,
    // falls back to auto on any error (terraform-provider-talos v0.11.0
    // talos_machine_configuration_apply_resource.go handleRebootPrevention: "Cannot check reboot
    // requirement"), and auto reboots the node at once, undrained, when the change needs it (talos
    // v1.13.9 v1alpha1_server.go ApplyConfiguration). So whenever what the apply sends changes, this
    // command runs first and lets it go ahead only while the node answers and is idle. A new node has
    // nothing to check: it installs from maintenance mode.
    const gate = new command.local.Command(
      `${name}-${node.name}-apply-gate`,
      {
        interpreter: SCRIPT_INTERPRETER,
        addPreviousOutputInEnv: NO_PREVIOUS_OUTPUT,
        create: "true",
        update: APPLY_GATE_SCRIPT,
        environment: {
          CLUSTER: cluster.clusterName,
          NODE_NAME: node.name,
          NODE_IP: node.ip,
          TALOS_MINOR: talosMinor(cluster.talosVersion),
          CONTROL_PLANE_ENDPOINTS: cluster.controlPlaneEndpoints.join(" "),
          CONFIG_DIGEST: digestOf(
            [input.machineConfiguration, ...configPatches],
            `the config apply of ${node.name}`,
          ),
        },
        stdin: cluster.talosconfig,
      },
      { parent, dependsOn: [vm, cluster.rollout] },
    );
    const apply = new talos.machine.ConfigurationApply(
      `${name}-${node.name}-config`,
      {
        node: node.ip,
        clientConfiguration: cluster.clientConfiguration,
        machineConfigurationInput: input.machineConfiguration,
        configPatches,
        // A change Talos applies live (v1.13.9 CanApplyImmediate: .cluster, kubelet, labels, taints, the
        // install image, ...) lands at once; one that needs a reboot is staged, after a dry run
        // (terraform-provider-talos v0.11.0 handleRebootPrevention), and the cluster's config roll
        // reboots the nodes one at a time. A v1.14 node answers every dry run NO_REBOOT, so everything
        // lands live and the config roll finds what needs a reboot itself (reboot-sections.ts). A fresh
        // node in maintenance mode resolves to auto and installs.
        applyMode: "staged_if_needing_reboot",
        timeouts: { create: APPLY_TIMEOUT, update: APPLY_TIMEOUT },
      },
      { parent, dependsOn: [vm, decommission, cluster.rollout, gate] },
    );
    return { name: node.name, ip: node.ip, vm, decommission, apply };
  });
}
