/**
 * A simulated cluster on loopback for the day-2 scripts: real etcd v3.6.8 and kube-apiserver v1.36.3,
 * real talosctl (v1.13.9, or v1.14.1 for a v1.14 cluster) and kubectl v1.36.3 on the PATH, and talos-api
 * (tools/simcluster/talos/talos-api),
 * the stand-in for the Talos nodes, one mTLS listener per node on 127.0.0.x:50000. Each program is
 * built from the Go module proxy once per source version into the cache by tools/go-tool.sh.
 */
import { ChildProcess, spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
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
import { request } from "node:https";
import { createServer } from "node:net";
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
  nodes(): Promise<NodeState[]>;
  /** The part of talosctl upgrade-k8s that stays a stand-in: every kubelet moves to the version. */
  kubernetes(version: string): Promise<void>;
  timeline(): Promise<TimelineEntry[]>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address
          ? resolve(address.port)
          : reject(new Error("no free port on 127.0.0.1")),
      );
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The status of an anonymous GET of an apiserver path (/readyz is public: RBAC's system:public-info-viewer). */
function apiGet(port: number, path: string, ca: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path, ca }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", () => resolve(0));
    req.end();
  });
}

async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts etcd, the apiserver and the Talos stand-in with these nodes. Always call stop(): it stops the
 * stand-in, then the apiserver before etcd (an apiserver whose etcd is gone hangs on SIGTERM).
 */
export async function startCluster(tools: ClusterTools, specs: NodeSpec[]): Promise<SimulatedCluster> {
  const dir = mkdtempSync(join(tmpdir(), "talos-proxmox-cluster-"));
  const bin = join(dir, "bin");
  mkdirSync(bin);
  symlinkSync(join(__dirname, "upgrade-k8s.sh"), join(bin, "talosctl"));
  symlinkSync(tools.kubectl, join(bin, "kubectl"));
  const log = (name: string) => join(dir, `${name}.log`);
  /** Output goes to a log file, not a pipe: a pipe nobody reads while a test waits would block the program. */
  const spawnLogged = (name: string, command: string, args: string[]) => {
    const fd = openSync(log(name), "w");
    const child = spawn(command, args, { stdio: ["ignore", fd, fd] });
    closeSync(fd);
    child.on("exit", (code, signal) => {
      if (code !== 0 && signal === null) {
        process.stderr.write(`${name} exited with ${code}; its log: ${log(name)}\n`);
      }
    });
    return child;
  };
  let talosApi: ChildProcess | undefined;
  let apiserver: ChildProcess | undefined;
  let etcd: ChildProcess | undefined;
  const stop = async () => {
    await stopProcess(talosApi);
    await stopProcess(apiserver);
    await stopProcess(etcd);
    if (!process.env.TALOS_PROXMOX_KEEP_CLUSTER) {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  try {
    const [clientPort, peerPort, securePort] = [await freePort(), await freePort(), await freePort()];
    etcd = spawnLogged("etcd", tools.etcd, [
      "--name=simulated",
      `--data-dir=${join(dir, "etcd")}`,
      `--listen-client-urls=http://127.0.0.1:${clientPort}`,
      `--advertise-client-urls=http://127.0.0.1:${clientPort}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=simulated=http://127.0.0.1:${peerPort}`,
    ]);

    // The apiserver's PKI and the admin kubeconfig as a Talos control plane has them (talos-api
    // kubepki.go): talosctl v1.14 accepts only a kubeconfig of Talos's shape from the Talos API.
    const pki = join(dir, "kube-pki");
    mkdirSync(pki);
    await new Promise<void>((resolve, reject) => {
      const gen = spawn(tools.talosApi, [
        "-kube-pki",
        pki,
        "-endpoint",
        `https://127.0.0.1:${securePort}`,
        "-cluster",
        "lab",
      ]);
      let stderr = "";
      gen.stderr.on("data", (d) => (stderr += d));
      gen.on("close", (code) =>
        code === 0 ? resolve() : reject(new Error(`talos-api -kube-pki: ${stderr}`)),
      );
    });
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    writeFileSync(join(dir, "sa.key"), privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    writeFileSync(join(dir, "sa.pub"), publicKey.export({ type: "spki", format: "pem" }));
    apiserver = spawnLogged("kube-apiserver", tools.kubeApiserver, [
      `--etcd-servers=http://127.0.0.1:${clientPort}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${securePort}`,
      `--tls-cert-file=${join(pki, "apiserver.crt")}`,
      `--tls-private-key-file=${join(pki, "apiserver.key")}`,
      `--client-ca-file=${join(pki, "ca.crt")}`,
      "--authorization-mode=RBAC",
      "--service-account-issuer=https://kubernetes.default.svc",
      `--service-account-key-file=${join(dir, "sa.pub")}`,
      `--service-account-signing-key-file=${join(dir, "sa.key")}`,
      "--service-cluster-ip-range=10.96.0.0/16",
    ]);
    const ca = readFileSync(join(pki, "ca.crt"), "utf8");
    const deadline = Date.now() + 120_000;
    while ((await apiGet(securePort, "/readyz", ca)) !== 200) {
      if (Date.now() > deadline || apiserver.exitCode !== null) {
        throw new Error(`kube-apiserver did not become ready; its log: ${log("kube-apiserver")}`);
      }
      await sleep(250);
    }

    const kubeconfig = join(pki, "kubeconfig");
    const nodesFile = join(dir, "nodes.json");
    writeFileSync(nodesFile, JSON.stringify(specs));
    const talosconfig = join(dir, "talosconfig");
    talosApi = spawnLogged("talos-api", tools.talosApi, [
      "-nodes",
      nodesFile,
      "-kubeconfig",
      kubeconfig,
      "-talosconfig",
      talosconfig,
      "-control",
      "127.0.0.1:0",
    ]);
    let control: string | undefined;
    while (!control) {
      const found = /^control (\S+)$/m.exec(readFileSync(log("talos-api"), "utf8"));
      if (found) {
        control = found[1];
      } else if (talosApi.exitCode !== null) {
        throw new Error(`talos-api exited: ${readFileSync(log("talos-api"), "utf8")}`);
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
