/**
 * What a Talos VM needs from Proxmox, as rules shared by TalosVm (args) and the stack config
 * (`cluster.controlPlane.*`, `cluster.workerPools[i].*`).
 */
import { checkInteger, Problem, show } from "./validation";

export type NodeRole = "controlplane" | "worker";

export interface NodeSize {
  cores: number;
  memoryMiB: number;
  diskGiB: number;
}

/**
 * Minimum sizes per role (Talos system requirements: a control plane needs 2 cores / 2 GiB, a worker
 * 1 core / 2 GiB; both need 10 GiB of install disk).
 */
export const MINIMUM_SIZE: Readonly<Record<NodeRole, NodeSize>> = {
  controlplane: { cores: 2, memoryMiB: 2048, diskGiB: 10 },
  worker: { cores: 1, memoryMiB: 2048, diskGiB: 10 },
};

const ROLE_NAME: Record<NodeRole, string> = { controlplane: "a control-plane node", worker: "a worker node" };

export function checkNodeSize(
  role: NodeRole,
  size: NodeSize,
  paths: { cores: string; memoryMiB: string; diskGiB: string },
): Problem[] {
  const min = MINIMUM_SIZE[role];
  const who = ROLE_NAME[role];
  return [
    ...checkInteger(size.cores, paths.cores, { min: min.cores, max: 512, what: `cores of ${who}` }),
    ...checkInteger(size.memoryMiB, paths.memoryMiB, { min: min.memoryMiB, what: `memoryMiB of ${who}` }),
    ...checkInteger(size.diskGiB, paths.diskGiB, { min: min.diskGiB, what: `diskGiB of ${who}` }),
  ];
}

/**
 * Proxmox CPU models that lack x86-64-v2 (SSE4.2, POPCNT, SSSE3, CMPXCHG16B): Talos does not boot on
 * them. Anything else (host, x86-64-v2-AES and up, Nehalem and newer, EPYC, custom models) passes.
 */
export const CPU_TYPES_WITHOUT_X86_64_V2: readonly string[] = [
  "486",
  "athlon",
  "conroe",
  "core2duo",
  "coreduo",
  "kvm32",
  "kvm64",
  "n270",
  "opteron_g1",
  "opteron_g2",
  "opteron_g3",
  "penryn",
  "pentium",
  "pentium2",
  "pentium3",
  "phenom",
  "qemu32",
  "qemu64",
];

export const DEFAULT_CPU_TYPE = "host";

export function checkCpuType(cpuType: string, path: string): Problem[] {
  if (cpuType.trim() === "") {
    return [{ path, message: `the CPU type is empty. Use "host" (default) or "x86-64-v2-AES".` }];
  }
  if (!CPU_TYPES_WITHOUT_X86_64_V2.includes(cpuType.toLowerCase())) {
    return [];
  }
  return [
    {
      path,
      message:
        `CPU type ${show(cpuType)} lacks x86-64-v2, which Talos requires. Use "host" (default, best ` +
        `performance) or "x86-64-v2-AES" when VMs must live-migrate between different CPUs.`,
    },
  ];
}

/** Proxmox accepts VM ids from 100 to 999999999. */
export function checkVmId(vmId: number, path: string): Problem[] {
  return checkInteger(vmId, path, { min: 100, max: 999_999_999, what: "vmId" });
}

/** Talos installs to the first disk; which device that is depends on the controller. */
export type ScsiHardware = "virtio-scsi-single" | "virtio-scsi-pci";
export const SCSI_HARDWARE: readonly ScsiHardware[] = ["virtio-scsi-pci", "virtio-scsi-single"];
/**
 * Sidero's Talos 1.13 Proxmox guide (siderolabs/docs, talos/v1.13 .../proxmox.mdx) uses VirtIO SCSI and
 * warns against VirtIO SCSI Single, which hangs some bootstraps (siderolabs/talos#11173, open).
 */
export const DEFAULT_SCSI_HARDWARE: ScsiHardware = "virtio-scsi-pci";
/** What TalosVm used before talos-proxmox 0.2, when the default changed: the VMs of older stacks have it. */
export const PREVIOUS_DEFAULT_SCSI_HARDWARE: ScsiHardware = "virtio-scsi-single";

/** One of the SCSI controllers Talos installs on. */
export function checkScsiHardware(value: string, path: string): Problem[] {
  return SCSI_HARDWARE.includes(value as ScsiHardware)
    ? []
    : [
        {
          path,
          message: `${show(value)} is not supported. Use ${SCSI_HARDWARE.map((s) => show(s)).join(" or ")}.`,
        },
      ];
}
