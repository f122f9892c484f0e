/**
 * What a Talos VM needs from Proxmox, as rules shared by TalosVm (args) and the stack config
 * (`cluster.controlPlane.*`, `cluster.workerPools[i].*`).
 */
import { checkInteger, nearest, Problem, show } from "./validation";

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
 * The CPU models bpg's provider accepts (proxmoxtf/resource/vm/validators.go, CPUTypeValidator, v0.111.1;
 * compared case-sensitively), besides `custom-<name>` for a custom model defined on the Proxmox host,
 * split by whether they have x86-64-v2 (SSE4.2, POPCNT, SSSE3, CMPXCHG16B), which Talos requires.
 */
export const CPU_TYPES_WITH_X86_64_V2: readonly string[] = [
  "Broadwell",
  "Broadwell-IBRS",
  "Broadwell-noTSX",
  "Broadwell-noTSX-IBRS",
  "Cascadelake-Server",
  "Cascadelake-Server-noTSX",
  "Cascadelake-Server-v2",
  "Cascadelake-Server-v4",
  "Cascadelake-Server-v5",
  "Cooperlake",
  "Cooperlake-v2",
  "EPYC",
  "EPYC-Genoa",
  "EPYC-IBPB",
  "EPYC-Milan",
  "EPYC-Rome",
  "EPYC-Rome-v2",
  "EPYC-Rome-v3",
  "EPYC-Rome-v4",
  "EPYC-v3",
  "EPYC-v4",
  "Haswell",
  "Haswell-IBRS",
  "Haswell-noTSX",
  "Haswell-noTSX-IBRS",
  "Icelake-Client",
  "Icelake-Client-noTSX",
  "Icelake-Server",
  "Icelake-Server-noTSX",
  "Icelake-Server-v3",
  "Icelake-Server-v4",
  "Icelake-Server-v5",
  "Icelake-Server-v6",
  "IvyBridge",
  "IvyBridge-IBRS",
  "KnightsMill",
  "Nehalem",
  "Nehalem-IBRS",
  "Opteron_G4",
  "Opteron_G5",
  "SandyBridge",
  "SandyBridge-IBRS",
  "SapphireRapids",
  "Skylake-Client",
  "Skylake-Client-IBRS",
  "Skylake-Client-noTSX-IBRS",
  "Skylake-Client-v4",
  "Skylake-Server",
  "Skylake-Server-IBRS",
  "Skylake-Server-noTSX-IBRS",
  "Skylake-Server-v4",
  "Skylake-Server-v5",
  "Westmere",
  "Westmere-IBRS",
  "host",
  "max",
  "x86-64-v2",
  "x86-64-v2-AES",
  "x86-64-v3",
  "x86-64-v4",
];

/** Penryn stops at SSE4.1, Opteron_G3 at SSE4a: Talos does not boot on these. */
export const CPU_TYPES_WITHOUT_X86_64_V2: readonly string[] = [
  "486",
  "Conroe",
  "Opteron_G1",
  "Opteron_G2",
  "Opteron_G3",
  "Penryn",
  "athlon",
  "core2duo",
  "coreduo",
  "kvm32",
  "kvm64",
  "pentium",
  "pentium2",
  "pentium3",
  "phenom",
  "qemu32",
  "qemu64",
];

export const CPU_TYPES: readonly string[] = [...CPU_TYPES_WITH_X86_64_V2, ...CPU_TYPES_WITHOUT_X86_64_V2];
const CUSTOM_CPU_TYPE = /^custom-.+$/;

export const DEFAULT_CPU_TYPE = "host";

const CPU_FIX = `Use "host" (default, best performance) or "x86-64-v2-AES" when VMs must live-migrate between different CPUs.`;

export function checkCpuType(cpuType: string, path: string): Problem[] {
  if (CPU_TYPES_WITHOUT_X86_64_V2.includes(cpuType)) {
    return [{ path, message: `CPU type ${show(cpuType)} lacks x86-64-v2, which Talos requires. ${CPU_FIX}` }];
  }
  if (CPU_TYPES.includes(cpuType) || CUSTOM_CPU_TYPE.test(cpuType)) {
    return [];
  }
  const near = nearest(cpuType, CPU_TYPES);
  const hint = near && !CPU_TYPES_WITHOUT_X86_64_V2.includes(near) ? ` Did you mean ${show(near)}?` : "";
  return [
    {
      path,
      message:
        `${show(cpuType)} is not a QEMU CPU model Proxmox knows (names are case-sensitive; a custom model is ` +
        `"custom-<name>").${hint} ${CPU_FIX}`,
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
