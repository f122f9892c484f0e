/**
 * A simulated cluster on loopback for the day-2 scripts: real etcd v3.6.8 and kube-apiserver v1.36.3
 * (run by talos-api), real talosctl (v1.13.9, or v1.14.1 for a v1.14 cluster) and kubectl v1.36.3 on the
 * PATH, and talos-api (tools/simcluster/talos/talos-api), the stand-in for the Talos nodes, one listener
 * per node on 127.0.0.x:50000. Each program is built from the Go module proxy once per source version
 * into the cache by tools/go-tool.sh.
 */
import { ChildProcess, spawn } from "node:child_process";
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { goTool } from "../go-tool";

const KUBE_MODULE = join(__dirname, "kube");
const TALOS_MODULE = join(__dirname, "talos");
/** talosctl v1.14.1 (Talos's own module of that release; its stand-ins for refused modules in go.mod). */
const TALOS_114_MODULE = join(__dirname, "talos114");
/** Both report the release's version, as release builds do (k8s.io/component-base/version). */
const KUBERNETES_LDFLAGS = [
  "-X k8s.io/component-base/version.gitVersion=v1.36.3",
  "-X k8s.io/component-base/version.gitMajor=1",
  "-X k8s.io/component-base/version.gitMinor=36",
  "-X k8s.io/component-base/version.gitTreeState=clean",
].join(" ");

export interface ClusterTools {
  etcd: string;
  kubeApiserver: string;
  kubectl: string;
  talosctl: string;
  /** talosctl v1.14.1, for a cluster on (or rolling to) Talos v1.14: see {@link talosctlEnv}. */
  talosctl114: string;
  talosApi: string;
}

/** A cluster's environment with the talosctl of this Talos minor behind the PATH's `talosctl`. */
export function talosctlEnv(tools: ClusterTools, minor: "v1.13" | "v1.14"): Record<string, string> {
  return { TALOS_PROXMOX_SIM_TALOSCTL: minor === "v1.14" ? tools.talosctl114 : tools.talosctl };
}

/** Builds the six programs (each once per source version). Cold, about 30 minutes on 2 cores. */
export function buildClusterTools(): ClusterTools {
  return {
    etcd: goTool(KUBE_MODULE, ["./etcd"]),
    kubectl: goTool(KUBE_MODULE, ["k8s.io/kubernetes/cmd/kubectl", "-ldflags", KUBERNETES_LDFLAGS]),
    kubeApiserver: goTool(KUBE_MODULE, [
      "k8s.io/kubernetes/cmd/kube-apiserver",
      "-ldflags",
      KUBERNETES_LDFLAGS,
    ]),
    talosctl: goTool(TALOS_MODULE, ["github.com/siderolabs/talos/cmd/talosctl"]),
    talosctl114: goTool(TALOS_114_MODULE, ["github.com/siderolabs/talos/cmd/talosctl"]),
    talosApi: goTool(TALOS_MODULE, ["./talos-api"]),
  };
}

export interface NodeSpec {
  name: string;
  ip: string;
  role: "controlplane" | "worker";
  version: string;
  schematic: string;
  kubelet: string;
  config: string;
  registerAfterMs?: number;
}

/**
 * A VM booted from the Talos ISO: its name, its address, and the ISO: one a datastore downloaded (its
 * file id, addISO), or its Talos version and schematic.
 */
export type MachineSpec = { name: string; ip: string } & (
  { iso: string } | { version: string; schematic: string }
);

export type FaultKind =
  | "fail-upgrade"
  | "fail-reboot"
  | "unreachable"
  | "etcd-unhealthy"
  | "stay-notready"
  | "cilium-unavailable"
  | "keep-staged"
  | "block-drain";

export interface NodeState {
  name: string;
  ip: string;
  role: string;
  version: string;
  schematic: string;
  kubelet: string;
  up: boolean;
  staged: boolean;
  etcdMember: boolean;
  gone: boolean;
  config: string;
  /** The config the node last booted into: what its boot-time settings (etcd's, files...) run with. */
  bootedWith: string;
}

export interface TimelineEntry {
  ms: number;
  node: string;
  event: string;
  detail?: string;
}

export interface SimulatedCluster {
  dir: string;
  /**
   * The environment the scripts run in: a PATH with talosctl (real, but for upgrade-k8s:
   * tools/simcluster/upgrade-k8s.sh) and real kubectl first, then node and the system's tools.
   */
  env: Record<string, string>;
  /** Each upgrade-k8s call, one line each ("upgrade-k8s --to 1.36.3"). */
  upgradeK8sCalls(): string[];
  talosconfig: string;
  kubeconfig: string;
  fault(kind: FaultKind, node: string, set?: boolean): Promise<void>;
  addNode(spec: NodeSpec): Promise<void>;
  /** An ISO downloaded to a Proxmox datastore (an Image Factory URL): VMs may boot it by its id. */
  addISO(iso: { id: string; url: string }): Promise<void>;
  /** A VM booted from the Talos ISO at this address: a node in maintenance mode (an empty cluster only). */
  addMachine(spec: MachineSpec): Promise<void>;
  /** Proxmox reboots the VM at this address (after an update that needs it): Talos's reboot, undrained. */
  rebootMachine(ip: string): Promise<void>;
  /** The VM at this address is deleted: its node goes down for good. */
  deleteMachine(ip: string): Promise<void>;
  nodes(): Promise<NodeState[]>;
  /** The part of talosctl upgrade-k8s that stays a stand-in: every kubelet moves to the version. */
  kubernetes(version: string): Promise<void>;
  timeline(): Promise<TimelineEntry[]>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  // talos-api stops its apiserver and etcd first, each within 10 seconds.
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts talos-api, which runs the apiserver and etcd too. With nodes: a cluster that runs, those nodes
 * configured, Kubernetes up. Without: an empty cluster, provisioned as a real one is (addMachine, then
 * real talosctl: apply-config --insecure, bootstrap). Always call stop(): it stops talos-api, which stops
 * the apiserver before etcd.
 */
async function startTalosApi(tools: ClusterTools, specs?: NodeSpec[]): Promise<SimulatedCluster> {
  const dir = mkdtempSync(join(tmpdir(), "talos-proxmox-cluster-"));
  const bin = join(dir, "bin");
  mkdirSync(bin);
  symlinkSync(join(__dirname, "upgrade-k8s.sh"), join(bin, "talosctl"));
  symlinkSync(tools.kubectl, join(bin, "kubectl"));
  const log = join(dir, "talos-api.log");
  let talosApi: ChildProcess | undefined;
  const stop = async () => {
    await stopProcess(talosApi);
    if (!process.env.TALOS_PROXMOX_KEEP_CLUSTER) {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  try {
    const kubeconfig = join(dir, "kubeconfig");
    const talosconfig = join(dir, "talosconfig");
    const args = [
      "-dir",
      dir,
      "-etcd",
      tools.etcd,
      "-kube-apiserver",
      tools.kubeApiserver,
      "-kubeconfig",
      kubeconfig,
      "-control",
      "127.0.0.1:0",
    ];
    if (specs) {
      const nodesFile = join(dir, "nodes.json");
      writeFileSync(nodesFile, JSON.stringify(specs));
      args.push("-nodes", nodesFile, "-talosconfig", talosconfig);
    }
    // Output goes to a log file, not a pipe: a pipe nobody reads while a test waits would block the program.
    const fd = openSync(log, "w");
    talosApi = spawn(tools.talosApi, args, { stdio: ["ignore", fd, fd] });
    closeSync(fd);
    talosApi.on("exit", (code, signal) => {
      if (code !== 0 && signal === null) {
        process.stderr.write(`talos-api exited with ${code}; its log: ${log}\n`);
      }
    });
    let control: string | undefined;
    while (!control) {
      const found = /^control (\S+)$/m.exec(readFileSync(log, "utf8"));
      if (found) {
        control = found[1];
      } else if (talosApi.exitCode !== null) {
        throw new Error(`talos-api exited: ${readFileSync(log, "utf8")}`);
      } else {
        await sleep(100);
      }
    }

    const calls = join(dir, "upgrade-k8s.calls");
    writeFileSync(calls, "");
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`http://${control}${path}`, {
        method,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!res.ok) {
        throw new Error(`talos-api ${method} ${path}: ${res.status} ${await res.text()}`);
      }
      return res;
    };
    return {
      dir,
      env: {
        PATH: [bin, dirname(process.execPath), "/usr/bin", "/bin"].join(":"),
        TALOS_PROXMOX_SIM_TALOSCTL: tools.talosctl,
        TALOS_PROXMOX_SIM_CONTROL: control,
        TALOS_PROXMOX_SIM_CALLS: calls,
      },
      upgradeK8sCalls: () => readFileSync(calls, "utf8").split("\n").filter(Boolean),
      talosconfig,
      kubeconfig,
      fault: async (kind, node, set = true) => void (await call("POST", "/faults", { kind, node, set })),
      addNode: async (spec) => void (await call("POST", "/nodes", spec)),
      addISO: async (iso) => void (await call("POST", "/isos", iso)),
      addMachine: async (spec) => void (await call("POST", "/machines", spec)),
      rebootMachine: async (ip) => void (await call("POST", `/machines/${ip}/reboot`)),
      deleteMachine: async (ip) => void (await call("DELETE", `/machines/${ip}`)),
      nodes: async () => (await (await call("GET", "/nodes")).json()) as NodeState[],
      kubernetes: async (version) => void (await call("POST", "/kubernetes", { version })),
      timeline: async () => (await (await call("GET", "/timeline")).json()) as TimelineEntry[],
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A cluster that runs: these nodes configured, etcd bootstrapped, Kubernetes up. */
export function startCluster(tools: ClusterTools, specs: NodeSpec[]): Promise<SimulatedCluster> {
  return startTalosApi(tools, specs);
}

/**
 * An empty cluster to provision as a real one is: machines boot from the ISO into maintenance mode
 * (addMachine), take their configs from real talosctl, and a control plane's bootstrap starts Kubernetes.
 * Its talosconfig and kubeconfig are whatever talosctl writes; `kubeconfig` is written once Kubernetes runs.
 */
export function startEmptyCluster(tools: ClusterTools): Promise<SimulatedCluster> {
  return startTalosApi(tools);
}
