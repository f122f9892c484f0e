import * as proxmoxve from "@muhlba91/pulumi-proxmoxve";
import * as pulumi from "@pulumi/pulumi";
import { blockOf, cidrToString, exampleHost, isUsableHost, parseIPv4 } from "./internal/ipv4";
import { checkBridge, checkNameservers, checkVlan } from "./internal/network-rules";
import {
  checkCpuType,
  checkNodeSize,
  checkScsiHardware,
  checkVmId,
  DEFAULT_CPU_TYPE,
  DEFAULT_SCSI_HARDWARE,
  NodeRole,
  ScsiHardware,
} from "./internal/node-rules";
import {
  checkDnsLabel,
  checkInteger,
  checkStorageId,
  Problem,
  show,
  throwIfProblems,
} from "./internal/validation";
import { TalosImage } from "./talos-image";

/** What the VMs of a pool share: image, size, storage and network. */
export interface VmShapeArgs {
  /** The image whose ISO the VMs boot from (it must be on each VM's Proxmox node). */
  image: TalosImage;
  /** vCPU cores (one socket). Control plane: at least 2; worker: at least 1. */
  cores: number;
  /** Dedicated memory in MiB; ballooning is off (Talos does not support it). At least 2048. */
  memoryMiB: number;
  /** Install disk size in GiB. At least 10. */
  diskGiB: number;
  /**
   * QEMU CPU model. Talos needs x86-64-v2, so `kvm64`/`qemu64` are refused; use `x86-64-v2-AES` when VMs
   * live-migrate between different CPUs.
   * @default "host"
   */
  cpuType?: string;
  /** Proxmox storage for the install disk, EFI vars and cloud-init drive. @default "local-lvm" */
  datastore?: string;
  /**
   * SCSI controller. `virtio-scsi-pci` is what Sidero's Talos 1.13 Proxmox guide uses, and warns against
   * VirtIO SCSI Single while siderolabs/talos#11173 (bootstrap hangs, install disk not found) is open.
   * `virtio-scsi-single` gives each disk its own controller, which `iothread` needs: an opt-in for hosts
   * where it is known to work. Changing it on existing VMs reboots them (bpg's provider).
   * @default "virtio-scsi-pci"
   */
  scsiHardware?: ScsiHardware;
  /** Prefix length of the node network, e.g. 24. */
  prefixLength: number;
  /** Default gateway; inside the node network. */
  gateway: string;
  /** DNS servers. */
  nameservers: string[];
  /** Proxmox bridge of the NIC. @default "vmbr0" */
  bridge?: string;
  /** VLAN tag of the NIC. @default untagged */
  vlanId?: number;
}

/** Where one VM runs and who it is. */
export interface VmPlacementArgs {
  /** Proxmox node that runs the VM. */
  pveNode: string;
  /** Static IPv4 address, given to Talos through the cloud-init (nocloud) drive. */
  ip: string;
  /** Proxmox VM id. @default the next free id, chosen by Proxmox */
  vmId?: number;
}

export interface TalosVmArgs extends VmShapeArgs, VmPlacementArgs {
  /** Talos role; decides the minimum size and the Proxmox startup order. */
  role: NodeRole;
  /** Cluster name, used as a Proxmox tag. */
  clusterName: string;
  /** Hostname and Proxmox VM name. @default the component name */
  hostname?: string;
  /** Proxmox start order at host boot. @default 1 for control planes, 2 for workers */
  startupOrder?: number;
  /**
   * Guards the VM against deletion, in Pulumi (`protect` on the VM) and in Proxmox (protection flag).
   * `opts.protect` would guard only the component.
   * @default false
   */
  deletionProtection?: boolean;
}

/** The first SCSI disk: Talos sees it as /dev/sda. */
export const INSTALL_DISK_INTERFACE = "scsi0";
/** Where Talos installs on VirtIO SCSI. */
export const INSTALL_DISK = "/dev/sda";
/** With q35 only ide0 and ide2 exist: the ISO on ide0, cloud-init on ide2. */
export const ISO_INTERFACE = "ide0";
export const CLOUD_INIT_INTERFACE = "ide2";

/**
 * A Proxmox VM made for Talos: UEFI (OVMF, 4M EFI vars, no pre-enrolled keys), q35, a CPU with
 * x86-64-v2, VirtIO SCSI with discard (and iothread on VirtIO SCSI Single), no ballooning, a virtio NIC,
 * and a static IP through the NoCloud cloud-init drive that the nocloud image reads. It boots the ISO into maintenance mode at
 * that IP; once Talos is installed it boots from disk (boot order: disk, then CD).
 */
export class TalosVm extends pulumi.ComponentResource {
  static readonly TYPE = "talos-proxmox:index:TalosVm";

  /** Proxmox VM id. */
  public readonly vmId: pulumi.Output<number>;
  /** The node's static IP: where Talos listens in maintenance mode and after install. */
  public readonly ip: pulumi.Output<string>;
  /** Hostname and VM name. */
  public readonly hostname: string;
  /** The Talos role. */
  public readonly role: NodeRole;
  /** The device Talos installs to, for `machine.install.disk`. */
  public readonly installDisk: string;

  constructor(name: string, args: TalosVmArgs, opts?: pulumi.ComponentResourceOptions) {
    const hostname = args.hostname ?? name;
    const { cpuType, datastoreId, scsiHardware, bridge } = withShapeDefaults(args);
    const startupOrder = args.startupOrder ?? (args.role === "controlplane" ? 1 : 2);
    const protect = args.deletionProtection ?? false;
    throwIfProblems(`TalosVm "${name}"`, [
      ...checkVmShape(args.role, args, "args"),
      ...checkVmPlacement({ ...args, hostname }, args, "args", "args"),
      ...checkInteger(startupOrder, "args.startupOrder", { min: 0, what: "the startup order" }),
    ]);
    super(TalosVm.TYPE, name, {}, opts);

    const guestAgent = args.image.hasGuestAgent;
    const vm = new proxmoxve.VmLegacy(
      name,
      {
        nodeName: args.pveNode,
        vmId: args.vmId,
        name: hostname,
        description: `Talos ${args.role} of cluster ${args.clusterName}. Managed by Pulumi (talos-proxmox).`,
        // Proxmox stores tags sorted; giving them sorted avoids a perpetual diff.
        tags: [...new Set([args.clusterName, args.role, "talos"])].sort(),
        onBoot: true,
        started: true,
        startup: { order: startupOrder },
        bios: "ovmf",
        machine: "q35",
        efiDisk: { datastoreId, fileFormat: "raw", type: "4m", preEnrolledKeys: false },
        operatingSystem: { type: "l26" },
        cpu: { type: cpuType, cores: args.cores, sockets: 1 },
        memory: { dedicated: args.memoryMiB, floating: 0 },
        scsiHardware,
        disks: [
          {
            interface: INSTALL_DISK_INTERFACE,
            datastoreId,
            size: args.diskGiB,
            fileFormat: "raw",
            // iothread only takes effect with one controller per disk.
            iothread: scsiHardware === "virtio-scsi-single",
            discard: "on",
            ssd: true,
          },
        ],
        networkDevices: [{ bridge, vlanId: args.vlanId, model: "virtio", firewall: false }],
        // The agent only runs when the image has the extension. IPs are static, so the provider
        // never waits for the agent to report one (a fragile step in peer projects).
        agent: guestAgent
          ? { enabled: true, type: "virtio", trim: true, waitForIp: { disabled: true } }
          : { enabled: false },
        initialization: {
          // Talos's nocloud platform reads a NoCloud drive. Proxmox's own default for ostype l26 is the
          // same, but bpg forces a new VM when this field changes (proxmoxtf/resource/vm/vm.go v0.111.1:
          // ForceNew, read back as "" when never set): see ignoreChanges below.
          type: "nocloud",
          datastoreId,
          interface: CLOUD_INIT_INTERFACE,
          ipConfigs: [{ ipv4: { address: `${args.ip}/${args.prefixLength}`, gateway: args.gateway } }],
          dns: { servers: args.nameservers },
        },
        cdrom: { fileId: args.image.isoFileIdFor(args.pveNode), interface: ISO_INTERFACE },
        bootOrders: [INSTALL_DISK_INTERFACE, ISO_INTERFACE],
        serialDevices: [{ device: "socket" }],
        // Talos is reset through its API before a VM is removed; the VM itself can just stop.
        stopOnDestroy: true,
        protection: protect,
      },
      {
        parent: this,
        protect,
        // Set on create; never a reason to replace a running VM whose state has "" (created before the
        // type was set explicitly, already NoCloud through Proxmox's default).
        ignoreChanges: ["initialization.type"],
      },
    );

    this.vmId = vm.vmId;
    this.ip = pulumi.output(args.ip);
    this.hostname = hostname;
    this.role = args.role;
    this.installDisk = INSTALL_DISK;
    this.registerOutputs({ vmId: this.vmId, ip: this.ip });
  }
}

/** The shape with its defaults resolved. */
export function withShapeDefaults(shape: VmShapeArgs) {
  return {
    cpuType: shape.cpuType ?? DEFAULT_CPU_TYPE,
    datastoreId: shape.datastore ?? "local-lvm",
    scsiHardware: shape.scsiHardware ?? DEFAULT_SCSI_HARDWARE,
    bridge: shape.bridge ?? "vmbr0",
  };
}

/** Problems of a VM shape; paths start at `at` (e.g. `args`). */
export function checkVmShape(role: NodeRole, shape: VmShapeArgs, at: string): Problem[] {
  const { cpuType, datastoreId, scsiHardware, bridge } = withShapeDefaults(shape);
  return [
    ...checkNodeSize(role, shape, {
      cores: `${at}.cores`,
      memoryMiB: `${at}.memoryMiB`,
      diskGiB: `${at}.diskGiB`,
    }),
    ...checkCpuType(cpuType, `${at}.cpuType`),
    ...checkStorageId(datastoreId, `${at}.datastore`),
    ...checkBridge(bridge, `${at}.bridge`),
    ...checkNameservers(shape.nameservers, `${at}.nameservers`),
    ...(shape.vlanId === undefined ? [] : checkVlan(shape.vlanId, `${at}.vlanId`)),
    ...checkInteger(shape.prefixLength, `${at}.prefixLength`, { min: 8, max: 30, what: "the prefix length" }),
    ...checkScsiHardware(scsiHardware, `${at}.scsiHardware`),
  ];
}

/**
 * Problems of one VM's placement: hostname, VM id, a Proxmox node that has the ISO, a static address
 * inside the shape's network with a gateway there. Placement paths start at `at`, shape paths at `shapeAt`.
 */
export function checkVmPlacement(
  placement: VmPlacementArgs & { hostname: string },
  shape: VmShapeArgs,
  at: string,
  shapeAt: string,
): Problem[] {
  const problems: Problem[] = [
    ...checkDnsLabel(placement.hostname, `${at}.hostname`, "the hostname"),
    ...(placement.vmId === undefined ? [] : checkVmId(placement.vmId, `${at}.vmId`)),
  ];
  if (!shape.image.pveNodes.includes(placement.pveNode)) {
    problems.push({
      path: `${at}.pveNode`,
      message:
        `the image has no ISO on Proxmox node ${show(placement.pveNode)} (it has ${shape.image.pveNodes.join(", ")}). ` +
        `Add ${show(placement.pveNode)} to the TalosImage's pveNodes.`,
    });
  }
  const ip = parseIPv4(placement.ip);
  if (ip === undefined) {
    problems.push({
      path: `${at}.ip`,
      message: `${show(placement.ip)} is not an IPv4 address. Use e.g. "192.168.1.21".`,
    });
    return problems;
  }
  if (!Number.isInteger(shape.prefixLength) || shape.prefixLength < 8 || shape.prefixLength > 30) {
    return problems; // reported by checkVmShape
  }
  const network = blockOf(ip, shape.prefixLength);
  const cidr = cidrToString(network);
  if (!isUsableHost(network, ip)) {
    problems.push({
      path: `${at}.ip`,
      message: `${show(placement.ip)} is the network or broadcast address of ${cidr}. Use a host address, e.g. "${exampleHost(network)}".`,
    });
  }
  const gateway = parseIPv4(shape.gateway);
  if (gateway === undefined || !isUsableHost(network, gateway) || gateway === ip) {
    problems.push({
      path: `${shapeAt}.gateway`,
      message: `${show(shape.gateway)} is not a usable gateway in ${cidr}: it must be another host address of that network, not a node's.`,
    });
  }
  return problems;
}
