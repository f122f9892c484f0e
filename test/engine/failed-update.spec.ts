/**
 * The engine lane: an update that fails halfway. The engine keeps the stack's old outputs when an update
 * fails, merged under the last outputs the program sent (pkg/v3 v3.276.0 step_executor.go,
 * executeRegisterResourceOutputs); a program sends its outputs only once they all resolve, which they
 * never do when a resource they wait for failed. TalosCluster therefore writes what the update may leave
 * behind before it creates anything, and these tests fail a real `pulumi up` at a chosen resource (the
 * stand-ins' injected failures) to check that the next change is still refused.
 */
import { expect } from "chai";
import { buildEngineTools, EngineWorkspace } from "../../tools/engine/pulumi";
import { API_TOKEN, editCluster, exportState, managedState, stackOutputs } from "./harness";

const STACK = "homelab";
const FAIL = "TALOS_PROXMOX_STANDIN_FAIL";

describe("the real Pulumi engine: an update that fails halfway", function () {
  this.timeout(900_000);
  let ws: EngineWorkspace;

  before(function () {
    this.timeout(3_600_000);
    ws = new EngineWorkspace(buildEngineTools());
    ws.ok(["stack", "init", STACK]);
    ws.ok(["config", "set", "--secret", "proxmoxve:apiToken", API_TOKEN]);
  });
  after(() => ws?.remove());

  /** `pulumi preview` and `pulumi up` refuse the change with this path, and leave the state as it was. */
  function refused(path: string): void {
    const before = managedState(ws);
    for (const command of [["preview"], ["up", "--yes", "--skip-preview"]]) {
      const result = ws.pulumi(command);
      expect(result.status, `${command[0]} must refuse`).to.not.equal(0);
      expect(result.stdout + result.stderr).to.include(path);
    }
    expect(managedState(ws)).to.deep.equal(before);
  }

  it("a first up that fails at bootstrap leaves the VMs and a record of them: a new VM id is refused", () => {
    const failed = ws.pulumi(["up", "--yes", "--skip-preview"], { [FAIL]: "create:homelab-bootstrap" });
    expect(failed.status).to.not.equal(0);
    expect(failed.stdout + failed.stderr).to.include("injected failure of create");
    const types = (exportState(ws).deployment.resources ?? []).map((r) => r.type);
    expect(types).to.include.members(["proxmoxve:index/vmLegacy:VmLegacy", "talos:machine/secrets:Secrets"]);

    const outputs = stackOutputs(ws);
    expect(outputs.kubeconfig, "nothing after the failure").to.equal(undefined);
    expect(Object.keys(outputs.nodes as object).sort()).to.deep.equal(["cp-1", "w-1", "w-2"]);
    expect((outputs.nodes as Record<string, { vmId?: number }>)["cp-1"].vmId).to.equal(1011);

    editCluster(ws, STACK, ["controlPlane", "nodes", 0, "vmId"], 1999);
    try {
      refused("cluster.controlPlane.nodes[0].vmId");
    } finally {
      editCluster(ws, STACK, ["controlPlane", "nodes", 0, "vmId"], 1011);
    }
  });

  it("once the fault is gone, up finishes and writes the whole record", () => {
    ws.ok(["up", "--yes", "--skip-preview"]);
    const outputs = stackOutputs(ws);
    expect(outputs.kubeconfig).to.be.a("string");
    expect((outputs.nodes as Record<string, { vmId?: number }>)["w-2"].vmId).to.equal(1022);
  });

  it("an update that adds a worker and fails keeps the worker in the record, and the old outputs", () => {
    editCluster(ws, STACK, ["workerPools", 0, "nodes", 2], {
      name: "w-3",
      pveNode: "pve",
      ip: "192.168.10.23",
      vmId: 1023,
    });
    const failed = ws.pulumi(["up", "--yes", "--skip-preview"], {
      [FAIL]: "create:homelab-general-w-3-config",
    });
    expect(failed.status).to.not.equal(0);
    const outputs = stackOutputs(ws);
    expect(outputs.kubeconfig, "kept from the last whole update").to.be.a("string");
    expect((outputs.nodes as Record<string, { vmId?: number }>)["w-3"].vmId).to.equal(1023);

    editCluster(ws, STACK, ["workerPools", 0, "nodes", 2, "vmId"], 1033);
    refused("cluster.workerPools[0].nodes[2].vmId");
  });
});
