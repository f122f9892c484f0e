/**
 * Machine-config patches are data: built per role and option, rendered to YAML, parsed back here.
 */
import { expect } from "chai";
import { parseAllDocuments } from "yaml";
import {
  installPatch,
  kubeVipKubeconfigPatch,
  NodePatchInput,
  nodePatches,
  renderPatch,
} from "../components/internal/machine-config";

const INSTALLER = "factory.talos.dev/nocloud-installer/abc:v1.13.9";

const CONTROL_PLANE: NodePatchInput = {
  role: "controlplane",
  hostname: "cp-1",
  cni: "cilium",
  talosVip: "192.168.10.50",
  apiServerCertSans: ["192.168.10.50"],
};

const WORKER: NodePatchInput = {
  role: "worker",
  hostname: "w-1",
  cni: "cilium",
};

function parsed(patch: Parameters<typeof renderPatch>[0]): Record<string, unknown>[] {
  return parseAllDocuments(renderPatch(patch)).map((doc) => doc.toJS() as Record<string, unknown>);
}

/** Every document of every patch, as parsed YAML, in order. */
function documents(input: NodePatchInput): Record<string, unknown>[] {
  return nodePatches(input).flatMap(parsed);
}

function typed(docs: Record<string, unknown>[], kind: string): Record<string, unknown>[] {
  return docs.filter((d) => d.kind === kind);
}

/** The v1alpha1 partials (no kind), merged shallowly by their top-level paths for lookups. */
function partials(docs: Record<string, unknown>[]): Record<string, unknown>[] {
  return docs.filter((d) => d.kind === undefined);
}

describe("machine-config patches", () => {
  it("installs to the VM's disk from the factory installer", () => {
    expect(parsed(installPatch("/dev/sda", INSTALLER))).to.deep.equal([
      { machine: { install: { disk: "/dev/sda", image: INSTALLER } } },
    ]);
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
    expect(rendered[0]).to.match(/^# hostname: /);
    expect(rendered.every((text) => text.startsWith("# "))).to.equal(true);
  });

  it("keeps YAML 1.1 keywords strings for every parser", () => {
    expect(renderPatch(nodePatches(CONTROL_PLANE)[0])).to.include('auto: "off"');
  });

  it("turns Talos's kube-dns forwarding off only when asked", () => {
    const hostDns = { machine: { features: { hostDNS: { enabled: true, forwardKubeDNSToHost: false } } } };
    expect(partials(documents({ ...WORKER, forwardKubeDnsToHost: false }))).to.deep.include(hostDns);
    expect(JSON.stringify(documents(WORKER))).to.not.include("hostDNS");
  });

  describe("kube-vip holding the API VIP", () => {
    const kubeVip = { version: "v1.2.3", vip: "192.168.10.50", iface: "ens18" };
    const docs = documents({ ...CONTROL_PLANE, talosVip: undefined, kubeVip });
    interface StaticPod {
      apiVersion: string;
      kind: string;
      metadata: Record<string, unknown>;
      spec: {
        hostNetwork: boolean;
        containers: { image: string; args: string[]; env: { name: string; value?: string }[] }[];
        volumes: { hostPath: { path: string } }[];
      };
    }
    const patch = partials(docs).find((d) => (d.machine as Record<string, unknown> | undefined)?.pods) as {
      machine: { pods: StaticPod[] };
      cluster: { inlineManifests: { name: string; contents: string }[] };
    };

    it("runs kube-vip as a static pod in control-plane mode, not the Talos VIP", () => {
      expect(typed(docs, "Layer2VIPConfig")).to.be.empty;
      const pod = patch.machine.pods[0];
      expect(pod).to.deep.include({ apiVersion: "v1", kind: "Pod" });
      expect(pod.metadata).to.deep.include({ name: "kube-vip", namespace: "kube-system" });
      const container = pod.spec.containers[0];
      expect(container.image).to.equal("ghcr.io/kube-vip/kube-vip:v1.2.3");
      expect(container.args).to.deep.equal(["manager"]);
      const env = Object.fromEntries(container.env.map((e) => [e.name, e.value ?? "fieldRef"]));
      expect(env).to.include({
        vip_arp: "true",
        cp_enable: "true",
        address: "192.168.10.50",
        vip_interface: "ens18",
        vip_leaderelection: "true",
        vip_leasename: "plndr-cp-lock",
        vip_nodename: "fieldRef",
      });
      expect(env).to.not.have.property("svc_enable");
      expect(pod.spec.hostNetwork).to.equal(true);
      expect(pod.spec.volumes[0].hostPath.path).to.equal("/var/lib/kube-vip/kubeconfig");
    });

    it("lets only the bootstrap-token group run the control-plane lease", () => {
      const [role, binding] = parseAllDocuments(patch.cluster.inlineManifests[0].contents).map(
        (d) => d.toJS() as { kind: string; rules: Record<string, unknown>[]; subjects: unknown[] },
      );
      expect(role.kind).to.equal("Role");
      expect(role.rules[1]).to.deep.include({
        resourceNames: ["plndr-cp-lock"],
        verbs: ["get", "watch", "update"],
      });
      expect(binding.subjects).to.deep.equal([
        { apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:bootstrappers" },
      ]);
    });

    it("writes the static pod's kubeconfig for KubePrism with the bootstrap token", () => {
      const [doc] = parsed(kubeVipKubeconfigPatch("Q0E=", "abcdef.0123456789abcdef")) as {
        machine: { files: { path: string; permissions: number; op: string; content: string }[] };
      }[];
      const file = doc.machine.files[0];
      expect(file).to.include({ path: "/var/lib/kube-vip/kubeconfig", permissions: 0o600, op: "create" });
      const kubeconfig = parseAllDocuments(file.content)[0].toJS() as {
        clusters: { cluster: Record<string, string> }[];
        users: { user: Record<string, string> }[];
      };
      expect(kubeconfig.clusters[0].cluster).to.deep.equal({
        server: "https://localhost:7445",
        "certificate-authority-data": "Q0E=",
      });
      expect(kubeconfig.users[0].user).to.deep.equal({ token: "abcdef.0123456789abcdef" });
    });
  });
});
