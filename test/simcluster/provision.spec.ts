/**
 * A simulated cluster provisioned from nothing as a real one is, with real talosctl v1.14.1 and kubectl:
 * VMs booted from the ISO come up in maintenance mode, take the configs talosctl generates (its own
 * secrets bundle) without credentials, install and reboot into them; the cluster's bootstrap starts etcd
 * and the real kube-apiserver with the Kubernetes CA of those secrets, so the talosconfig and the
 * kubeconfig talosctl gives work. What the end-to-end lane (issue 21) builds its stand-in providers on.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { SimulatedCluster, startEmptyCluster } from "../../tools/simcluster/cluster";
import { clusterTools, events, waitForEvent } from "./harness";

const ENDPOINT = "https://127.0.0.40:6443";
const CP = { name: "cp-1", ip: "127.0.0.41" };
const WORKER = { name: "w-1", ip: "127.0.0.42" };
const SCHEMATIC = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";
/** The ISO as the proxmoxve stand-in records a download (tools/engine/standin/proxmoxve.go fileCreate). */
const ISO = {
  id: "local:iso/talos.iso",
  url: `https://factory.talos.dev/image/${SCHEMATIC}/v1.14.1/nocloud-amd64.iso`,
};

/** Real talosctl v1.14.1: its output, or the error with its output. */
function talosctl(cluster: SimulatedCluster, args: string[]): string {
  return execFileSync(clusterTools().talosctl114, args, {
    env: { HOME: cluster.dir, PATH: cluster.env.PATH },
    encoding: "utf8",
    stdio: "pipe",
  });
}

function talosctlFails(cluster: SimulatedCluster, args: string[]): string {
  try {
    talosctl(cluster, args);
  } catch (error) {
    const { stderr, stdout } = error as { stderr: string; stdout: string };
    return `${stdout}${stderr}`;
  }
  throw new Error(`talosctl ${args.join(" ")} succeeded`);
}

/** The specs of a `talosctl get -o json` stream: one JSON document per resource. */
function specs(output: string): Record<string, unknown>[] {
  return parseAllDocuments(output.replace(/}\s*{/g, "}\n---\n{")).map(
    (doc) => (doc.toJS() as { spec: Record<string, unknown> }).spec,
  );
}

describe("a simulated cluster provisioned from nothing (real talosctl v1.14.1, kubectl, kube-apiserver)", function () {
  this.timeout(300_000);
  let cluster: SimulatedCluster;
  let gen: string;
  let talosconfig: string;
  const secure = (node: string, ...args: string[]) =>
    talosctl(cluster, ["--talosconfig", talosconfig, "-e", CP.ip, "-n", node, ...args]);

  before(async function () {
    this.timeout(60 * 60_000); // a cold build of the programs
    clusterTools();
    cluster = await startEmptyCluster(clusterTools());
    gen = join(cluster.dir, "gen");
    mkdirSync(gen);
    talosconfig = join(gen, "talosconfig");
    // The secrets and configs as talosctl makes them (machinery's secrets bundle and generator), in the
    // v1.13 config contract the library's configs have (the Talos provider 0.8.1 renders with machinery
    // v1.13), which v1.14 nodes take. talosctl v1.14.1's own contract writes the config as 28 documents
    // (KubeClusterConfig, KubeAPIServerConfig...) that talos-api's machinery v1.13.9 does not know.
    talosctl(cluster, ["gen", "secrets", "-o", join(gen, "secrets.yaml")]);
    talosctl(cluster, [
      ...["gen", "config", "lab", ENDPOINT, "--talos-version", "v1.13"],
      ...["--with-secrets", join(gen, "secrets.yaml"), "-o", gen],
    ]);
    for (const node of [CP, WORKER]) {
      const patch = { apiVersion: "v1alpha1", kind: "HostnameConfig", hostname: node.name, auto: "off" };
      writeFileSync(join(gen, `${node.name}.patch.yaml`), JSON.stringify(patch));
    }
  });

  after(async () => {
    await cluster?.stop();
  });

  it("boots a VM from the ISO into maintenance mode, which answers only without credentials", async () => {
    await cluster.addISO(ISO);
    await cluster.addMachine({ ...CP, iso: ISO.id });
    await cluster.addMachine({ ...WORKER, iso: ISO.id });
    const [status] = specs(
      talosctl(cluster, ["get", "machinestatus", "--insecure", "-e", CP.ip, "-n", CP.ip, "-o", "json"]),
    );
    expect(status.stage).to.equal("maintenance");
    const version = talosctl(cluster, ["version", "--insecure", "-e", CP.ip, "-n", CP.ip]);
    expect(version).to.match(/Tag:\s+v1\.14\.1/);
    // The cluster's talosconfig does not trust the maintenance certificate.
    expect(
      talosctlFails(cluster, ["--talosconfig", talosconfig, "-e", CP.ip, "-n", CP.ip, "version"]),
    ).to.match(/certificate|authority/i);
  });

  it("takes each node's config without credentials, installs, and boots into it with the cluster's Talos CA", async () => {
    for (const [node, file] of [
      [CP, "controlplane.yaml"],
      [WORKER, "worker.yaml"],
    ] as const) {
      talosctl(cluster, [
        "apply-config",
        "--insecure",
        "-e",
        node.ip,
        "-n",
        node.ip,
        "--file",
        join(gen, file),
        "--config-patch",
        `@${join(gen, `${node.name}.patch.yaml`)}`,
      ]);
    }
    await waitForEvent(cluster, "cp-1", "up");
    await waitForEvent(cluster, "w-1", "up");
    const timeline = await cluster.timeline();
    expect(events(timeline, "installing")).to.have.members(["cp-1", "w-1"]);
    // The generated talosconfig works now; the maintenance API is gone.
    const [version] = specs(secure(WORKER.ip, "get", "version", "-o", "json"));
    expect(version.version).to.equal("v1.14.1");
    const [hostname] = specs(secure(CP.ip, "get", "nodename", "-o", "json"));
    expect(hostname.nodename).to.equal("cp-1");
    expect(
      talosctlFails(cluster, ["get", "machinestatus", "--insecure", "-e", CP.ip, "-n", CP.ip]),
    ).to.not.equal("");
  });

  it("bootstraps once: the apiserver runs with the secrets' Kubernetes CA, and every node registers", async () => {
    secure(CP.ip, "bootstrap");
    expect(
      talosctlFails(cluster, ["--talosconfig", talosconfig, "-e", CP.ip, "-n", CP.ip, "bootstrap"]),
    ).to.include("etcd data directory is not empty");
    await waitForEvent(cluster, "cp-1", "kubernetes-up");
    const kubeconfig = join(gen, "kubeconfig");
    secure(CP.ip, "kubeconfig", "--force", "--merge=false", kubeconfig);
    const kubectl = (...args: string[]) =>
      execFileSync(clusterTools().kubectl, ["--kubeconfig", kubeconfig, ...args], { encoding: "utf8" });
    kubectl("wait", "--for=create", "node/cp-1", "node/w-1", "--timeout", "60s");
    kubectl("wait", "--for=condition=Ready", "node/cp-1", "node/w-1", "--timeout", "60s");
    const nodes = JSON.parse(kubectl("get", "nodes", "-o", "json")) as {
      items: { metadata: { name: string }; status: { nodeInfo: { kubeletVersion: string } } }[];
    };
    // The kubelet of the generated configs (machine.kubelet.image, a tag of talosctl's default Kubernetes).
    const [worker] = parseAllDocuments(readFileSync(join(gen, "worker.yaml"), "utf8")).map(
      (doc) => doc.toJS() as { machine: { kubelet: { image: string } } },
    );
    const kubelet = worker.machine.kubelet.image.split(":").at(-1);
    expect(kubelet).to.match(/^v1\.\d+\.\d+$/);
    expect(nodes.items.map((n) => [n.metadata.name, n.status.nodeInfo.kubeletVersion])).to.deep.equal([
      ["cp-1", kubelet],
      ["w-1", kubelet],
    ]);
    expect(secure(CP.ip, "etcd", "members")).to.include("cp-1");
    secure(
      CP.ip,
      "health",
      "--control-plane-nodes",
      CP.ip,
      "--worker-nodes",
      WORKER.ip,
      "--wait-timeout",
      "1m",
    );
  });

  it("reboots a node undrained when Proxmox reboots its VM after an update that needs it", async () => {
    const before = (await cluster.timeline()).length;
    await cluster.rebootMachine(WORKER.ip);
    await waitForEvent(cluster, "w-1", "vm-reboot");
    const deadline = Date.now() + 30_000;
    while (events((await cluster.timeline()).slice(before), "up").length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const after = (await cluster.timeline()).slice(before);
    expect(events(after, "down", true)).to.deep.equal(["w-1 reboot"]);
    expect(events(after, "up")).to.deep.equal(["w-1"]);
    expect(events(after, "cordoned")).to.deep.equal([]);
  });

  it("stops a deleted VM's node for good", async () => {
    await cluster.deleteMachine(WORKER.ip);
    expect(events(await cluster.timeline(), "vm-deleted")).to.deep.equal(["w-1"]);
    expect(
      talosctlFails(cluster, ["--talosconfig", talosconfig, "-e", CP.ip, "-n", WORKER.ip, "version"]),
    ).to.match(/Unavailable|refused/);
  });
});
