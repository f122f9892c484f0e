/**
 * The offline plan CLI: the files it writes, their determinism, secrets, and refusals.
 */
import { expect } from "chai";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { deploymentMermaid, topologyMermaid } from "../tools/offline/diagrams";
import { machineConfigs, outputsJson, resourcesJson } from "../tools/offline/render";
import { exampleCluster, planCli as plan, PROJECT_DIR, runStack, succeeded } from "./harness";

function readTree(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      files[path.slice(dir.length + 1)] = readFileSync(path, "utf8");
    }
  }
  return files;
}

describe("offline plan (npm run plan)", function () {
  this.timeout(60_000);
  const work = mkdtempSync(join(tmpdir(), "talos-proxmox-plan-"));

  it("prints the tree and writes resources.json, outputs.json, both diagrams and machine-config/", () => {
    const out = join(work, "homelab");
    const result = plan("--stack", "homelab", "--out", out);
    expect(result.status, result.stderr).to.equal(0);
    expect(result.stdout).to.match(
      /└─ talos-proxmox:index:TalosCluster {2}homelab\n {3}├─ talos-proxmox:index:TalosImage {2}homelab-image\n/,
    );
    expect(result.stdout).to.match(
      /├─ talos-proxmox:index:ControlPlane {2}homelab\n {3}│ {2}├─ talos-proxmox:index:ClusterUpgrade {2}homelab-upgrade/,
    );
    expect(result.stdout).to.match(/32 resources, 10 components, 6 provider calls\./);

    const resources = JSON.parse(readFileSync(join(out, "resources.json"), "utf8")) as Record<
      string,
      unknown
    >[];
    expect(resources[0]).to.include({ type: "pulumi:pulumi:Stack", parent: null });
    for (const r of resources) {
      expect(r).to.have.keys("urn", "type", "name", "custom", "parent", "inputs", "dependencies", "options");
      expect(r.options).to.include.keys("protect", "ignoreChanges", "retainOnDelete", "deleteBeforeReplace");
    }
    const outputs = JSON.parse(readFileSync(join(out, "outputs.json"), "utf8")) as Record<string, unknown>;
    expect(outputs.installerImage).to.match(
      /^factory\.talos\.dev\/nocloud-installer\/[0-9a-f]{64}:v1\.14\.1$/,
    );
    const topology = readFileSync(join(out, "topology.mmd"), "utf8");
    expect(topology).to.match(/^flowchart TB\n/);
    expect(topology).to.include(
      'vip(["Kubernetes API https://192.168.10.50:6443<br/>VIP held by Talos on one control plane"])',
    );
    expect(topology).to.include(
      'lb0[/"LoadBalancer Services<br/>192.168.10.200-192.168.10.209 (range, kube-vip, global)"/]',
    );
    expect(topology).to.include(
      '  subgraph pve0["Proxmox node pve"]\n    vm0["cp-1<br/>control plane<br/>192.168.10.11<br/>vmid 1011"]',
    );
    expect(topology).to.include("  vip -.- vm0\n  lb0 -.- pve0\n");
    const deployment = readFileSync(join(out, "deployment.mmd"), "utf8");
    expect(deployment).to.match(/^flowchart LR\n/);
    expect(deployment).to.include('subgraph c3["WorkerPool homelab-general"]');
    expect(deployment).to.include('["VmLegacy ×2<br/>homelab-general-w-1 …"]');
    expect(readdirSync(join(out, "machine-config")).sort()).to.deep.equal([
      "cp-1.yaml",
      "w-1.yaml",
      "w-2.yaml",
    ]);
    expect(readFileSync(join(out, "machine-config", "cp-1.yaml"), "utf8")).to.match(
      /^# cp-1 \(controlplane, 192\.168\.10\.11\)/,
    );
  });

  it("writes byte-identical files on every run of a stack", () => {
    const [a, b] = ["a", "b"].map((name) => {
      const out = join(work, `determinism-${name}`);
      expect(plan("--stack", "prod", "--out", out).status).to.equal(0);
      return readTree(out);
    });
    expect(Object.keys(a)).to.include.members([
      "resources.json",
      "outputs.json",
      "topology.mmd",
      "deployment.mmd",
    ]);
    expect(a).to.deep.equal(b);
  });

  it("gives every VM of prod the Talos settings and an ISO on its own Proxmox node", async () => {
    const run = succeeded(await runStack("prod"));
    const resources = JSON.parse(resourcesJson(run)) as { type: string; inputs: Record<string, unknown> }[];
    const vms = resources.filter((r) => r.type === "proxmoxve:index/vmLegacy:VmLegacy");
    const isos = new Map(
      resources
        .filter((r) => r.type === "proxmoxve:download/file:File")
        .map((r) => [r.inputs.nodeName, `local:iso/${String(r.inputs.fileName)}`]),
    );
    expect([...isos.keys()]).to.deep.equal(["pve1", "pve2", "pve3"]);
    expect(vms).to.have.length(6);
    for (const { inputs } of vms) {
      expect(inputs).to.include({ bios: "ovmf", machine: "q35", scsiHardware: "virtio-scsi-pci" });
      expect(inputs.cpu).to.include({ type: "host" });
      expect(inputs.memory).to.include({ floating: 0 });
      expect((inputs.disks as Record<string, unknown>[])[0]).to.include({ iothread: false, discard: "on" });
      expect(inputs.agent).to.include({ enabled: true });
      expect(inputs.cdrom).to.deep.equal({ fileId: isos.get(inputs.nodeName), interface: "ide0" });
      expect(inputs.networkDevices).to.deep.equal([
        { bridge: "vmbr1", vlanId: 20, model: "virtio", firewall: false },
      ]);
    }
  });

  it("protects prod's control-plane VMs and not its workers", async () => {
    const run = succeeded(await runStack("prod"));
    const vms = run.resources.filter((r) => r.type === "proxmoxve:index/vmLegacy:VmLegacy");
    expect(vms.filter((r) => r.options.protect).map((r) => r.name)).to.deep.equal([
      "prod-cp-1",
      "prod-cp-2",
      "prod-cp-3",
    ]);
  });

  it("renders the same views from two runs of one stack", async () => {
    const [a, b] = [await runStack("homelab"), await runStack("homelab")].map((run) => [
      resourcesJson(run),
      outputsJson(run),
      topologyMermaid(run),
      deploymentMermaid(run),
      [...machineConfigs(run)],
    ]);
    expect(a).to.deep.equal(b);
  });

  it("turns encrypted config values into secret placeholders", () => {
    const dir = join(work, "secure");
    const file = join(work, "Pulumi.secure.yaml");
    writeFileSync(
      file,
      stringify({
        config: {
          "proxmoxve:endpoint": "https://pve.example.net:8006/",
          "proxmoxve:apiToken": { secure: "v1:CIPHERTEXT-THAT-MUST-NOT-LEAK" },
          "talos-proxmox:cluster": exampleCluster("homelab"),
        },
      }),
    );
    const result = plan("--config-file", file, "--out", dir);
    expect(result.status, result.stderr).to.equal(0);
    const files = readTree(dir);
    const provider = (
      JSON.parse(files["resources.json"]) as { type: string; inputs: Record<string, unknown> }[]
    ).find((r) => r.type === "pulumi:providers:proxmoxve");
    expect(provider?.inputs.apiToken).to.equal("[secret]");
    expect(JSON.stringify(files) + result.stdout).to.not.include("CIPHERTEXT");
  });

  it("refuses an invalid config with its errors, exits non-zero and writes nothing", () => {
    const cluster = exampleCluster("homelab");
    cluster.name = "Not A Label";
    const file = join(work, "Pulumi.broken.yaml");
    writeFileSync(
      file,
      stringify({ config: { "proxmoxve:endpoint": "https://pve:8006/", "talos-proxmox:cluster": cluster } }),
    );
    const out = join(work, "broken");
    const result = plan("--config-file", file, "--out", out);
    expect(result.status).to.equal(1);
    expect(result.stderr).to.match(
      /Invalid configuration of stack "broken": 1 problem\n {2}- cluster\.name: /,
    );
    expect(existsSync(out)).to.equal(false);
  });

  it("reports a stack file that is not YAML with its line, and no stack trace", () => {
    const file = join(work, "Pulumi.typo.yaml");
    writeFileSync(file, "config:\n  talos-proxmox:cluster:\n    name: lab\n   vip: [\n");
    const out = join(work, "typo");
    const result = plan("--config-file", file, "--out", out);
    expect(result.status).to.equal(1);
    expect(result.stderr).to.include(`${file}:4:1: not valid YAML: `);
    expect(result.stderr).to.not.match(/^\s+at /m);
    expect(existsSync(out)).to.equal(false);
  });

  it("reports a missing stack file with what to do, and no stack trace", () => {
    const result = plan("--stack", "nosuch");
    expect(result.status).to.equal(1);
    expect(result.stderr).to.match(
      /Pulumi\.nosuch\.yaml: no such file\. Create it \(copy Pulumi\.homelab\.yaml/,
    );
    expect(result.stderr).to.not.match(/^\s+at /m);
  });

  describe("against an earlier plan (--against)", () => {
    const earlier = join(work, "prod-before");
    const edited = (edit: (text: string) => string) => {
      const file = join(work, "Pulumi.prod.yaml");
      writeFileSync(file, edit(readFileSync(join(PROJECT_DIR, "Pulumi.prod.yaml"), "utf8")));
      return file;
    };
    const against = (edit: (text: string) => string) =>
      plan("--config-file", edited(edit), "--against", earlier);
    before(() => {
      expect(plan("--stack", "prod", "--out", earlier).status).to.equal(0);
    });

    it("shows each resource a Talos bump changes, with its effect, most disruptive first", () => {
      const result = against((text) => text.replace("talosVersion: v1.14.1", "talosVersion: v1.14.2"));
      expect(result.status, result.stderr).to.equal(0);
      const lines = result.stdout.slice(result.stdout.indexOf("Resources:\n")).trim().split("\n");
      expect(lines[1]).to.match(
        /^update +rolling Talos upgrade +prod-upgrade-rollout +talosctl upgrade from v1\.14\.1 to v1\.14\.2, node by node/,
      );
      expect(lines.filter((l) => / live config +prod-.*-config /.test(l))).to.have.length(6);
      expect(lines.at(-1)).to.equal(
        "0 to create, 14 to update, 0 to replace, 0 to delete. Overall: rolling Talos upgrade.",
      );
    });

    it("shows a patch Talos v1.14 puts in effect only at a boot as applied live, then rolled", () => {
      const result = against((text) =>
        text.replace(
          "    workerPools:\n      - name: general\n",
          "    workerPools:\n      - name: general\n        configPatches: [{ machine: { kernel: { modules: [{ name: nbd }] } } }]\n",
        ),
      );
      expect(result.status, result.stderr).to.equal(0);
      expect(result.stdout.match(/live config, rolling reboot +prod-general-w-\d-config/g)).to.have.length(3);
      expect(result.stdout).to.not.include("staged config, rolling reboot");
    });

    it("says downgrade where a version goes down, and names both targets of a combined bump", () => {
      // Issue 19, item 7: a downgrade previewed as an upgrade.
      const talosDown = against((text) => text.replace("talosVersion: v1.14.1", "talosVersion: v1.14.0"));
      expect(talosDown.status, talosDown.stderr).to.equal(0);
      expect(talosDown.stdout).to.include(
        "talosctl upgrade from v1.14.1 to v1.14.0 (a downgrade, which Talos's installer allows within a minor)",
      );
      const both = against((text) =>
        text.replace("talosVersion: v1.14.1", "talosVersion: v1.14.2").replace('"1.36.1"', '"1.36.0"'),
      );
      expect(both.status, both.stderr).to.equal(0);
      expect(both.stdout).to.include(
        "talosctl upgrade from v1.14.1 to v1.14.2, node by node, drained, health-gated; then talosctl upgrade-k8s from 1.36.1 to 1.36.0 (a downgrade, within its minor, which upgrade-k8s allows)",
      );
    });

    it("refuses a Kubernetes move upgrade-k8s cannot make: down a minor, or over one", () => {
      // Issue 19, item 7: either failed in upgrade-k8s, after the whole Talos roll.
      const down = against((text) => text.replace('"1.36.1"', '"1.35.4"'));
      expect(down.status).to.equal(1);
      expect(down.stderr).to.include(
        'cluster.kubernetesVersion: "1.35.4" would take Kubernetes from 1.36.1, which the last update ran, down a minor: talosctl upgrade-k8s never moves to an older minor',
      );
      const older = join(work, "prod-1.34");
      expect(
        plan(
          "--config-file",
          edited((text) => text.replace('"1.36.1"', '"1.34.2"')),
          "--out",
          older,
        ).status,
      ).to.equal(0);
      const jump = plan("--stack", "prod", "--against", older);
      expect(jump.status).to.equal(1);
      expect(jump.stderr).to.include(
        'cluster.kubernetesVersion: "1.36.1" would take Kubernetes from 1.34.2, which the last update ran, over 1.35: talosctl upgrade-k8s moves one minor at a time (go-kubernetes upgrade/path.go). Set the newest 1.35.x and run pulumi up, then go on to 1.36.1.',
      );
    });

    it("refuses what the real stack would refuse, reading the earlier plan's outputs", () => {
      const result = against((text) => text.replace("cores: 8", "cores: 16"));
      expect(result.status).to.equal(1);
      expect(result.stderr).to.match(
        /cluster\.workerPools\[0\]\.cores: would change the cores of the VMs w-1, w-2, w-3/,
      );
    });

    it("says there is nothing to do against itself", () => {
      const result = plan("--stack", "prod", "--against", earlier);
      expect(result.stdout).to.include("No changes: pulumi up would leave every resource as it is.");
    });

    it("names a directory that no --out wrote", () => {
      const result = plan("--stack", "prod", "--against", join(work, "nowhere"));
      expect(result.status).to.equal(2);
      expect(result.stderr).to.match(
        /resources\.json and .*outputs\.json not found: --against takes a directory an earlier --out wrote/,
      );
    });
  });

  it("explains its usage when called wrongly", () => {
    const result = plan("--stak", "homelab");
    expect(result.status).to.equal(2);
    expect(result.stderr).to.match(/usage: npm run plan -- \(--stack <name> \| --config-file <path>\)/);
  });
});
