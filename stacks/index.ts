/**
 * The talos-proxmox program: one Talos cluster on Proxmox VE per stack, composed from the library's
 * components in the order of the Talos guide. Every ordering comes from data (outputs) or dependsOn;
 * nothing awaits outputs, so independent nodes are built in parallel.
 */
import * as proxmoxve from "@muhlba91/pulumi-proxmoxve";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  CiliumCni,
  configRoll,
  ControlPlane,
  healthGate,
  KubeVip,
  kubernetesReady,
  TalosImage,
  WorkerPool,
} from "../components";
import { throwIfProblems } from "../components/internal/validation";
import {
  checkClusterKept,
  checkControlPlaneScaleDown,
  checkNodesNotReused,
  checkVmSettingsKept,
  ClusterSpec,
  NodePoolSpec,
  readStackConfig,
  recordedCluster,
  RecordedNode,
  recordedVm,
} from "./config";

export = async () => {
  // 1. Read and validate the whole stack config before anything is created. Then compare it with what
  //    the last update recorded (the stack reads its own outputs): a change that would lose quorum,
  //    reboot a whole pool at once, replace a VM in place or rebuild the cluster is refused here, before
  //    any resource is registered, so nothing changes.
  const { cluster, proxmox } = readStackConfig();
  const self = new pulumi.StackReference("previous", {
    name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`,
  });
  const [previousNodes, previousCluster, previousEndpoint] = await Promise.all(
    ["nodes", "cluster", "endpoint"].map(
      async (name): Promise<unknown> => (await self.getOutputDetails(name)).value,
    ),
  );
  throwIfProblems(`Invalid configuration of stack "${pulumi.getStack()}"`, [
    ...checkClusterKept(previousCluster, previousEndpoint, cluster),
    ...checkControlPlaneScaleDown(previousNodes, cluster.controlPlane.nodes.length),
    ...checkVmSettingsKept(previousNodes, cluster),
    ...checkNodesNotReused(previousNodes, cluster),
  ]);
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
      datastore: cluster.image.datastore,
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
      vipProvider: cluster.vip.provider,
      ...(cluster.vip.provider === "kube-vip"
        ? { kubeVipVersion: cluster.kubeVip.version, kubeVipInterface: cluster.kubeVip.interface }
        : {}),
      cni: cluster.cni,
      forwardKubeDnsToHost: cluster.forwardKubeDnsToHost,
      // Without workers, Hubble, kube-vip's cloud provider and every workload need the control planes.
      allowSchedulingOnControlPlanes: cluster.workerPools.length === 0,
      upgrade: cluster.upgrade,
      teardown: cluster.teardown,
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

  // 5. A Kubernetes provider from the control plane's kubeconfig: whatever uses it waits for bootstrap.
  //    Its identity is the cluster name, so a renewed kubeconfig updates it instead of replacing it.
  const kubernetes = new k8s.Provider(`${cluster.name}-kubernetes`, {
    kubeconfig: controlPlane.kubeconfig,
    clusterIdentifier: cluster.name,
  });
  const onKubernetes = { providers: [kubernetes] };

  // 6. Cilium replaces Talos's CNI and kube-proxy; until it runs the nodes stay NotReady.
  const cilium =
    cluster.cni === "cilium"
      ? new CiliumCni(
          `${cluster.name}-cilium`,
          {
            version: cluster.cilium.version,
            hubble: cluster.cilium.hubble,
            hostLegacyRouting: cluster.cilium.hostLegacyRouting,
            loadBalancerRanges: cluster.cilium.l2Announcements.enabled
              ? cluster.cilium.l2Announcements.ranges
              : undefined,
            forwardKubeDnsToHost: cluster.forwardKubeDnsToHost,
            values: cluster.cilium.values,
          },
          onKubernetes,
        )
      : undefined;

  // 7. kube-vip for Services of type LoadBalancer (its cloud provider needs pod networking).
  if (cluster.kubeVip.enabled) {
    new KubeVip(
      `${cluster.name}-kube-vip`,
      {
        serviceRanges: cluster.kubeVip.serviceRanges,
        version: cluster.kubeVip.version,
        cloudProviderVersion: cluster.kubeVip.cloudProviderVersion,
        interface: cluster.kubeVip.interface,
      },
      { ...onKubernetes, dependsOn: cilium ? [cilium] : [] },
    );
  }

  // 8. The whole cluster healthy: Talos's check of every node, then what it skips while the CNI is
  //    "none" (nodes Ready, CoreDNS and Cilium rolled out).
  const healthy = healthGate(
    {
      clientConfiguration: controlPlane.clientConfiguration,
      controlPlaneNodes: controlPlane.nodes.map((n) => n.ip),
      workerNodes: workerPools.flatMap((pool) => pool.nodes.map((n) => n.ip)),
      kubernetes: true,
      timeout: "30m",
    },
    { dependsOn: [...(cilium ? [cilium] : []), ...workerPools] },
  );
  const ready = kubernetesReady(
    `${cluster.name}-ready`,
    {
      clusterName: cluster.name,
      talosVersion: cluster.talosVersion,
      controlPlaneEndpoints: controlPlane.controlPlaneEndpoints.slice(),
      talosconfig: controlPlane.talosconfig,
      cni: cluster.cni,
      nodeNames: [cluster.controlPlane, ...cluster.workerPools].flatMap((pool) =>
        pool.nodes.map((n) => n.name),
      ),
      timeout: "30m",
    },
    { dependsOn: [...(cilium ? [cilium] : []), ...workerPools, controlPlane] },
  );

  // 9. Config changes that need a reboot were staged: once every node is up and Ready (a fresh node
  //    may still be installing until then), reboot those nodes one at a time, drained.
  const allNodes = [...controlPlane.nodes, ...workerPools.flatMap((pool) => pool.nodes)];
  const configsRolled = configRoll(
    `${cluster.name}-config-roll`,
    {
      clusterName: cluster.name,
      talosVersion: cluster.talosVersion,
      controlPlaneEndpoints: controlPlane.controlPlaneEndpoints,
      talosconfig: controlPlane.talosconfig,
      applies: allNodes.map((n) => n.apply),
      cni: cluster.cni,
      order: cluster.upgrade.order,
      maxParallelWorkers: cluster.upgrade.maxParallelWorkers,
    },
    { dependsOn: [...(cilium ? [cilium] : []), controlPlane, ready] },
  );

  // 10. What the next update compares its config with.
  const recorded = (spec: NodePoolSpec, role: string, pool?: string) => {
    const vm = recordedVm(spec, cluster);
    return (n: { name: string; ip: string; vm: { vmId: pulumi.Output<number> } }, i: number) => [
      n.name,
      { role, ...(pool ? { pool } : {}), ip: n.ip, pveNode: spec.nodes[i].pveNode, ...vm, vmId: n.vm.vmId },
    ];
  };
  const nodes = Object.fromEntries([
    ...controlPlane.nodes.map(recorded(cluster.controlPlane, "controlplane")),
    ...workerPools.flatMap((pool, i) =>
      pool.nodes.map(recorded(cluster.workerPools[i], "worker", cluster.workerPools[i].name)),
    ),
  ]) as Record<string, Omit<RecordedNode, "vmId"> & { vmId: pulumi.Output<number> }>;

  return {
    kubeconfig: pulumi.secret(
      pulumi
        .all([controlPlane.kubeconfig, healthy, ready.id, configsRolled.id])
        .apply(([kubeconfig]) => kubeconfig),
    ),
    talosconfig: controlPlane.talosconfig,
    endpoint: controlPlane.endpoint,
    installerImage: image.installerImage,
    // The next update reads these back (step 1).
    nodes,
    cluster: recordedCluster(cluster),
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
    datastore: pool.datastore,
    scsiHardware: pool.scsiHardware,
    prefixLength: cluster.network.prefixLength,
    gateway: cluster.network.gateway,
    nameservers: cluster.network.nameservers,
    bridge: cluster.network.bridge,
    vlanId: cluster.network.vlan,
    configPatches: pool.configPatches,
  };
}
