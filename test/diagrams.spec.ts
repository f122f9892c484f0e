import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { stackOfSize } from "../tools/bench/cluster-sizes";
import { deploymentMermaid, topologyMermaid } from "../tools/offline/diagrams";
import { runOffline } from "../tools/offline/engine";
import { exampleCluster, PROJECT_DIR, runStack, succeeded } from "./harness";
import program = require("../stacks");

describe("plan diagrams", function () {
  this.timeout(60_000);

  it("draws the same deployment order at 3 and at 30 workers, only the counts grow", async () => {
    const deployment = async (workers: number) =>
      deploymentMermaid(succeeded(await runOffline(program, stackOfSize({ controlPlanes: 3, workers }))));
    const small = await deployment(3);
    const large = await deployment(30);
    expect(large).to.include('["VmLegacy ×30<br/>prod-general-w-01 …"]');
    expect(large.replace(/\d+/g, "N")).to.equal(small.replace(/\d+/g, "N"));
  });

  it("shows kube-vip holding the VIP and Cilium's L2 pool when the stack says so", async () => {
    const cluster = exampleCluster("homelab") as {
      vip: Record<string, unknown>;
      kubeVip: Record<string, unknown>;
      cilium: Record<string, unknown>;
    };
    cluster.vip.provider = "kube-vip";
    cluster.kubeVip = { enabled: false };
    cluster.cilium.l2Announcements = { enabled: true, ranges: ["192.168.10.230-192.168.10.239"] };
    const topology = topologyMermaid(succeeded(await runStack("homelab", cluster)));
    expect(topology).to.include("VIP held by kube-vip on one control plane");
    expect(topology).to.include("192.168.10.230-192.168.10.239 (Cilium L2 announcements)");
    expect(topology).not.to.include("range, kube-vip");
  });

  it("are in the README as the plan draws them today", async () => {
    const readme = readFileSync(join(PROJECT_DIR, "README.md"), "utf8");
    const mermaid = (diagram: string) => "```mermaid\n" + diagram + "```\n";
    expect(readme).to.include(mermaid(topologyMermaid(succeeded(await runStack("prod")))));
    expect(readme).to.include(mermaid(deploymentMermaid(succeeded(await runStack("homelab")))));
  });
});
