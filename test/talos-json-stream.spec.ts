/**
 * The lifecycle scripts, run for real by bash against stand-ins for talosctl and kubectl
 * (test/fixtures/fake-tools) that answer from files and log every call.
 */
import { expect } from "chai";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CONFIG_ROLL_SCRIPT,
  DECOMMISSION_SCRIPT,
  PREFLIGHT_SCRIPT,
  READY_SCRIPT,
  ROLLOUT_SCRIPT,
} from "../components/internal/scripts";
import { PROJECT_DIR } from "./harness";

const FAKE_TOOLS = join(PROJECT_DIR, "test", "fixtures", "fake-tools");
const TALOSCONFIG = "context: lab\ncontexts:\n  lab:\n    key: TALOSCONFIG-PRIVATE-KEY-DO-NOT-LEAK\n";
const OLD = { version: "v1.13.9", schematic: "aaaa" };
const NEW_IMAGE = "factory.talos.dev/nocloud-installer/bbbb:v1.13.10";

const NODES = [
  ["cp-1", "10.0.0.11", "controlplane"],
  ["cp-2", "10.0.0.12", "controlplane"],
  ["cp-3", "10.0.0.13", "controlplane"],
  ["w-1", "10.0.0.21", "worker"],
  ["w-2", "10.0.0.22", "worker"],
  ["w-3", "10.0.0.23", "worker"],
];

/** A cluster for the fakes: every node on OLD, Kubernetes 1.36.1. */
function fakeCluster(): string {
  const state = mkdtempSync(join(tmpdir(), "talos-proxmox-fake-"));
  for (const dir of ["version", "schematic", "config", "staged", "fail-upgrade", "fail-reboot"]) {
    mkdirSync(join(state, dir));
  }
  writeFileSync(join(state, "nodes"), NODES.map((n) => n.join(" ")).join("\n") + "\n");
  for (const [, ip] of NODES) {
    writeFileSync(join(state, "version", ip), `${OLD.version}\n`);
    writeFileSync(join(state, "schematic", ip), `${OLD.schematic}\n`);
    writeFileSync(join(state, "config", ip), runningConfig(ip));
  }
  writeFileSync(join(state, "kubernetes"), "1.36.1\n");
  writeFileSync(join(state, "calls"), "");
  writeFileSync(join(state, "timeline"), "");
  return state;
}

/** A node's machine config as the fake holds it: YAML, with quotes and braces for the parser. */
function runningConfig(ip: string, env = "{}"): string {
  return `version: v1alpha1\nmachine:\n  env: ${env}\n  nodeLabels: { "example.com/ip": "${ip}" }\n`;
}

function environment(state: string, extra: Record<string, string>, path = `${FAKE_TOOLS}:/usr/bin:/bin`) {
  return {
    PATH: path,
    TMPDIR: state,
    FAKE_STATE: state,
    CLUSTER: "lab",
    TALOS_MINOR: "v1.13",
    CONTROL_PLANE_ENDPOINTS: "10.0.0.11 10.0.0.12 10.0.0.13",
    ...extra,
  };
}

const ROLLOUT_ENV = {
  TARGET_VERSION: "v1.13.10",
  TARGET_IMAGE: NEW_IMAGE,
  TARGET_SCHEMATIC: "bbbb",
  KUBERNETES_VERSION: "1.36.1",
  ORDER: "workers-first",
  MAX_PARALLEL_WORKERS: "1",
  UPGRADE_TIMEOUT: "30m",
  HEALTH_TIMEOUT: "20m",
  CNI: "cilium",
};

function run(script: string, env: Record<string, string>) {
  const result = spawnSync("/bin/bash", ["-c", script], { env, input: TALOSCONFIG, encoding: "utf8" });
  return { status: result.status, output: result.stdout + result.stderr };
}

function calls(state: string, prefix: string): string[] {
  return readFileSync(join(state, "calls"), "utf8")
    .split("\n")
    .filter((line) => line.startsWith(prefix));
}

/** The node each call of a talosctl subcommand went to (-n). */
function targets(state: string, subcommand: string): string[] {
  return calls(state, "talosctl")
    .filter((line) => line.includes(` ${subcommand} `) || line.endsWith(` ${subcommand}`))
    .map((line) => /-n (\S+)/.exec(line)?.[1] ?? "");
}

describe("lifecycle scripts", () => {
  describe("preflight (when the cluster is created)", () => {
    it("passes with talosctl of the target's minor and kubectl", () => {
      const state = fakeCluster();
      const result = run(PREFLIGHT_SCRIPT, environment(state, ROLLOUT_ENV));
      expect(result.status, result.output).to.equal(0);
    });

    it("fails clearly without talosctl", () => {
      const state = fakeCluster();
      const result = run(PREFLIGHT_SCRIPT, environment(state, ROLLOUT_ENV, "/usr/bin:/bin"));
      expect(result.status).to.equal(1);
      expect(result.output).to.match(
        /talosctl is not on the PATH of the machine running Pulumi. Install talosctl v1\.13\.x/,
      );
    });

    it("fails clearly with talosctl of another minor", () => {
      const state = fakeCluster();
      const result = run(PREFLIGHT_SCRIPT, {
        ...environment(state, ROLLOUT_ENV),
        FAKE_CLIENT_VERSION: "v1.11.3",
      });
      expect(result.status).to.equal(1);
      expect(result.output).to.match(/talosctl is v1\.11, but the cluster runs Talos v1\.13/);
    });
  });

  it("reads talosctl's -o json stream with a JSON parser, braces and quotes in strings included", () => {
    // talosctl v1.13.9 prints one indented object per resource, back to back (output/json.go).
    const stream = [
      {
        metadata: { id: "0" },
        node: "10.0.0.11",
        spec: { metadata: { name: "a", description: 'has } and "{' } },
      },
      { metadata: { id: "1" }, node: "10.0.0.11", spec: { metadata: { name: "schematic", version: "abc" } } },
    ]
      .map((r) => `${JSON.stringify(r, null, 4)}\n`)
      .join("");
    const helper =
      "eval \"$(sed -n '/^TALOS_JSON_STREAM=/,/^talos_config_state() {/p' components/scripts/common.sh | sed '$d')\"";
    const read = (args: string) =>
      execFileSync("bash", ["-c", `${helper}; talos_spec_values ${args}`], {
        cwd: PROJECT_DIR,
        input: stream,
        encoding: "utf8",
      });
    expect(read("metadata.version metadata.name schematic")).to.equal("abc\n");
    expect(read("metadata.name")).to.equal("a\nschematic\n");
  });

  describe("rollout", () => {
    it("upgrades workers first, then control planes, one at a time, with a health gate after each", () => {
      const state = fakeCluster();
      const result = run(ROLLOUT_SCRIPT, environment(state, ROLLOUT_ENV));
      expect(result.status, result.output).to.equal(0);
      expect(targets(state, "upgrade")).to.deep.equal([
        "10.0.0.21",
        "10.0.0.22",
        "10.0.0.23",
        "10.0.0.11",
        "10.0.0.12",
        "10.0.0.13",
      ]);
      const log = calls(state, "talosctl").map((line) =>
        line.split(" ").find((w) => w === "upgrade" || w === "health"),
      );
      const sequence = log.filter(Boolean);
      expect(sequence).to.deep.equal(Array(6).fill(["upgrade", "health"]).flat());
      for (const [, ip] of NODES) {
        expect(readFileSync(join(state, "version", ip), "utf8").trim()).to.equal("v1.13.10");
      }
      expect(result.output).to.include("upgrading to factory.talos.dev/nocloud-installer/bbbb:v1.13.10");
    });

    it("rolls control planes first when asked", () => {
      const state = fakeCluster();
      run(ROLLOUT_SCRIPT, environment(state, { ...ROLLOUT_ENV, ORDER: "control-plane-first" }));
      expect(targets(state, "upgrade").slice(0, 3)).to.deep.equal(["10.0.0.11", "10.0.0.12", "10.0.0.13"]);
    });

    it("upgrades a control plane through another control plane's endpoint", () => {
      const state = fakeCluster();
      run(ROLLOUT_SCRIPT, environment(state, ROLLOUT_ENV));
      const upgradeOfCp1 = calls(state, "talosctl").find(
        (line) => line.includes("upgrade --image") && line.includes("-n 10.0.0.11"),
      );
      expect(upgradeOfCp1).to.match(
        /-e 10\.0\.0\.12 -n 10\.0\.0\.11 upgrade --image \S+ --wait --timeout 30m/,
      );
    });

    it("skips nodes already on the target, so a second run resumes a stopped roll", () => {
      const state = fakeCluster();
      writeFileSync(join(state, "fail-upgrade", "10.0.0.22"), "");
      const first = run(ROLLOUT_SCRIPT, environment(state, ROLLOUT_ENV));
      expect(first.status).to.equal(1);
      expect(first.output).to.match(/w-2 \(10\.0\.0\.22\): the upgrade failed; the roll stops here/);
      // Nothing after the failed node was touched.
      expect(targets(state, "upgrade")).to.deep.equal(["10.0.0.21", "10.0.0.22"]);

      writeFileSync(join(state, "calls"), "");
      rmSync(join(state, "fail-upgrade", "10.0.0.22"));
      const second = run(ROLLOUT_SCRIPT, environment(state, ROLLOUT_ENV));
      expect(second.status, second.output).to.equal(0);
      expect(targets(state, "upgrade")).to.deep.equal([
        "10.0.0.22",
        "10.0.0.23",
        "10.0.0.11",
        "10.0.0.12",
        "10.0.0.13",
      ]);
      expect(second.output).to.match(
        /w-1 \(10\.0\.0\.21\): on v1\.13\.10 with the target schematic, skipped/,
      );
    });

    it("touches nothing on a converged cluster: no upgrade, no health gate, no upgrade-k8s", () => {
      const state = fakeCluster();
      const result = run(
        ROLLOUT_SCRIPT,
        environment(state, { ...ROLLOUT_ENV, TARGET_VERSION: OLD.version, TARGET_SCHEMATIC: OLD.schematic }),
      );
      expect(result.status, result.output).to.equal(0);
      expect(targets(state, "upgrade")).to.deep.equal([]);
      expect(targets(state, "health")).to.deep.equal([]);
      expect(calls(state, "talosctl").some((l) => l.includes("upgrade-k8s"))).to.equal(false);
    });

    it("upgrades a node whose extensions changed even if its version did not", () => {
      const state = fakeCluster();
      for (const [, ip] of NODES) {
        writeFileSync(join(state, "version", ip), "v1.13.10\n");
      }
      run(ROLLOUT_SCRIPT, environment(state, ROLLOUT_ENV));
      expect(targets(state, "upgrade")).to.have.length(6);
    });

    it("stops when Kubernetes is not ready after a node, which talosctl health skips under Cilium", () => {
      const state = fakeCluster();
      writeFileSync(join(state, "breaks-readiness"), "");
      const result = run(ROLLOUT_SCRIPT, environment(state, ROLLOUT_ENV));
      expect(result.status).to.equal(1);
      expect(result.output).to.match(
        /Kubernetes is not ready after w-1 \(nodes Ready, CoreDNS and cilium rolled out\)/,
      );
      expect(targets(state, "upgrade")).to.deep.equal(["10.0.0.21"]);
    });

    it("stops when the cluster is not healthy after a node", () => {
      const state = fakeCluster();
      writeFileSync(join(state, "unhealthy"), "");
      const result = run(ROLLOUT_SCRIPT, environment(state, ROLLOUT_ENV));
      expect(result.status).to.equal(1);
      expect(result.output).to.match(/the cluster is not healthy after w-1: the roll stops here/);
      expect(targets(state, "upgrade")).to.deep.equal(["10.0.0.21"]);
    });

    it("upgrades workers in batches when asked, control planes still one by one", () => {
      const state = fakeCluster();
      const result = run(ROLLOUT_SCRIPT, {
        ...environment(state, { ...ROLLOUT_ENV, MAX_PARALLEL_WORKERS: "2" }),
        FAKE_UPGRADE_SECONDS: "0.3",
      });
      expect(result.status, result.output).to.equal(0);
      const timeline = readFileSync(join(state, "timeline"), "utf8")
        .trim()
        .split("\n")
        .map((line) => line.split(" "));
      const overlapping = (a: string, b: string) => {
        const time = (what: string, ip: string) =>
          Number(timeline.find(([w, n]) => w === what && n === ip)?.[2]);
        return time("start", b) < time("end", a) && time("start", a) < time("end", b);
      };
      expect(overlapping("10.0.0.21", "10.0.0.22"), "w-1 and w-2 in one batch").to.equal(true);
      expect(overlapping("10.0.0.22", "10.0.0.23"), "w-3 in the next batch").to.equal(false);
      expect(overlapping("10.0.0.11", "10.0.0.12"), "control planes one by one").to.equal(false);
    });

    it("runs upgrade-k8s once, after the Talos roll, only when Kubernetes is behind", () => {
      const state = fakeCluster();
      const result = run(
        ROLLOUT_SCRIPT,
        environment(state, { ...ROLLOUT_ENV, KUBERNETES_VERSION: "1.36.2" }),
      );
      expect(result.status, result.output).to.equal(0);
      const sequence = calls(state, "talosctl").map((line) =>
        line.includes("upgrade-k8s") ? "k8s" : line.includes(" upgrade ") ? "talos" : "",
      );
      expect(sequence.filter((s) => s === "k8s")).to.have.length(1);
      expect(sequence.lastIndexOf("talos")).to.be.lessThan(sequence.indexOf("k8s"));
      expect(calls(state, "talosctl").find((l) => l.includes("upgrade-k8s"))).to.match(
        /-n 10\.0\.0\.11 upgrade-k8s --to 1\.36\.2$/,
      );

      writeFileSync(join(state, "calls"), "");
      run(ROLLOUT_SCRIPT, environment(state, { ...ROLLOUT_ENV, KUBERNETES_VERSION: "1.36.2" }));
      expect(calls(state, "talosctl").some((l) => l.includes("upgrade-k8s"))).to.equal(false);
    });

    it("keeps the talosconfig in a private file, off every command line", () => {
      const state = fakeCluster();
      const result = run(ROLLOUT_SCRIPT, environment(state, ROLLOUT_ENV));
      expect(readFileSync(join(state, "talosconfig-mode"), "utf8").trim()).to.equal("600");
      expect(readFileSync(join(state, "talosconfig-seen"), "utf8")).to.equal(TALOSCONFIG);
      expect(readFileSync(join(state, "calls"), "utf8")).to.not.include("TALOSCONFIG-PRIVATE-KEY");
      expect(result.output).to.not.include("TALOSCONFIG-PRIVATE-KEY");
      // The private directory is gone afterwards.
      expect(spawnSync("ls", [state], { encoding: "utf8" }).stdout).to.not.match(/talos-proxmox\.\w{6}/);
    });
  });

  describe("config roll (after the config applies)", () => {
    const CONFIG_ROLL_ENV = {
      ORDER: "workers-first",
      MAX_PARALLEL_WORKERS: "1",
      REBOOT_TIMEOUT: "30m",
      HEALTH_TIMEOUT: "20m",
      CNI: "cilium",
    };
    /** Stages a config on the nodes, as a staged apply leaves it: "persistent" ahead of "v1alpha1". */
    const stage = (state: string, ips: string[]) => {
      for (const ip of ips) {
        writeFileSync(join(state, "staged", ip), runningConfig(ip, '{ HTTPS_PROXY: "http://proxy:3128" }'));
      }
    };
    const rollConfigs = (state: string, extra: Record<string, string> = {}) =>
      run(CONFIG_ROLL_SCRIPT, environment(state, { ...CONFIG_ROLL_ENV, ...extra }));

    it("reboots only the nodes holding a staged config, drained, one at a time, with a health gate after each", () => {
      const state = fakeCluster();
      stage(state, ["10.0.0.22", "10.0.0.11", "10.0.0.13"]);
      // A node whose persistent config equals its running one (a live apply) needs no reboot.
      writeFileSync(join(state, "staged", "10.0.0.23"), runningConfig("10.0.0.23"));
      const result = rollConfigs(state);
      expect(result.status, result.output).to.equal(0);
      expect(targets(state, "reboot")).to.deep.equal(["10.0.0.22", "10.0.0.11", "10.0.0.13"]);
      const sequence = calls(state, "talosctl")
        .map((line) => line.split(" ").find((w) => w === "reboot" || w === "health"))
        .filter(Boolean);
      expect(sequence).to.deep.equal(Array(3).fill(["reboot", "health"]).flat());
      expect(calls(state, "talosctl").find((l) => l.includes("-n 10.0.0.11 reboot"))).to.match(
        /-e 10\.0\.0\.12 -n 10\.0\.0\.11 reboot --drain --wait --timeout 30m$/,
      );
      expect(result.output).to.match(/w-1 \(10\.0\.0\.21\): runs its latest config, skipped/);
      for (const [, ip] of NODES) {
        expect(existsSync(join(state, "staged", ip)), ip).to.equal(ip === "10.0.0.23");
      }
    });

    it("starts nothing in a cluster that is not ready (a fresh node may still be installing)", () => {
      const state = fakeCluster();
      stage(state, ["10.0.0.21"]);
      writeFileSync(join(state, "not-ready"), "");
      const result = rollConfigs(state);
      expect(result.status).to.equal(1);
      expect(result.output).to.match(/Kubernetes is not ready before the roll .*; nothing was touched/);
      expect(targets(state, "reboot")).to.deep.equal([]);
      expect(targets(state, "get")).to.deep.equal([]);
    });

    it("touches nothing on a converged cluster", () => {
      const state = fakeCluster();
      const result = rollConfigs(state);
      expect(result.status, result.output).to.equal(0);
      expect(targets(state, "reboot")).to.deep.equal([]);
      expect(targets(state, "health")).to.deep.equal([]);
    });

    it("stops at a failed reboot, and the next run resumes with that node", () => {
      const state = fakeCluster();
      stage(state, ["10.0.0.21", "10.0.0.22", "10.0.0.23", "10.0.0.11"]);
      writeFileSync(join(state, "fail-reboot", "10.0.0.22"), "");
      const first = rollConfigs(state);
      expect(first.status).to.equal(1);
      expect(first.output).to.match(/w-2 \(10\.0\.0\.22\): the reboot failed; the roll stops here/);
      expect(targets(state, "reboot")).to.deep.equal(["10.0.0.21", "10.0.0.22"]);

      writeFileSync(join(state, "calls"), "");
      rmSync(join(state, "fail-reboot", "10.0.0.22"));
      const second = rollConfigs(state);
      expect(second.status, second.output).to.equal(0);
      expect(targets(state, "reboot")).to.deep.equal(["10.0.0.22", "10.0.0.23", "10.0.0.11"]);
    });

    it("stops when a node comes back still holding its staged config", () => {
      const state = fakeCluster();
      stage(state, ["10.0.0.21"]);
      mkdirSync(join(state, "keep-staged"));
      writeFileSync(join(state, "keep-staged", "10.0.0.21"), "");
      const result = rollConfigs(state);
      expect(result.status).to.equal(1);
      expect(result.output).to.match(/w-1 \(10\.0\.0\.21\) came back still holding a staged config/);
      expect(targets(state, "reboot")).to.deep.equal(["10.0.0.21"]);
    });

    it("stops when Kubernetes is not ready after a reboot", () => {
      const state = fakeCluster();
      stage(state, ["10.0.0.21", "10.0.0.22"]);
      writeFileSync(join(state, "breaks-readiness"), "");
      const result = rollConfigs(state);
      expect(result.status).to.equal(1);
      expect(result.output).to.match(/Kubernetes is not ready after w-1/);
      expect(targets(state, "reboot")).to.deep.equal(["10.0.0.21"]);
    });
  });

  describe("ready (after Cilium and the workers)", () => {
    const ready = (state: string, extra: Record<string, string> = {}) =>
      run(
        READY_SCRIPT,
        environment(state, {
          NODES: "cp-1 cp-2 cp-3 w-1 w-2 w-3",
          CNI: "cilium",
          READY_TIMEOUT: "30m",
          ...extra,
        }),
      );

    it("waits for every node Ready, then Cilium and CoreDNS rolled out", () => {
      const state = fakeCluster();
      const result = ready(state);
      expect(result.status, result.output).to.equal(0);
      expect(calls(state, "kubectl")).to.deep.equal([
        "kubectl wait --for=condition=Ready nodes --all --timeout 30m",
        "kubectl -n kube-system rollout status daemonset/cilium --timeout 30m",
        "kubectl -n kube-system rollout status deployment/coredns --timeout 30m",
      ]);
    });

    it("skips Cilium with Talos's own CNI", () => {
      const state = fakeCluster();
      expect(ready(state, { CNI: "flannel" }).status).to.equal(0);
      expect(calls(state, "kubectl").join("\n")).to.not.include("cilium");
    });

    it("fails the update when the nodes do not become Ready", () => {
      const state = fakeCluster();
      writeFileSync(join(state, "not-ready"), "");
      const result = ready(state);
      expect(result.status).to.equal(1);
      expect(result.output).to.match(/Kubernetes is not ready after 30m/);
    });
  });

  describe("decommission (before a node's VM is deleted)", () => {
    const decommission = (state: string, node: string[], extra: Record<string, string> = {}) =>
      run(
        DECOMMISSION_SCRIPT,
        environment(state, {
          NODE_NAME: node[0],
          NODE_IP: node[1],
          ROLE: node[2],
          TEARDOWN: "false",
          RESET_TIMEOUT: "20m",
          ...extra,
        }),
      );

    it("drains a worker, then deletes its Node object", () => {
      const state = fakeCluster();
      const result = decommission(state, NODES[4]);
      expect(result.status, result.output).to.equal(0);
      const log = calls(state, "");
      const reset = log.findIndex((l) => l.includes(" reset "));
      expect(log[reset]).to.match(
        /talosctl -e 10\.0\.0\.11,10\.0\.0\.12,10\.0\.0\.13 -n 10\.0\.0\.22 reset --graceful=true --reboot=false --wait --timeout 20m/,
      );
      expect(log.findIndex((l) => l === "kubectl delete node w-2 --ignore-not-found")).to.be.greaterThan(
        reset,
      );
    });

    it("makes a control plane leave etcd gracefully, through another control plane", () => {
      const state = fakeCluster();
      writeFileSync(join(state, "etcd-members"), "3");
      const result = decommission(state, NODES[0]);
      expect(result.status, result.output).to.equal(0);
      expect(result.output).to.include("leaving etcd (3 members)");
      expect(calls(state, "talosctl").find((l) => l.includes(" reset "))).to.match(
        /-e 10\.0\.0\.12,10\.0\.0\.13 -n 10\.0\.0\.11 reset --graceful=true/,
      );
    });

    it("goes through any control plane that still answers when its recorded endpoints include a gone one", () => {
      // The endpoints come from the command's last state: cp-1 was removed since, cp-3 goes now.
      const state = fakeCluster();
      writeFileSync(join(state, "etcd-members"), "2");
      mkdirSync(join(state, "down"));
      writeFileSync(join(state, "down", "10.0.0.11"), "");
      const result = decommission(state, NODES[2]);
      expect(result.status, result.output).to.equal(0);
      expect(result.output).to.include("leaving etcd (2 members)");
      const talosctl = calls(state, "talosctl");
      expect(talosctl.find((l) => l.includes(" etcd members"))).to.match(/-e 10\.0\.0\.12 -n 10\.0\.0\.12 /);
      expect(talosctl.find((l) => l.includes(" reset "))).to.match(
        /-e 10\.0\.0\.11,10\.0\.0\.12 -n 10\.0\.0\.13 /,
      );
      // talosctl fails over from the gone endpoint to cp-2.
      expect(readFileSync(join(state, "endpoints-used"), "utf8")).to.not.include("10.0.0.11");
    });

    it("refuses to delete a worker's VM undrained when no control plane answers", () => {
      const state = fakeCluster();
      mkdirSync(join(state, "down"));
      for (const ip of ["10.0.0.11", "10.0.0.12", "10.0.0.13"]) {
        writeFileSync(join(state, "down", ip), "");
      }
      const result = decommission(state, NODES[3]);
      expect(result.status).to.equal(1);
      expect(result.output).to.match(
        /w-1 \(10\.0\.0\.21\): no control plane of 10\.0\.0\.11 10\.0\.0\.12 10\.0\.0\.13 answers/,
      );
      expect(calls(state, "talosctl").some((l) => l.includes(" reset "))).to.equal(false);
    });

    it("leaves the last etcd member alone", () => {
      const state = fakeCluster();
      writeFileSync(join(state, "etcd-members"), "1");
      const result = decommission(state, NODES[0]);
      expect(result.status, result.output).to.equal(0);
      expect(result.output).to.include("the last etcd member; nothing to leave");
      expect(calls(state, "talosctl").some((l) => l.includes(" reset "))).to.equal(false);
    });

    it("does nothing in a teardown", () => {
      const state = fakeCluster();
      const result = decommission(state, NODES[3], { TEARDOWN: "true" });
      expect(result.status).to.equal(0);
      expect(calls(state, "")).to.deep.equal([""]);
    });

    it("removes one node at a time, so etcd members never leave together", async () => {
      const state = fakeCluster();
      writeFileSync(join(state, "etcd-members"), "3");
      const start = (node: string[]) =>
        new Promise<number | null>((resolve) => {
          const child = spawn("/bin/bash", ["-c", DECOMMISSION_SCRIPT], {
            env: {
              ...environment(state, {
                NODE_NAME: node[0],
                NODE_IP: node[1],
                ROLE: node[2],
                TEARDOWN: "false",
                RESET_TIMEOUT: "20m",
              }),
              FAKE_RESET_SECONDS: "0.5",
            },
          });
          child.stdin.end(TALOSCONFIG);
          child.on("exit", resolve);
        });
      expect(await Promise.all([start(NODES[1]), start(NODES[2])])).to.deep.equal([0, 0]);
      const events = readFileSync(join(state, "timeline"), "utf8")
        .trim()
        .split("\n")
        .map((l) => l.split(" ")[0]);
      expect(events).to.deep.equal(["start", "end", "start", "end"]);
      expect(existsSync(join(state, "talos-proxmox-lab.lock"))).to.equal(false);
    });
  });
});
