/**
 * Machine-config patches are data: built per role and option, rendered to YAML, parsed back here.
 */
import { expect } from "chai";
import { parseAllDocuments } from "yaml";
import { NodePatchInput, nodePatches, renderPatch } from "../components/internal/machine-config";

const INSTALLER = "factory.talos.dev/nocloud-installer/abc:v1.13.9";

const CONTROL_PLANE: NodePatchInput = {
  role: "controlplane",
  hostname: "cp-1",
  installDisk: "/dev/sda",
  installerImage: INSTALLER,
  cni: "cilium",
  talosVip: "192.168.10.50",
  apiServerCertSans: ["192.168.10.50"],
};

const WORKER: NodePatchInput = {
  role: "worker",
  hostname: "w-1",
  installDisk: "/dev/sda",
  installerImage: INSTALLER,
  cni: "cilium",
};

/** Every document of every patch, as parsed YAML, in order. */
function documents(input: NodePatchInput): Record<string, unknown>[] {
  return nodePatches(input).flatMap((patch) =>
    parseAllDocuments(renderPatch(patch)).map((doc) => doc.toJS() as Record<string, unknown>),
  );
}

function typed(docs: Record<string, unknown>[], kind: string): Record<string, unknown>[] {
  return docs.filter((d) => d.kind === kind);
}

/** The v1alpha1 partials (no kind), merged shallowly by their top-level paths for lookups. */
function partials(docs: Record<string, unknown>[]): Record<string, unknown>[] {
  return docs.filter((d) => d.kind === undefined);
}

describe("machine-config patches", () => {
  it("installs to the VM's disk from the factory installer, on every role", () => {
    for (const input of [CONTROL_PLANE, WORKER]) {
      expect(partials(documents(input))).to.deep.include({
        machine: { install: { disk: "/dev/sda", image: INSTALLER } },
      });
    }
  });

  it("sets the hostname with the v1.13 HostnameConfig document, auto hostname off", () => {
    expect(typed(documents(CONTROL_PLANE), "HostnameConfig")).to.deep.equal([
      { apiVersion: "v1alpha1", kind: "HostnameConfig", hostname: "cp-1", auto: "off" },
    ]);
  });

  it("never uses the deprecated machine.network section", () => {
    for (const input of [CONTROL_PLANE, WORKER]) {
      for (const doc of partials(documents(input))) {
        expect((doc.machine as Record<string, unknown> | undefined)?.network).to.equal(undefined);
      }
    }
  });

  it("gives control planes the Talos VIP on an alias of the virtio NIC", () => {
    const docs = documents(CONTROL_PLANE);
    expect(typed(docs, "LinkAliasConfig")).to.deep.equal([
      {
        apiVersion: "v1alpha1",
        kind: "LinkAliasConfig",
        name: "net0",
        selector: { match: 'link.driver == "virtio_net"' },
      },
    ]);
    expect(typed(docs, "Layer2VIPConfig")).to.deep.equal([
      { apiVersion: "v1alpha1", kind: "Layer2VIPConfig", name: "192.168.10.50", link: "net0" },
    ]);
    expect(partials(docs)).to.deep.include({ cluster: { apiServer: { certSANs: ["192.168.10.50"] } } });
  });

  it("gives workers no VIP, even when asked", () => {
    const docs = documents({ ...WORKER, talosVip: "192.168.10.50", apiServerCertSans: ["192.168.10.50"] });
    expect(typed(docs, "Layer2VIPConfig")).to.be.empty;
    expect(JSON.stringify(docs)).to.not.include("certSANs");
  });

  it("leaves the VIP out when Talos does not hold it", () => {
    expect(typed(documents({ ...CONTROL_PLANE, talosVip: undefined }), "Layer2VIPConfig")).to.be.empty;
  });

  it("turns off Talos's CNI and kube-proxy for Cilium, and keeps Flannel's defaults otherwise", () => {
    const cilium = { cluster: { network: { cni: { name: "none" } }, proxy: { disabled: true } } };
    expect(partials(documents(CONTROL_PLANE))).to.deep.include(cilium);
    expect(partials(documents(WORKER))).to.deep.include(cilium);
    const flannel = JSON.stringify(documents({ ...CONTROL_PLANE, cni: "flannel" }));
    expect(flannel).to.not.include('"cni"');
    expect(flannel).to.not.include('"proxy"');
  });

  it("keeps KubePrism on at 7445, where Cilium reaches the API", () => {
    expect(partials(documents(WORKER))).to.deep.include({
      machine: { features: { kubePrism: { enabled: true, port: 7445 } } },
    });
  });

  it("shares /var/lib/longhorn with the kubelet when Longhorn is on", () => {
    const mount = {
      machine: {
        kubelet: {
          extraMounts: [
            {
              destination: "/var/lib/longhorn",
              type: "bind",
              source: "/var/lib/longhorn",
              options: ["bind", "rshared", "rw"],
            },
          ],
        },
      },
    };
    expect(partials(documents({ ...WORKER, longhorn: true }))).to.deep.include(mount);
    expect(JSON.stringify(documents(WORKER))).to.not.include("longhorn");
  });

  it("labels and taints the nodes", () => {
    const docs = partials(
      documents({
        ...WORKER,
        nodeLabels: { "example.com/tier": "gold" },
        nodeTaints: { dedicated: "db:NoSchedule" },
      }),
    );
    expect(docs).to.deep.include({ machine: { nodeLabels: { "example.com/tier": "gold" } } });
    expect(docs).to.deep.include({ machine: { nodeTaints: { dedicated: "db:NoSchedule" } } });
  });

  it("names each patch in a YAML comment", () => {
    const rendered = nodePatches(CONTROL_PLANE).map(renderPatch);
    expect(rendered[0]).to.match(/^# install: /);
    expect(rendered.every((text) => text.startsWith("# "))).to.equal(true);
  });

  it("keeps YAML 1.1 keywords strings for every parser", () => {
    expect(renderPatch(nodePatches(CONTROL_PLANE)[1])).to.include('auto: "off"');
  });
});
