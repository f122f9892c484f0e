/**
 * talos-proxmox: Pulumi components for Talos Linux Kubernetes clusters on Proxmox VE.
 */
export { TalosImage, TALOS_ARCHITECTURE, TALOS_PLATFORM } from "./talos-image";
export type { TalosImageArgs } from "./talos-image";
export { TalosVm, INSTALL_DISK } from "./talos-vm";
export type { TalosVmArgs } from "./talos-vm";
export { DEFAULT_EXTENSIONS } from "./internal/schematic";
export { MINIMUM_SIZE } from "./internal/node-rules";
export type { NodeRole, ScsiHardware } from "./internal/node-rules";
export { ValidationError } from "./internal/validation";
export type { Problem } from "./internal/validation";
export * as talos from "./talos";
