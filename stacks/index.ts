/**
 * The talos-proxmox program: one Talos cluster on Proxmox VE per stack, composed from the library's
 * components in the order of the Talos guide. Every ordering comes from data (outputs) or dependsOn;
 * nothing awaits outputs, so independent nodes are built in parallel.
 */
import * as proxmoxve from "@muhlba91/pulumi-proxmoxve";
import * as pulumi from "@pulumi/pulumi";
import { ControlPlane, TalosImage, WorkerPool } from "../components";
import { ClusterSpec, NodePoolSpec, readStackConfig } from "./config";

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
      pveNodes: [cluster.controlPlane, ...cluster.workerPools].flatMap((pool) =>
        pool.nodes.map((n) => n.pveNode),
      ),
      datastoreId: cluster.image.datastore,
      sharedDatastore: cluster.image.sharedDatastore,
      fileNamePrefix: cluster.name,
    },
    onProxmox,
  );

  // 3. The control plane: secrets, VMs booting into maintenance mode, config apply per node, one etcd
  //    bootstrap, kubeconfig and talosconfig.
  const controlPlane = new ControlPlane(
    cluster.name,
    {
      ...poolArgs(cluster, cluster.controlPlane, image),
      clusterName: cluster.name,
      talosVersion: cluster.talosVersion,
      kubernetesVersion: cluster.kubernetesVersion,
      vip: cluster.vip.ip,
      cni: cluster.cni,
      protect: cluster.protect,
    },
    onProxmox,
  );

  // 4. Worker pools, in parallel with the control plane: they need its secrets, not its bootstrap.
  const workerPools = cluster.workerPools.map(
    (pool) =>
      new WorkerPool(
        `${cluster.name}-${pool.name}`,
        {
          ...poolArgs(cluster, pool, image),
          cluster: controlPlane,
          labels: pool.labels,
          taints: pool.taints,
          longhorn: cluster.longhorn.enabled,
        },
        onProxmox,
      ),
  );

  return {
    kubeconfig: controlPlane.kubeconfig,
    talosconfig: controlPlane.talosconfig,
    endpoint: controlPlane.endpoint,
    installerImage: image.installerImage,
    nodes: Object.fromEntries([
      ...controlPlane.nodes.map((n) => [n.name, { role: "controlplane", ip: n.ip, vmId: n.vm.vmId }]),
      ...workerPools.flatMap((pool, i) =>
        pool.nodes.map((n) => [
          n.name,
          { role: "worker", pool: cluster.workerPools[i].name, ip: n.ip, vmId: n.vm.vmId },
        ]),
      ),
    ]) as Record<string, { role: string; pool?: string; ip: string; vmId: pulumi.Output<number> }>,
  };
};

/** The VM shape and nodes of a pool, from the cluster's network and the pool's settings. */
function poolArgs(cluster: ClusterSpec, pool: NodePoolSpec, image: TalosImage) {
  return {
    image,
    nodes: pool.nodes,
    cores: pool.cores,
    memoryMiB: pool.memoryMiB,
    diskGiB: pool.diskGiB,
    cpuType: pool.cpuType,
    datastoreId: pool.datastore,
    prefixLength: cluster.network.prefixLength,
    gateway: cluster.network.gateway,
    nameservers: cluster.network.nameservers,
    bridge: cluster.network.bridge,
    vlanId: cluster.network.vlan,
    configPatches: pool.configPatches,
  };
}
