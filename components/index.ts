/**
 * talos-proxmox: Pulumi components for Talos Linux Kubernetes clusters on Proxmox VE.
 */
export { TalosCluster, readLastUpdate } from "./talos-cluster";
export type {
  LastUpdate,
  LastUpdateOutputs,
  TalosClusterArgs,
  TalosClusterPoolArgs,
  TalosClusterWorkerPoolArgs,
} from "./talos-cluster";
export { TalosImage, TALOS_ARCHITECTURE, TALOS_PLATFORM } from "./talos-image";
export type { TalosImageArgs } from "./talos-image";
export { TalosVm, INSTALL_DISK } from "./talos-vm";
export type { TalosVmArgs } from "./talos-vm";
export { ControlPlane } from "./control-plane";
export type { ClusterAddresses, ClusterJoinInfo, ControlPlaneArgs, VipProvider } from "./control-plane";
export { WorkerPool } from "./worker-pool";
export { CiliumCni } from "./cilium-cni";
export type { CiliumCniArgs } from "./cilium-cni";
export { KubeVip } from "./kube-vip";
export type { KubeVipArgs } from "./kube-vip";
// ClusterUpgrade is ControlPlane's: a second one would start a second roll. Only its settings are public.
export { UPGRADE_ORDERS } from "./cluster-upgrade";
export type { UpgradeOrder } from "./cluster-upgrade";
export { configRoll } from "./config-roll";
export type { ConfigRollArgs } from "./config-roll";
export { healthGate, kubernetesReady } from "./health";
export type { HealthGateArgs, KubernetesReadyArgs } from "./health";
export type { WorkerPoolArgs } from "./worker-pool";
export type { NodeLifecycle, NodePoolArgs, PoolNode, PoolNodeArgs } from "./node-pool";
export type { VmPlacementArgs, VmShapeArgs } from "./talos-vm";
export type { Cni } from "./internal/machine-config";
export type { JoiningPool } from "./internal/cluster-members";
export { KUBERNETES_SUPPORT, TALOS_SUPPORT } from "./internal/versions";
export type { TalosMinorSupport } from "./internal/versions";
export { DEFAULT_EXTENSIONS } from "./internal/schematic";
export { MINIMUM_SIZE } from "./internal/node-rules";
export type { NodeRole, ScsiHardware } from "./internal/node-rules";
export { ValidationError } from "./internal/validation";
export type { Problem } from "./internal/validation";
// The Talos provider wrapper's types only (outputs such as PoolNode.apply have them): its classes stay
// internal, so a move to the provider's own SDK breaks no user.
export type * as talos from "./talos";
