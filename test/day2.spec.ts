/**
 * Day 2 under the offline engine: what a version bump, one more worker, a scale-down and a teardown
 * change, compared as the engine would diff them (inputs, minus each resource's ignoreChanges).
 */
import { expect } from "chai";
import { changesOfRuns } from "../tools/offline/changes";
import { OfflineRun, SECRET } from "../tools/offline/engine";
import { exampleCluster, one, ofType, runStack, succeeded, TYPES, waitsOn } from "./harness";
import { runOffline } from "../tools/offline/engine";
import { join } from "node:path";
import { readProjectName, readStackFile } from "../tools/offline/stack-file";
import program = require("../stacks");
import { PROJECT_DIR } from "./harness";

type Cluster = Record<string, unknown>;
const COMMAND = "command:local:Command";

const WORDS = { create: "added", delete: "removed", update: "updated", replace: "replaced" } as const;

/**
 * URN -> what changed between two runs, as tools/offline/changes.ts decides it (the engine's diff:
 * inputs minus ignoreChanges; replaceOnChanges and bpg's forced replacements replace).
 */
function diff(before: OfflineRun, after: OfflineRun): Record<string, string> {
  return Object.fromEntries(changesOfRuns(before, after).map((c) => [c.urn, WORDS[c.change]]));
}

function named(changes: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(changes).map(([urn, change]) => [urn.split("::").pop() as string, change]),
  );
}

async function bumped(stack: "homelab" | "prod", edit: (c: Cluster) => void) {
  const cluster = exampleCluster(stack);
  edit(cluster);
  return [succeeded(await runStack(stack)), succeeded(await runStack(stack, cluster))] as const;
}

describe("day 2", () => {
  it("never hands a lifecycle command its previous output in its environment", async () => {
    // pulumi-command v1.2.1 would (commandOutputs.go), and a roll's talosctl progress on a large cluster
    // outgrows Linux's 128 KiB limit for one variable: the next run could not start.
    for (const stack of ["homelab", "prod"] as const) {
      const commands = ofType(succeeded(await runStack(stack)), COMMAND);
      expect(commands.length, stack).to.be.greaterThan(3);
      for (const command of commands) {
        expect(command.inputs.addPreviousOutputInEnv, command.name).to.equal(false);
      }
    }
  });

  it("rolls a Talos version bump through the upgrade machinery and the configs only", async () => {
    const [before, after] = await bumped("prod", (c) => (c.talosVersion = "v1.14.2"));
    const changes = named(diff(before, after));
    expect(changes).to.deep.equal({
      "prod-upgrade-rollout": "updated",
      // Every config changed: the config roll runs, and reboots only nodes that staged theirs.
      "prod-config-roll": "updated",
      ...Object.fromEntries(
        ofType(after, TYPES.configApply).flatMap((apply) => [
          [apply.name, "updated"], // the install image
          // Before it, the node's gate checks that it answers and is idle (issue 19, item 5).
          [apply.name.replace(/-config$/, "-apply-gate"), "updated"],
        ]),
      ),
    });
    const rollout = one(after, COMMAND, "prod-upgrade-rollout").inputs.environment as Record<string, string>;
    expect(rollout).to.include({
      TARGET_VERSION: "v1.14.2",
      TARGET_IMAGE:
        "factory.talos.dev/nocloud-installer/88d1f7a5c4f1d3aba7df787c448c1d3d008ed29cfb34af53fa0df4336a56040b:v1.14.2",
      ORDER: "workers-first",
    });
  });

  it("replaces the schematic when the extensions change, so its id and the installer image follow", async () => {
    const [before, after] = await bumped("homelab", (c) => {
      (c.image as Cluster).extensions = [
        "siderolabs/qemu-guest-agent",
        "siderolabs/iscsi-tools",
        "siderolabs/util-linux-tools",
        "siderolabs/intel-ucode",
      ];
    });
    const changes = named(diff(before, after));
    // An in-place update would keep the old id, and with it the old installer image: nothing would roll.
    expect(changes["homelab-image-schematic"]).to.equal("replaced");
    const target = (run: OfflineRun) =>
      (one(run, COMMAND, "homelab-upgrade-rollout").inputs.environment as Record<string, string>)
        .TARGET_SCHEMATIC;
    expect(target(after)).to.not.equal(target(before));
    expect(one(after, TYPES.schematic, "homelab-image-schematic").options.replaceOnChanges).to.deep.equal([
      "schematic",
    ]);
  });

  it("leaves VMs, secrets, bootstrap and ISOs alone on a bump of Talos, extensions or Kubernetes", async () => {
    const bumps: ((c: Cluster) => void)[] = [
      (c) => (c.talosVersion = "v1.14.2"),
      (c) =>
        ((c.image as Cluster).extensions = [
          "siderolabs/qemu-guest-agent",
          "siderolabs/iscsi-tools",
          "siderolabs/util-linux-tools",
          "siderolabs/intel-ucode",
        ]),
      (c) => (c.kubernetesVersion = "1.36.2"),
    ];
    for (const bump of bumps) {
      const [before, after] = await bumped("homelab", bump);
      const changes = named(diff(before, after));
      const untouched = [
        ...ofType(after, TYPES.vm),
        ...ofType(after, TYPES.secrets),
        ...ofType(after, TYPES.bootstrap),
        ...ofType(after, TYPES.file),
      ];
      for (const resource of untouched) {
        expect(changes[resource.name], resource.name).to.equal(undefined);
      }
      expect(changes["homelab-upgrade-rollout"]).to.equal("updated");
    }
  });

  it("keeps the config contract through a roll to a new Talos minor, and moves it in the next update", async () => {
    const contracts = (run: OfflineRun) =>
      run.invokes
        .filter((i) => i.token === "talos:machine/getConfiguration:getConfiguration")
        .map((i) => i.args.talosVersion);
    const on113 = exampleCluster("prod");
    on113.talosVersion = "v1.13.9";
    const running = succeeded(await runStack("prod", on113));
    expect(contracts(running)).to.deep.equal(["v1.13", "v1.13"]);
    // The update that rolls the nodes to v1.14 renders with the contract they all run: v1.13.
    const rolling = succeeded(
      await runStack("prod", exampleCluster("prod"), undefined, { previousOutputs: running.outputs }),
    );
    expect(contracts(rolling)).to.deep.equal(["v1.13", "v1.13"]);
    expect(one(rolling, COMMAND, "prod-upgrade-rollout").inputs.environment).to.include({
      TALOS_MINOR: "v1.14",
      TARGET_VERSION: "v1.14.1",
    });
    // The next one, once the stack recorded every node on v1.14, moves it; a new stack starts there.
    const next = succeeded(
      await runStack("prod", exampleCluster("prod"), undefined, { previousOutputs: rolling.outputs }),
    );
    expect(contracts(next)).to.deep.equal(["v1.14", "v1.14"]);
    expect(named(diff(rolling, next))).to.deep.equal({});
    expect(contracts(succeeded(await runStack("prod")))).to.deep.equal(["v1.14", "v1.14"]);
  });

  it("refuses a new Talos minor on a stack whose last update did not record its versions", async () => {
    // talos-proxmox 0.3 and older ran v1.13 only and recorded no versions, nor what each node booted into.
    const on113 = exampleCluster("prod");
    on113.talosVersion = "v1.13.9";
    const running = succeeded(await runStack("prod", on113));
    const outputs = running.outputs as Record<string, unknown>;
    const cluster = { ...(outputs.cluster as Record<string, unknown>) };
    delete cluster.talosVersion;
    delete cluster.kubernetesVersion;
    const moved = await runStack("prod", exampleCluster("prod"), undefined, {
      previousOutputs: { ...outputs, cluster },
    });
    expect(String(moved.error)).to.include(
      "cluster.talosVersion: is v1.14.1, and the last update, by talos-proxmox 0.3 or older, did not record the versions the cluster runs",
    );
    // The same stack may stay on v1.13, which records them.
    succeeded(await runStack("prod", on113, undefined, { previousOutputs: { ...outputs, cluster } }));
  });

  it("rolls a Kubernetes bump with upgrade-k8s before any config apply", async () => {
    const [, after] = await bumped("homelab", (c) => (c.kubernetesVersion = "1.36.2"));
    const rollout = one(after, COMMAND, "homelab-upgrade-rollout");
    expect((rollout.inputs.environment as Record<string, string>).KUBERNETES_VERSION).to.equal("1.36.2");
    for (const apply of ofType(after, TYPES.configApply)) {
      expect(apply.dependencies, apply.name).to.include(rollout.urn);
    }
    // The configs render the version the roll reports, once it ran.
    const renders = after.invokes.filter(
      (i) => i.token === "talos:machine/getConfiguration:getConfiguration",
    );
    expect(renders.map((r) => r.args.kubernetesVersion)).to.deep.equal(["1.36.2", "1.36.2"]);
    expect(renders.every((r) => r.seq > rollout.seq)).to.equal(true);
  });

  it("lets a node's config apply change it only after a check that the node answers and is idle", async () => {
    // Issue 19, item 5: the provider's dry run falls back to auto on any error (terraform-provider-talos
    // v0.11.0 handleRebootPrevention), and auto reboots a node undrained when the change needs it.
    const run = succeeded(await runStack("prod"));
    const rollout = one(run, COMMAND, "prod-upgrade-rollout");
    for (const apply of ofType(run, TYPES.configApply)) {
      const gate = one(run, COMMAND, apply.name.replace(/-config$/, "-apply-gate"));
      expect(waitsOn(run, apply, gate), apply.name).to.equal(true);
      expect(waitsOn(run, gate, rollout), gate.name).to.equal(true); // never during a roll
      expect(gate.inputs.create, gate.name).to.equal("true"); // a new node installs from maintenance mode
      expect(String(gate.inputs.update)).to.include("get machinestatus -o json");
      const env = gate.inputs.environment as Record<string, string>;
      expect(env.NODE_IP).to.equal(apply.inputs.node);
      expect(env.CONFIG_DIGEST).to.match(/^[0-9a-f]{64}$/);
    }
  });

  it("stages config changes that need a reboot, and rolls them once every node is applied and Ready", async () => {
    const run = succeeded(await runStack("prod"));
    const applies = ofType(run, TYPES.configApply);
    expect(applies).to.have.length(6);
    for (const apply of applies) {
      // A dry run picks auto or staged (terraform-provider-talos v0.11.0 handleRebootPrevention).
      expect(apply.inputs.applyMode, apply.name).to.equal("staged_if_needing_reboot");
    }
    const roll = one(run, COMMAND, "prod-config-roll");
    for (const apply of applies) {
      expect(waitsOn(run, roll, apply), apply.name).to.equal(true);
    }
    // A fresh node may still be installing when its apply returns: the roll waits for every node Ready.
    expect(waitsOn(run, roll, one(run, COMMAND, "prod-ready"))).to.equal(true);
    expect(roll.inputs.environment).to.include({
      ORDER: "workers-first",
      MAX_PARALLEL_WORKERS: "1",
      CNI: "cilium",
      // Issue 19, item 2: `kubectl wait --all` sees only the Node objects that exist, and a node still
      // installing has none; the roll waits for each node by name before it reboots anything.
      NODES: "cp-1 cp-2 cp-3 w-1 w-2 w-3",
    });
    expect(roll.inputs.create).to.equal(roll.inputs.update);
    expect(String(roll.inputs.update)).to.include("roll_cluster reboot_node");
  });

  it("rolls control planes first when the stack says so", async () => {
    // prod: its pool of three keeps a node up through a batch of two (homelab's two would both go).
    const [, after] = await bumped(
      "prod",
      (c) => (c.upgrade = { order: "control-plane-first", maxParallelWorkers: 2 }),
    );
    expect(one(after, COMMAND, "prod-upgrade-rollout").inputs.environment).to.include({
      ORDER: "control-plane-first",
      MAX_PARALLEL_WORKERS: "2",
    });
  });

  it("adds only the new worker's resources when a worker joins, and checks readiness again", async () => {
    const [before, after] = await bumped("prod", (c) => {
      const pool = (c.workerPools as Cluster[])[0];
      (pool.nodes as Cluster[]).push({ name: "w-4", pveNode: "pve1", ip: "10.20.0.24", vmId: 2024 });
    });
    expect(named(diff(before, after))).to.deep.equal({
      "prod-general-w-4": "added", // the TalosVm and its VmLegacy
      "prod-general-w-4-decommission": "added",
      "prod-general-w-4-config": "added",
      "prod-general-w-4-apply-gate": "added",
      // The readiness check runs again with the new node in its list, the config roll with its config.
      "prod-ready": "updated",
      "prod-config-roll": "updated",
    });
    expect(ofType(after, TYPES.vm).length - ofType(before, TYPES.vm).length).to.equal(1);
    expect(one(after, COMMAND, "prod-config-roll").inputs.environment).to.include({
      NODES: "cp-1 cp-2 cp-3 w-1 w-2 w-3 w-4",
    });
    // The upgrade roll never meets the new node installing: its config waits for the roll (it renders
    // the Kubernetes version the roll reports), so it installs only after the roll is done.
    const rollout = one(after, COMMAND, "prod-upgrade-rollout");
    expect(waitsOn(after, one(after, TYPES.configApply, "prod-general-w-4-config"), rollout)).to.equal(true);
  });

  it("takes a removed worker out through its decommission command before its VM goes", async () => {
    const run = succeeded(await runStack("homelab"));
    const decommission = one(run, COMMAND, "homelab-general-w-2-decommission");
    const vm = one(run, TYPES.vm, "homelab-general-w-2");
    const apply = one(run, TYPES.configApply, "homelab-general-w-2-config");
    // Deletion runs dependents first: the apply, then the decommission (drain), then the VM.
    expect(decommission.dependencies).to.include(vm.urn);
    expect(apply.dependencies).to.include(decommission.urn);
    expect(decommission.inputs.delete).to.match(/reset --graceful=true --reboot=false/);
    expect(decommission.inputs.environment).to.include({
      NODE_NAME: "w-2",
      NODE_IP: "192.168.10.22",
      ROLE: "worker",
      TEARDOWN: "false",
    });
  });

  it("refuses to drop the control plane below the quorum the last update left", async () => {
    const file = readStackFile(
      join(PROJECT_DIR, "Pulumi.homelab.yaml"),
      readProjectName(PROJECT_DIR),
      "homelab",
    );
    const previousOutputs = {
      nodes: {
        "cp-1": { role: "controlplane", ip: "192.168.10.11" },
        "cp-2": { role: "controlplane", ip: "192.168.10.12" },
        "cp-3": { role: "controlplane", ip: "192.168.10.13" },
      },
    };
    const run = await runOffline(program, { ...file, previousOutputs });
    expect((run.error as Error).message).to.match(
      /cluster\.controlPlane\.nodes: has 1 node\(s\); the last update left 3, whose etcd quorum is 2/,
    );
  });

  it("refuses a roll budget the pool's running nodes cannot spare, though the pool grows in the same update", async () => {
    // Found trying the impact report: with w-4 added, 3 passed the pool-size check, and the Talos roll,
    // which runs before w-4 joins, would have drained w-1, w-2 and w-3 at once.
    const before = succeeded(await runStack("prod"));
    const cluster = exampleCluster("prod");
    const pool = (cluster.workerPools as Cluster[])[0];
    (pool.nodes as Cluster[]).push({ name: "w-4", pveNode: "pve1", ip: "10.20.0.24", vmId: 2024 });
    (cluster.upgrade as Cluster).maxParallelWorkers = 3;
    const run = await runStack("prod", cluster, {}, { previousOutputs: before.outputs });
    expect((run.error as Error).message).to.include(
      'cluster.upgrade.maxParallelWorkers: is 3, and this update\'s rolls run over the 3 nodes worker pool "general" (workerPools[0]) has now (w-1, w-2, w-3)',
    );
    (cluster.upgrade as Cluster).maxParallelWorkers = 2;
    succeeded(await runStack("prod", cluster, {}, { previousOutputs: before.outputs }));
  });

  it("lets the control plane shrink by a minority", async () => {
    const cluster = exampleCluster("prod");
    const file = readStackFile(join(PROJECT_DIR, "Pulumi.prod.yaml"), readProjectName(PROJECT_DIR), "prod");
    const five = Object.fromEntries(
      [1, 2, 3, 4, 5].map((i) => [`cp-${i}`, { role: "controlplane", scsiHardware: "virtio-scsi-pci" }]),
    );
    const run = await runOffline(program, {
      ...file,
      config: { ...file.config, "talos-proxmox:cluster": JSON.stringify(cluster) },
      previousOutputs: { nodes: five },
    });
    expect(run.error).to.equal(undefined);
  });

  describe("VM settings of existing VMs (a change would reboot a whole pool at once)", () => {
    async function update(previousNodes: Record<string, unknown>, edit: (c: Cluster) => void = () => {}) {
      const cluster = exampleCluster("homelab");
      edit(cluster);
      const file = readStackFile(
        join(PROJECT_DIR, "Pulumi.homelab.yaml"),
        readProjectName(PROJECT_DIR),
        "homelab",
      );
      return runOffline(program, {
        ...file,
        config: { ...file.config, "talos-proxmox:cluster": JSON.stringify(cluster) },
        previousOutputs: { nodes: previousNodes },
      });
    }
    // What a stack last updated by talos-proxmox 0.1 recorded: no controller.
    const before02 = {
      "cp-1": { role: "controlplane", ip: "192.168.10.11" },
      "w-1": { role: "worker", pool: "general", ip: "192.168.10.21" },
    };

    it("records each node's VM settings for the next update", async () => {
      const run = succeeded(await runStack("homelab"));
      const nodes = run.outputs?.nodes as Record<string, Record<string, unknown>>;
      expect(nodes["cp-1"]).to.include({
        pveNode: "pve",
        scsiHardware: "virtio-scsi-pci",
        cores: 2,
        memoryMiB: 4096,
        cpuType: "host",
        guestAgent: true,
      });
      expect(Object.values(nodes).every((n) => n.scsiHardware === "virtio-scsi-pci")).to.equal(true);
    });

    it("refuses to switch VMs of an older stack to the new default, naming the setting that keeps them", async () => {
      const run = await update(before02);
      expect(run.error).to.be.instanceOf(Error);
      const message = (run.error as Error).message;
      expect(message).to.match(
        /cluster\.controlPlane\.scsiHardware: is not set, and its default is now "virtio-scsi-pci".*cp-1 were created with the earlier default "virtio-scsi-single".*Set scsiHardware: virtio-scsi-single/,
      );
      expect(message).to.match(/cluster\.workerPools\[0\]\.scsiHardware: is not set/);
    });

    it("keeps them as they are once the stack names their controller", async () => {
      const run = succeeded(
        await update(before02, (c) => {
          (c.controlPlane as Cluster).scsiHardware = "virtio-scsi-single";
          for (const pool of c.workerPools as Cluster[]) {
            pool.scsiHardware = "virtio-scsi-single";
          }
        }),
      );
      for (const vm of ofType(run, TYPES.vm)) {
        expect(vm.inputs.scsiHardware, vm.name).to.equal("virtio-scsi-single");
      }
    });

    it("refuses a controller change on recorded control planes, with the safe way", async () => {
      const recorded = {
        "cp-1": { role: "controlplane", ip: "192.168.10.11", scsiHardware: "virtio-scsi-pci" },
      };
      const run = await update(
        recorded,
        (c) => ((c.controlPlane as Cluster).scsiHardware = "virtio-scsi-single"),
      );
      expect((run.error as Error).message).to.match(
        /cluster\.controlPlane\.scsiHardware: would change the SCSI controller of the VMs cp-1 from "virtio-scsi-pci" to "virtio-scsi-single", which reboots every VM of the pool at once\. Keep "virtio-scsi-pci"\. To change it, do it one node at a time in Proxmox/,
      );
    });

    it("accepts control-plane settings changed by hand once, and refuses the flag when nothing changed", async () => {
      const recorded = {
        "cp-1": { role: "controlplane", ip: "192.168.10.11", scsiHardware: "virtio-scsi-pci", cores: 2 },
      };
      const byHand = (c: Cluster) => ((c.upgrade as Cluster) = { vmSettingsChangedByHand: true });
      succeeded(
        await update(recorded, (c) => {
          (c.controlPlane as Cluster).cores = 4;
          byHand(c);
        }),
      );
      const run = await update(recorded, byHand);
      expect((run.error as Error).message).to.match(
        /cluster\.upgrade\.vmSettingsChangedByHand: is true, but no VM setting differs from what the last update recorded\. Remove it/,
      );
    });

    it("refuses resizing a worker pool in place: the safe way is a new pool", async () => {
      const recorded = {
        "w-1": {
          role: "worker",
          pool: "general",
          ip: "192.168.10.21",
          scsiHardware: "virtio-scsi-pci",
          cores: 2,
          memoryMiB: 4096,
        },
      };
      const run = await update(recorded, (c) => ((c.workerPools as Cluster[])[0].cores = 4));
      expect((run.error as Error).message).to.match(
        /cluster\.workerPools\[0\]\.cores: would change the cores of the VMs w-1 from 2 to 4, which reboots every VM of the pool at once\. Keep 2\. To change it, add a pool with the new value, let its nodes join, then remove this pool\./,
      );
    });

    it("refuses adding or removing the guest agent on existing VMs, once, at the extensions", async () => {
      const recorded = {
        "cp-1": {
          role: "controlplane",
          ip: "192.168.10.11",
          scsiHardware: "virtio-scsi-pci",
          guestAgent: true,
        },
        "w-1": {
          role: "worker",
          pool: "general",
          ip: "192.168.10.21",
          scsiHardware: "virtio-scsi-pci",
          guestAgent: true,
        },
      };
      const run = await update(
        recorded,
        (c) => ((c.image as Cluster).extensions = ["siderolabs/iscsi-tools", "siderolabs/util-linux-tools"]),
      );
      const message = (run.error as Error).message;
      expect(message).to.match(
        /cluster\.image\.extensions: would change the guest agent \(siderolabs\/qemu-guest-agent\) of the VMs cp-1 from true to false/,
      );
      expect(message).to.match(
        /cluster\.image\.extensions: would change the guest agent \(siderolabs\/qemu-guest-agent\) of the VMs w-1 from true to false/,
      );
    });

    it("refuses moving a node to another Proxmox node or VM id, which replaces its VM: two updates instead", async () => {
      const recorded = {
        "cp-1": {
          role: "controlplane",
          ip: "192.168.10.11",
          pveNode: "pve",
          vmId: 1011,
          scsiHardware: "virtio-scsi-pci",
        },
        "w-1": {
          role: "worker",
          pool: "general",
          ip: "192.168.10.21",
          pveNode: "pve",
          vmId: 1021,
          scsiHardware: "virtio-scsi-pci",
        },
      };
      const run = await update(recorded, (c) => {
        ((c.controlPlane as Cluster).nodes as Cluster[])[0].pveNode = "pve2";
        ((c.workerPools as Cluster[])[0].nodes as Cluster[])[0].vmId = 2021;
        (c.image as Cluster).sharedDatastore = true;
      });
      const message = (run.error as Error).message;
      expect(message).to.match(
        /cluster\.controlPlane\.nodes\[0\]\.pveNode: would move cp-1 from Proxmox node "pve" to "pve2", which replaces its VM.*Remove cp-1 from the stack and pulumi up.*then add it back/,
      );
      expect(message).to.match(
        /cluster\.workerPools\[0\]\.nodes\[0\]\.vmId: would change the VM id of w-1 from 1021 to 2021/,
      );
    });

    it("takes new nodes and recorded ones that keep their controller", async () => {
      const recorded = {
        "cp-1": { role: "controlplane", ip: "192.168.10.11", scsiHardware: "virtio-scsi-pci" },
      };
      succeeded(await update(recorded));
    });
  });

  it("skips drains and etcd leaves once the stack says the whole cluster goes", async () => {
    const [, after] = await bumped("homelab", (c) => (c.teardown = true));
    for (const command of ofType(after, COMMAND).filter((c) => c.name.endsWith("-decommission"))) {
      expect((command.inputs.environment as Record<string, string>).TEARDOWN, command.name).to.equal("true");
    }
  });

  it("protects prod's control-plane decommission commands with their VMs", async () => {
    const run = succeeded(await runStack("prod"));
    const commands = ofType(run, COMMAND).filter((c) => c.name.endsWith("-decommission"));
    expect(commands.filter((c) => c.options.protect).map((c) => c.name)).to.deep.equal([
      "prod-cp-1-decommission",
      "prod-cp-2-decommission",
      "prod-cp-3-decommission",
    ]);
  });

  it("keeps every secret off the commands' command lines and environment", async () => {
    const run = succeeded(await runStack("prod"));
    for (const command of ofType(run, COMMAND)) {
      expect(command.inputs.stdin, command.name).to.equal(SECRET);
      const visible = JSON.stringify([
        command.inputs.interpreter,
        command.inputs.create,
        command.inputs.update,
        command.inputs.delete,
        command.inputs.environment,
      ]);
      expect(visible, command.name).to.not.match(/FAKE-|\[secret\]/);
    }
  });

  it("never waits for a worker's decommission or roll before bootstrap", async () => {
    const run = succeeded(await runStack("homelab"));
    const bootstrap = ofType(run, TYPES.bootstrap)[0];
    for (const command of ofType(run, COMMAND).filter((c) => c.name.includes("general"))) {
      expect(waitsOn(run, bootstrap, command), command.name).to.equal(false);
    }
  });
});
