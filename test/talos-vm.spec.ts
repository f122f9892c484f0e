import { expect } from "chai";
import { TalosImage, TalosVm, TalosVmArgs, ValidationError } from "../components";
import { CPU_TYPES_WITHOUT_X86_64_V2 } from "../components/internal/node-rules";
import { one, runComponents, succeeded, TYPES } from "./harness";

type VmArgs = Omit<TalosVmArgs, "image">;

const CONTROL_PLANE: VmArgs = {
  role: "controlplane",
  clusterName: "lab",
  pveNode: "pve1",
  cores: 2,
  memoryMiB: 4096,
  diskGiB: 32,
  ip: "192.168.10.11",
  prefixLength: 24,
  gateway: "192.168.10.1",
  nameservers: ["192.168.10.1", "1.1.1.1"],
};

function runVm(args: Partial<VmArgs> = {}, extensions?: string[]) {
  return runComponents(() => {
    const image = new TalosImage("img", {
      talosVersion: "v1.13.9",
      pveNodes: ["pve1"],
      fileNamePrefix: "lab",
      extensions,
    });
    const vm = new TalosVm("cp-1", { ...CONTROL_PLANE, ...args, image });
    return { vmId: vm.vmId, ip: vm.ip };
  });
}

async function vmInputs(args: Partial<VmArgs> = {}, extensions?: string[]) {
  const run = succeeded(await runVm(args, extensions));
  return { run, vm: one(run, TYPES.vm, "cp-1"), inputs: one(run, TYPES.vm, "cp-1").inputs };
}

describe("TalosVm", () => {
  it("creates the VM the Talos guide describes, with these defaults", async () => {
    const { run, vm, inputs } = await vmInputs();
    expect(vm.parent).to.equal(one(run, TYPES.talosVm, "cp-1").urn);
    expect(inputs).to.deep.include({
      nodeName: "pve1",
      name: "cp-1",
      tags: ["controlplane", "lab", "talos"],
      onBoot: true,
      started: true,
      bios: "ovmf",
      machine: "q35",
      // Sidero's Talos 1.13 Proxmox guide: VirtIO SCSI, not Single (siderolabs/talos#11173).
      scsiHardware: "virtio-scsi-pci",
      bootOrders: ["scsi0", "ide0"],
      stopOnDestroy: true,
      protection: false,
    });
    expect(inputs).to.not.have.property("vmId");
    expect(inputs.efiDisk).to.deep.equal({
      datastoreId: "local-lvm",
      fileFormat: "raw",
      type: "4m",
      preEnrolledKeys: false,
    });
    expect(inputs.operatingSystem).to.deep.equal({ type: "l26" });
    expect(inputs.cpu).to.deep.equal({ type: "host", cores: 2, sockets: 1 });
    expect(inputs.memory).to.deep.equal({ dedicated: 4096, floating: 0 });
    expect(inputs.disks).to.deep.equal([
      {
        interface: "scsi0",
        datastoreId: "local-lvm",
        size: 32,
        fileFormat: "raw",
        iothread: false,
        discard: "on",
        ssd: true,
      },
    ]);
    expect(inputs.networkDevices).to.deep.equal([{ bridge: "vmbr0", model: "virtio", firewall: false }]);
    expect(inputs.agent).to.deep.equal({
      enabled: true,
      type: "virtio",
      trim: true,
      waitForIp: { disabled: true },
    });
    expect(inputs.initialization).to.deep.equal({
      type: "nocloud",
      datastoreId: "local-lvm",
      interface: "ide2",
      ipConfigs: [{ ipv4: { address: "192.168.10.11/24", gateway: "192.168.10.1" } }],
      dns: { servers: ["192.168.10.1", "1.1.1.1"] },
    });
    expect(inputs.startup).to.deep.equal({ order: 1 });
    expect(inputs.serialDevices).to.deep.equal([{ device: "socket" }]);
    expect(vm.options.protect).to.equal(false);
  });

  it("never replaces a running VM over its cloud-init type", async () => {
    // bpg forces a new VM when initialization.type changes and reads "" for VMs that never set it: the
    // type is set on create, then ignored.
    const { vm } = await vmInputs();
    expect(vm.options.ignoreChanges).to.deep.equal(["initialization.type"]);
  });

  it("boots the image's ISO from this Proxmox node on ide0, after the disk", async () => {
    const { run, inputs } = await vmInputs();
    const iso = one(run, TYPES.file, "img-iso-pve1");
    expect(inputs.cdrom).to.deep.equal({
      fileId: "local:iso/lab-talos-nocloud-amd64.iso",
      interface: "ide0",
    });
    expect(one(run, TYPES.vm, "cp-1").dependencies).to.include(iso.urn);
  });

  it("takes the settings it is given", async () => {
    const { inputs } = await vmInputs({
      vmId: 1011,
      hostname: "talos-cp-1",
      cpuType: "x86-64-v2-AES",
      datastore: "ceph",
      scsiHardware: "virtio-scsi-single",
      bridge: "vmbr1",
      vlanId: 20,
      startupOrder: 5,
    });
    expect(inputs).to.include({ vmId: 1011, name: "talos-cp-1", scsiHardware: "virtio-scsi-single" });
    expect(inputs.cpu).to.deep.include({ type: "x86-64-v2-AES" });
    // iothread only takes effect with a controller per disk.
    expect((inputs.disks as Record<string, unknown>[])[0]).to.include({
      datastoreId: "ceph",
      iothread: true,
    });
    expect(inputs.networkDevices).to.deep.equal([
      { bridge: "vmbr1", vlanId: 20, model: "virtio", firewall: false },
    ]);
    expect(inputs.startup).to.deep.equal({ order: 5 });
  });

  it("starts workers after control planes", async () => {
    const { inputs } = await vmInputs({ role: "worker", cores: 1 });
    expect(inputs.startup).to.deep.equal({ order: 2 });
    expect(inputs.tags).to.deep.equal(["lab", "talos", "worker"]);
  });

  it("protects the VM in Pulumi and in Proxmox when asked", async () => {
    const { vm, inputs } = await vmInputs({ deletionProtection: true });
    expect(vm.options.protect).to.equal(true);
    expect(inputs.protection).to.equal(true);
  });

  it("keeps the guest agent off when the image lacks the extension", async () => {
    const { inputs } = await vmInputs({}, ["siderolabs/iscsi-tools"]);
    expect(inputs.agent).to.deep.equal({ enabled: false });
  });

  for (const cpuType of CPU_TYPES_WITHOUT_X86_64_V2) {
    it(`refuses CPU type ${cpuType} (no x86-64-v2)`, async () => {
      const run = await runVm({ cpuType });
      expect((run.error as Error).message).to.match(/args\.cpuType: .*lacks x86-64-v2.*"host"/);
    });
  }

  it("takes any CPU model bpg's provider accepts with x86-64-v2, and custom models", async () => {
    for (const cpuType of ["Haswell", "EPYC-Rome", "x86-64-v3", "custom-talos"]) {
      const { inputs } = await vmInputs({ cpuType });
      expect(inputs.cpu, cpuType).to.deep.include({ type: cpuType });
    }
  });

  const refusals: [string, Partial<VmArgs>, RegExp][] = [
    [
      "a CPU model in the wrong case (bpg compares case-sensitively)",
      { cpuType: "haswell" },
      /args\.cpuType: "haswell" is not a QEMU CPU model .*Did you mean "Haswell"\?/,
    ],
    ["an empty CPU type", { cpuType: "" }, /args\.cpuType: "" is not a QEMU CPU model/],
    [
      "a control plane with 1 core",
      { cores: 1 },
      /args\.cores: cores of a control-plane node must be at least 2/,
    ],
    ["1 GiB of memory", { memoryMiB: 1024 }, /args\.memoryMiB: .*at least 2048/],
    ["a 5 GiB disk", { diskGiB: 5 }, /args\.diskGiB: .*at least 10/],
    [
      "a worker with 0 cores",
      { role: "worker", cores: 0 },
      /args\.cores: cores of a worker node must be at least 1/,
    ],
    ["half a core", { cores: 2.5 }, /args\.cores: .*whole number/],
    ["a vmId below 100", { vmId: 99 }, /args\.vmId: vmId must be at least 100/],
    ["a bad hostname", { hostname: "CP_1" }, /args\.hostname: .*DNS label.*"cp-1"/],
    ["a bad IP", { ip: "192.168.10.256" }, /args\.ip: .*not an IPv4 address/],
    ["the network address", { ip: "192.168.10.0" }, /args\.ip: .*network or broadcast/],
    ["a gateway outside the network", { gateway: "10.0.0.1" }, /args\.gateway: .*not a usable gateway/],
    ["a /31 network", { prefixLength: 31 }, /args\.prefixLength: .*at most 30/],
    ["no DNS server", { nameservers: [] }, /args\.nameservers: is empty/],
    ["a VLAN of 4095", { vlanId: 4095 }, /args\.vlanId: .*at most 4094/],
    ["an unknown controller", { scsiHardware: "lsi" as never }, /args\.scsiHardware: "lsi" is not supported/],
    [
      "a node without the ISO",
      { pveNode: "pve2" },
      /args\.pveNode: the image has no ISO on Proxmox node "pve2"/,
    ],
  ];
  for (const [what, args, message] of refusals) {
    it(`refuses ${what} before creating the VM`, async () => {
      const run = await runVm(args);
      expect(run.error).to.be.instanceOf(ValidationError);
      expect((run.error as Error).message).to.match(message);
      expect(run.resources.filter((r) => r.type === TYPES.vm || r.type === TYPES.talosVm)).to.be.empty;
    });
  }

  it("reports every problem at once", async () => {
    const run = await runVm({ cores: 1, memoryMiB: 512, cpuType: "kvm64" });
    expect((run.error as ValidationError).problems.map((p) => p.path)).to.deep.equal([
      "args.cores",
      "args.memoryMiB",
      "args.cpuType",
    ]);
  });
});
