/**
 * The benchmark's clusters: the `prod` example stack with its control plane and worker pool resized.
 * Everything else (Cilium, kube-vip, Longhorn, protection) stays as `prod` has it, so the figures are
 * those of a real production stack at each size. A single control plane cannot be protected (the
 * stack refuses it); it is the one-node cluster whose time is the lower bound. Without workers it has
 * no Longhorn either (the stack refuses Longhorn without workers).
 */
import { join } from "node:path";
import { parse } from "yaml";
import { formatIPv4, parseIPv4 } from "../../components/internal/ipv4";
import { readProjectName, readStackFile, StackConfig } from "../offline/stack-file";

const PROJECT_DIR = join(__dirname, "..", "..");
const CLUSTER_KEY = "talos-proxmox:cluster";
/** Proxmox nodes the VMs are spread over, round robin. */
const PVE_NODES = ["pve1", "pve2", "pve3"];
/** A /22 holds 300 workers beside the control planes, the VIP and the Service range of `prod`. */
const NETWORK = "10.20.0.0/22";
const FIRST_CONTROL_PLANE_IP = "10.20.0.11";
const FIRST_WORKER_IP = "10.20.1.10";

export interface ClusterSize {
  controlPlanes: number;
  workers: number;
}

/** "3 cp + 30 w" */
export function sizeLabel(size: ClusterSize): string {
  return `${size.controlPlanes} cp + ${size.workers} w`;
}

/**
 * `prod` resized to `size`, as stack `bench-<cp>x<w>`: the stack config as the Pulumi CLI would hand
 * it to the program.
 */
export function stackOfSize(size: ClusterSize): StackConfig {
  const file = readStackFile(join(PROJECT_DIR, "Pulumi.prod.yaml"), readProjectName(PROJECT_DIR), "prod");
  const cluster = parse(file.config[CLUSTER_KEY]) as {
    network: Record<string, unknown>;
    deletionProtection: boolean;
    longhorn: { enabled: boolean };
    controlPlane: { nodes: unknown[] };
    workerPools: { nodes: unknown[] }[];
  };
  cluster.network.cidr = NETWORK;
  cluster.deletionProtection &&= size.controlPlanes >= 3;
  cluster.longhorn.enabled &&= size.workers > 0;
  cluster.controlPlane.nodes = nodes("cp", size.controlPlanes, FIRST_CONTROL_PLANE_IP, 2011);
  cluster.workerPools = size.workers === 0 ? [] : [{ ...cluster.workerPools[0], nodes: [] }];
  if (size.workers > 0) {
    cluster.workerPools[0].nodes = nodes("w", size.workers, FIRST_WORKER_IP, 3001);
  }
  return {
    ...file,
    stack: `bench-${size.controlPlanes}x${size.workers}`,
    config: { ...file.config, [CLUSTER_KEY]: JSON.stringify(cluster) },
  };
}

function nodes(prefix: string, count: number, firstIp: string, firstVmId: number) {
  const first = parseIPv4(firstIp) as number;
  const width = String(count).length;
  return Array.from({ length: count }, (_, i) => ({
    name: `${prefix}-${String(i + 1).padStart(width, "0")}`,
    pveNode: PVE_NODES[i % PVE_NODES.length],
    ip: formatIPv4(first + i),
    vmId: firstVmId + i,
  }));
}
