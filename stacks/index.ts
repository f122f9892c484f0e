/**
 * The talos-proxmox program: one Talos cluster on Proxmox VE per stack, composed from the library's
 * components. Every ordering comes from data (outputs) or explicit dependsOn; nothing awaits outputs.
 */
import * as proxmoxve from "@muhlba91/pulumi-proxmoxve";
import { TalosImage, TalosVm } from "../components";
import { ClusterSpec, NodePoolSpec, NodeSpec, readStackConfig } from "./config";

export = () => {
  // 1. Read and validate the whole stack config before anything is created.
  const { cluster, proxmox } = readStackConfig();
  const proxmoxProvider = new proxmoxve.Provider("proxmox", {
    endpoint: proxmox.endpoint,
    apiToken: proxmox.apiToken,
    insecure: proxmox.insecure,
  });
  const onProxmox = { providers: [proxmoxProvider] };

  // 2. The image: a schematic with the extensions, its ISO on every Proxmox node that hosts a VM.
  const image = new TalosImage(
    `${cluster.name}-image`,
    {
      talosVersion: cluster.talosVersion,
      extensions: cluster.image.extensions,
      pveNodes: allNodes(cluster).map(({ node }) => node.pveNode),
      datastoreId: cluster.image.datastore,
      sharedDatastore: cluster.image.sharedDatastore,
      fileNamePrefix: cluster.name,
    },
    onProxmox,
  );

  // 3. The VMs, all in parallel: each boots the ISO into maintenance mode at its static IP.
  const vms = allNodes(cluster).map(
    ({ node, pool, role }) =>
      new TalosVm(
        node.name,
        {
          role,
          clusterName: cluster.name,
          image,
          pveNode: node.pveNode,
          vmId: node.vmId,
          cores: pool.cores,
          memoryMiB: pool.memoryMiB,
          diskGiB: pool.diskGiB,
          cpuType: pool.cpuType,
          datastoreId: pool.datastore,
          ip: node.ip,
          prefixLength: cluster.network.prefixLength,
          gateway: cluster.network.gateway,
          nameservers: cluster.network.nameservers,
          bridge: cluster.network.bridge,
          vlanId: cluster.network.vlan,
          protect: cluster.protect && role === "controlplane",
        },
        onProxmox,
      ),
  );

  // 4. Next: the control plane (secrets, configs, bootstrap), worker pools, Cilium, kube-vip.

  return {
    schematicId: image.schematicId,
    installerImage: image.installerImage,
    nodes: Object.fromEntries(vms.map((vm) => [vm.hostname, { role: vm.role, ip: vm.ip, vmId: vm.vmId }])),
  };
};

function allNodes(
  cluster: ClusterSpec,
): { node: NodeSpec; pool: NodePoolSpec; role: "controlplane" | "worker" }[] {
  return [
    ...cluster.controlPlane.nodes.map((node) => ({
      node,
      pool: cluster.controlPlane,
      role: "controlplane" as const,
    })),
    ...cluster.workerPools.flatMap((pool) =>
      pool.nodes.map((node) => ({ node, pool, role: "worker" as const })),
    ),
  ];
}
