/**
 * The simulated-cluster lane's helpers: a cluster per test, the lifecycle scripts run by bash with real
 * talosctl and kubectl against it, and the invariants every scenario must keep, read from the
 * stand-in's timeline (what the nodes went through), not from the scripts' own output.
 */
import { expect } from "chai";
import { execFileSync, spawn } from "node:child_process";
import { closeSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  buildClusterTools,
  ClusterTools,
  NodeSpec,
  SimulatedCluster,
  startCluster,
  TimelineEntry,
} from "../../tools/simcluster/cluster";

export const OLD = { version: "v1.13.9", schematic: "aaaa", kubelet: "v1.36.3" };
/** The order a workers-first roll takes the six nodes in, one at a time. */
export const WORKERS_THEN_CONTROL_PLANES = ["w-1", "w-2", "w-3", "cp-1", "cp-2", "cp-3"];

/** The rollout's environment for a roll to v1.13.10 and schematic bbbb, workers first, one at a time. */
export const ROLLOUT_ENV = {
  TARGET_VERSION: "v1.13.10",
  TARGET_IMAGE: "factory.talos.dev/nocloud-installer/bbbb:v1.13.10",
  TARGET_SCHEMATIC: "bbbb",
  KUBERNETES_VERSION: "1.36.3",
  ORDER: "workers-first",
  MAX_PARALLEL_WORKERS: "1",
  UPGRADE_TIMEOUT: "2m",
  HEALTH_TIMEOUT: "2m",
  CNI: "cilium",
};

/** A node's machine config: enough of a v1alpha1 config for Talos's loader and its apply rules. */
export function machineConfig(role: string, extra = ""): string {
  return `version: v1alpha1\nmachine:\n  type: ${role}\n${extra}cluster:\n  clusterName: lab\n`;
}

export const NODES: NodeSpec[] = (
  [
    ["cp-1", "127.0.0.11", "controlplane"],
    ["cp-2", "127.0.0.12", "controlplane"],
    ["cp-3", "127.0.0.13", "controlplane"],
    ["w-1", "127.0.0.21", "worker"],
    ["w-2", "127.0.0.22", "worker"],
    ["w-3", "127.0.0.23", "worker"],
  ] as const
).map(([name, ip, role]) => ({ name, ip, role, ...OLD, config: machineConfig(role) }));

/** A config change Talos applies only at a reboot (machine.env, v1.13.9 CanApplyImmediate). */
export const PROXY = '  env: { HTTPS_PROXY: "http://proxy:3128" }\n';

/** Runs the real talosctl of the cluster's PATH with its talosconfig, as a user at the console would. */
export function talosctl(cluster: SimulatedCluster, ...args: string[]): void {
  execFileSync(join(cluster.env.PATH.split(":")[0], "talosctl"), args, {
    env: { ...cluster.env, HOME: cluster.dir, TALOSCONFIG: cluster.talosconfig },
    stdio: "pipe",
  });
}

/** Applies a config with real talosctl apply-config, as the Talos provider's apply would. */
export function applyConfig(cluster: SimulatedCluster, names: string[], extra: string, mode: string): void {
  for (const name of names) {
    const node = NODES.find((n) => n.name === name) as NodeSpec;
    const file = join(cluster.dir, `${name}.yaml`);
    writeFileSync(file, machineConfig(node.role, extra));
    talosctl(cluster, "-e", "127.0.0.11", "-n", node.ip, "apply-config", "--file", file, "--mode", mode);
  }
}

export const CONTROL_PLANE_ENDPOINTS = "127.0.0.11 127.0.0.12 127.0.0.13";

let tools: ClusterTools | undefined;

/** The six programs, built once per run (cold: about 30 minutes; warm: seconds). */
export function clusterTools(): ClusterTools {
  tools ??= buildClusterTools();
  return tools;
}

export interface ClusterUnderTest {
  current(): SimulatedCluster;
  /** The batch size of workers the current test's roll may take down together (1 unless set). */
  allowWorkersDown(count: number): void;
}

/**
 * Starts a cluster of these nodes for each test and stops it after. After every test that passed, the
 * day-2 invariants are checked on what its nodes went through (assertInvariants).
 */
export function withCluster(specs: () => NodeSpec[] = () => NODES): ClusterUnderTest {
  let cluster: SimulatedCluster | undefined;
  let workersDown = 1;
  beforeEach(async function () {
    this.timeout(180_000);
    workersDown = 1;
    cluster = await startCluster(clusterTools(), specs());
  });
  afterEach(async function () {
    this.timeout(60_000);
    try {
      if (cluster && this.currentTest?.state === "passed") {
        assertInvariants(await cluster.timeline(), specs(), workersDown);
      }
    } finally {
      await cluster?.stop();
      cluster = undefined;
    }
  });
  return {
    current: () => {
      if (!cluster) {
        throw new Error("no simulated cluster is running");
      }
      return cluster;
    },
    allowWorkersDown: (count) => {
      workersDown = count;
    },
  };
}

export interface ScriptResult {
  status: number | null;
  output: string;
}

/** Runs a lifecycle script as pulumi-command would: bash, the environment, the talosconfig on stdin. */
export function runScript(
  cluster: SimulatedCluster,
  script: string,
  env: Record<string, string>,
): Promise<ScriptResult> {
  // stdin is the talosconfig file itself: bash reads ~/.bashrc when its stdin is a socket, which Node's
  // pipes are (bash shell.c, run_startup_files); pulumi-command's Go pipes are not.
  const stdin = openSync(cluster.talosconfig, "r");
  return new Promise((resolve) => {
    const child = spawn("/bin/bash", ["-c", script], {
      stdio: [stdin, "pipe", "pipe"],
      env: {
        ...cluster.env,
        HOME: cluster.dir,
        TMPDIR: cluster.dir,
        CLUSTER: "lab",
        TALOS_MINOR: "v1.13",
        CONTROL_PLANE_ENDPOINTS,
        ...env,
      },
    });
    let output = "";
    child.stdout?.on("data", (d) => (output += d));
    child.stderr?.on("data", (d) => (output += d));
    child.on("close", (status) => {
      closeSync(stdin);
      resolve({ status, output });
    });
  });
}

/** The events of one kind, as "node" or "node detail" strings, in order. */
export function events(timeline: TimelineEntry[], event: string, withDetail = false): string[] {
  return timeline
    .filter((e) => e.event === event)
    .map((e) => (withDetail && e.detail ? `${e.node} ${e.detail}` : e.node));
}

/** Waits until the timeline has an event, then returns. */
export async function waitForEvent(cluster: SimulatedCluster, node: string, event: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!(await cluster.timeline()).some((e) => e.node === node && e.event === event)) {
    if (Date.now() > deadline) {
      throw new Error(`${node} never reached ${event}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The promises of the README's day-2 section, checked against what the nodes went through:
 * - never two control planes down at once;
 * - never more workers down at once than maxParallelWorkers;
 * - no node goes down for a reboot or a reset unless it was cordoned and its pods evicted first;
 * - etcd keeps quorum: more than half of its members up and healthy at every moment. Not asked of a
 *   one-member etcd (etcdQuorum false): it is down while its node reboots, whatever the order.
 */
export function assertInvariants(
  timeline: TimelineEntry[],
  specs: NodeSpec[],
  maxParallelWorkers = 1,
  etcdQuorum = true,
): void {
  const role = new Map(specs.map((s) => [s.name, s.role]));
  const members = new Set(specs.filter((s) => s.role === "controlplane").map((s) => s.name));
  const down = new Set<string>();
  const cordoned = new Set<string>();
  const drained = new Set<string>();
  const unhealthy = new Set<string>();
  for (const e of timeline) {
    const at = `at ${e.ms} ms (${e.node} ${e.event}${e.detail ? ` ${e.detail}` : ""})`;
    switch (e.event) {
      case "cordoned":
        cordoned.add(e.node);
        break;
      case "uncordoned":
        cordoned.delete(e.node);
        break;
      case "evicted":
        drained.add(e.node);
        break;
      case "etcd-left":
        members.delete(e.node);
        break;
      case "fault-set":
      case "fault-cleared":
        if (e.detail === "etcd-unhealthy") {
          if (e.event === "fault-set") {
            unhealthy.add(e.node);
          } else {
            unhealthy.delete(e.node);
          }
        }
        break;
      case "down":
        expect(cordoned.has(e.node) && drained.has(e.node), `${e.node} went down undrained ${at}`).to.equal(
          true,
        );
        if (e.detail === "reset") {
          role.delete(e.node); // out of the cluster; a control plane left etcd before
        } else {
          down.add(e.node);
        }
        break;
      case "up":
        down.delete(e.node);
        drained.delete(e.node);
        break;
    }
    const downOf = (r: string) => [...down].filter((n) => role.get(n) === r);
    expect(downOf("controlplane"), `control planes down together ${at}`).to.have.length.at.most(1);
    expect(downOf("worker"), `workers down together ${at}`).to.have.length.at.most(maxParallelWorkers);
    if (etcdQuorum) {
      const healthy = [...members].filter((m) => !down.has(m) && !unhealthy.has(m));
      expect(
        healthy.length,
        `etcd quorum lost: ${healthy.length} of ${members.size} healthy ${at}`,
      ).to.be.greaterThan(members.size / 2);
    }
  }
}
