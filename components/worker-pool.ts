import * as pulumi from "@pulumi/pulumi";
import { nodePatches } from "./internal/machine-config";
import { checkNodeLabels, checkNodeTaints } from "./internal/kubernetes-names";
import { Problem, throwIfProblems } from "./internal/validation";
import { ClusterJoinInfo } from "./control-plane";
import { checkNodePool, createPoolNodes, NodePoolArgs, PoolNode } from "./node-pool";
import * as talos from "./talos";

export interface WorkerPoolArgs extends NodePoolArgs {
  /** The cluster to join: usually the ControlPlane. Joining needs its secrets, not its bootstrap. */
  cluster: ClusterJoinInfo;
  /** Kubernetes labels of every node of the pool. @default {} */
  labels?: Record<string, string>;
  /**
   * Kubernetes taints of every node of the pool, in Talos form `key: "value:Effect"`. Each node registers
   * with them (the kubelet's registerWithTaints): a node may not change its own taints, so a change
   * reaches only the nodes that join afterwards; taint the others with kubectl. @default {}
   */
  taints?: Record<string, string>;
  /** Prepare the nodes for Longhorn: /var/lib/longhorn shared with the kubelet. @default false */
  longhorn?: boolean;
}

/**
 * A named pool of worker nodes of one size, labels and taints: their VMs and `worker` configurations.
 * The applies run in parallel with the control plane (a worker needs only the secrets and the
 * endpoint); a worker waits in its install for the API to come up, then joins.
 */
export class WorkerPool extends pulumi.ComponentResource {
  static readonly TYPE = "talos-proxmox:index:WorkerPool";

  /** The worker node IPs. */
  public readonly nodeIps: pulumi.Output<string[]>;
  /** The nodes, with their VMs and config applies. */
  public readonly nodes: readonly PoolNode[];

  constructor(name: string, args: WorkerPoolArgs, opts?: pulumi.ComponentResourceOptions) {
    const problems = validateWorkerPoolArgs(args);
    throwIfProblems(`WorkerPool "${name}"`, [
      ...problems,
      // Checked against the cluster where the pool joins it; recorded only when all of it fits.
      ...(problems.length === 0 ? args.cluster.join(`WorkerPool "${name}"`, args) : []),
    ]);
    super(WorkerPool.TYPE, name, {}, opts);
    const cluster = args.cluster;

    const config = talos.machine.getConfigurationOutput(
      {
        clusterName: cluster.clusterName,
        clusterEndpoint: cluster.endpoint,
        machineSecrets: cluster.machineSecrets,
        machineType: "worker",
        talosVersion: cluster.configContract,
        kubernetesVersion: cluster.kubernetesVersion,
        docs: false,
        examples: false,
      },
      { parent: this },
    );
    this.nodes = createPoolNodes(this, name, {
      role: "worker",
      args,
      cluster,
      machineConfiguration: config.machineConfiguration,
      protect: false,
      patchesFor: (node) =>
        nodePatches({
          role: "worker",
          hostname: node.name,
          ip: node.ip,
          cni: cluster.cni,
          forwardKubeDnsToHost: cluster.forwardKubeDnsToHost,
          longhorn: args.longhorn ?? false,
          nodeLabels: args.labels,
          registerTaints: args.taints,
        }),
    });
    this.nodeIps = pulumi.output(this.nodes.map((n) => n.ip));
    this.registerOutputs({ nodeIps: this.nodeIps });
  }
}

function validateWorkerPoolArgs(args: WorkerPoolArgs): Problem[] {
  const problems = [
    ...checkNodePool("worker", args),
    ...checkNodeLabels(args.labels ?? {}, "args.labels"),
    ...checkNodeTaints(args.taints ?? {}, "args.taints"),
  ];
  if (args.nodes.length === 0) {
    problems.push({
      path: "args.nodes",
      message: "is empty. A pool needs at least one node; remove the pool instead.",
    });
  }
  return problems;
}
