/**
 * Machine-config patches are data: built per role and option, rendered to YAML, parsed back here.
 */
import { expect } from "chai";
import { parseAllDocuments } from "yaml";
import { kubeVipTokenSecret } from "../components/internal/kube-vip-manifests";
import {
  installPatch,
  kubeVipIdentityPatch,
  NodePatchInput,
  nodePatches,
  renderPatch,
} from "../components/internal/machine-config";

const INSTALLER = "factory.talos.dev/nocloud-installer/abc:v1.13.9";

const CONTROL_PLANE: NodePatchInput = {
  role: "controlplane",
  hostname: "cp-1",
  ip: "192.168.10.21",
  cni: "cilium",
  talosVip: "192.168.10.50",
  apiServerCertSans: ["192.168.10.50"],
};

const WORKER: NodePatchInput = {
  role: "worker",
  hostname: "w-1",
  ip: "192.168.10.31",
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
        registerTaints: { dedicated: "db:NoSchedule", spot: ":NoExecute" },
      }),
    );
    expect(docs).to.deep.include({ machine: { nodeLabels: { "example.com/tier": "gold" } } });
    // A worker may not set machine.nodeTaints on itself (NodeRestriction): the kubelet registers with them.
    expect(JSON.stringify(docs)).to.not.include("nodeTaints");
    expect(docs).to.deep.include({
      machine: {
        kubelet: {
          extraConfig: {
            registerWithTaints: [
              { key: "dedicated", value: "db", effect: "NoSchedule" },
              { key: "spot", effect: "NoExecute" },
            ],
          },
        },
      },
    });
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

  it("pins the kubelet's node IP, and a control plane's etcd address, to the node's static IP", () => {
    // kube-vip adds the VIP and Service IPs as /32s on the NIC; one below the node's address would
    // otherwise become the node's InternalIP (Talos k8s/nodeip.go picks the lowest routed address).
    expect(partials(documents(CONTROL_PLANE))).to.deep.include({
      machine: { kubelet: { nodeIP: { validSubnets: ["192.168.10.21/32"] } } },
      cluster: { etcd: { advertisedSubnets: ["192.168.10.21/32"] } },
    });
    expect(partials(documents(WORKER))).to.deep.include({
      machine: { kubelet: { nodeIP: { validSubnets: ["192.168.10.31/32"] } } },
    });
    expect(JSON.stringify(documents(WORKER))).to.not.include("etcd");
  });

  it("lets control planes take workloads only when asked", () => {
    const scheduling = { cluster: { allowSchedulingOnControlPlanes: true } };
    expect(partials(documents({ ...CONTROL_PLANE, allowSchedulingOnControlPlanes: true }))).to.deep.include(
      scheduling,
    );
    expect(JSON.stringify(documents(CONTROL_PLANE))).to.not.include("allowScheduling");
    expect(JSON.stringify(documents({ ...WORKER, allowSchedulingOnControlPlanes: true }))).to.not.include(
      "allowScheduling",
    );
  });

  it("reaches a running cluster without a reboot: the node address and scheduling patches", () => {
    // The v1alpha1 sections Talos v1.13.9 applies without a reboot in `auto` mode
    // (internal/app/machined/pkg/runtime/v1alpha1/v1alpha1_runtime.go, CanApplyImmediate).
    const immediate = [
      "cluster",
      "machine.kubelet",
      "machine.pods",
      "machine.nodeLabels",
      "machine.nodeTaints",
    ];
    const sections = (doc: Record<string, unknown>) =>
      Object.entries(doc).flatMap(([top, value]) =>
        top === "machine" ? Object.keys(value as object).map((k) => `machine.${k}`) : [top],
      );
    const added = nodePatches({ ...CONTROL_PLANE, allowSchedulingOnControlPlanes: true }).filter((p) =>
      /^(node address|scheduling):/.test(p.purpose),
    );
    expect(added).to.have.length(2);
    for (const doc of added.flatMap(parsed)) {
      for (const section of sections(doc)) {
        expect(immediate, section).to.include(section);
      }
    }
  });

  describe("kube-vip holding the API VIP", () => {
    const kubeVip = { version: "v1.2.3", vip: "192.168.10.50" };
    const docs = documents({ ...CONTROL_PLANE, talosVip: undefined, kubeVip });
    interface StaticPod {
      apiVersion: string;
      kind: string;
      metadata: Record<string, unknown>;
      spec: {
        hostNetwork: boolean;
        hostAliases: { ip: string; hostnames: string[] }[];
        containers: {
          image: string;
          args: string[];
          env: { name: string; value?: string }[];
          volumeMounts: { mountPath: string }[];
        }[];
        volumes: { hostPath: { path: string } }[];
      };
    }
    const pod = (
      partials(docs).find((d) => (d.machine as Record<string, unknown> | undefined)?.pods) as {
        machine: { pods: StaticPod[] };
      }
    ).machine.pods[0];
    const env = Object.fromEntries(pod.spec.containers[0].env.map((e) => [e.name, e.value ?? "fieldRef"]));

    it("runs kube-vip as a static pod in control-plane mode, not the Talos VIP", () => {
      expect(typed(docs, "Layer2VIPConfig")).to.be.empty;
      expect(pod).to.deep.include({ apiVersion: "v1", kind: "Pod" });
      expect(pod.metadata).to.deep.include({ name: "kube-vip", namespace: "kube-system" });
      expect(pod.spec.containers[0].image).to.equal("ghcr.io/kube-vip/kube-vip:v1.2.3");
      expect(env).to.include({
        vip_arp: "true",
        cp_enable: "true",
        address: "192.168.10.50",
        vip_leaderelection: "true",
        vip_leasename: "plndr-cp-lock",
        vip_nodename: "fieldRef",
      });
      expect(env).to.not.have.property("svc_enable");
    });

    it("reaches the local API server the way kube-vip dials it: admin.conf and kubernetes -> 127.0.0.1", () => {
      // kube-vip v1.2.3 pkg/manager/manager.go: with /etc/kubernetes/admin.conf and cp_enable it dials
      // kubernetes:<port>, whatever the kubeconfig's server says.
      expect(pod.spec.containers[0].volumeMounts[0].mountPath).to.equal("/etc/kubernetes/admin.conf");
      expect(pod.spec.hostAliases).to.deep.equal([{ hostnames: ["kubernetes"], ip: "127.0.0.1" }]);
      expect(env.port).to.equal("6443");
      expect(pod.spec.volumes[0].hostPath.path).to.equal("/var/lib/kube-vip/kubeconfig");
    });

    it("binds the interface of the default route unless one is named", () => {
      expect(env).to.not.have.property("vip_interface");
      const named = documents({
        ...CONTROL_PLANE,
        talosVip: undefined,
        kubeVip: { ...kubeVip, iface: "ens19" },
      });
      expect(JSON.stringify(named)).to.include('{"name":"vip_interface","value":"ens19"}');
    });

    it("serves metrics on a port of its own, next to the services DaemonSet's :2112", () => {
      expect(env.prometheus_server).to.equal(":2113");
    });

    describe("its own identity", () => {
      const clusterSecret = "c2VjcmV0LW9mLXRoZS1jbHVzdGVy";
      const [doc] = parsed(kubeVipIdentityPatch("Q0E=", clusterSecret)) as {
        machine: { files: { path: string; permissions: number; op: string; content: string }[] };
        cluster: { inlineManifests: { name: string; contents: string }[] };
      }[];
      const manifests = parseAllDocuments(doc.cluster.inlineManifests[0].contents).map(
        (d) => d.toJS() as Record<string, unknown> & { kind: string },
      );
      const ofKind = (kind: string): unknown => manifests.find((m) => m.kind === kind);
      const secret = ofKind("Secret") as {
        metadata: { name: string; namespace: string };
        type: string;
        stringData: Record<string, string>;
      };

      it("is a bootstrap token of its own, derived from the cluster secret, never the cluster's", () => {
        expect(secret.metadata).to.deep.equal({ name: "bootstrap-token-kvipcp", namespace: "kube-system" });
        expect(secret.type).to.equal("bootstrap.kubernetes.io/token");
        expect(secret.stringData["token-id"]).to.match(/^[a-z0-9]{6}$/);
        expect(secret.stringData["token-secret"]).to.match(/^[a-z0-9]{16}$/);
        expect(secret.stringData["usage-bootstrap-authentication"]).to.equal("true");
        expect(kubeVipTokenSecret(clusterSecret)).to.equal(secret.stringData["token-secret"]);
        expect(kubeVipTokenSecret("another-cluster")).to.not.equal(secret.stringData["token-secret"]);
      });

      it("may run the control-plane lease and nothing else, as its own user", () => {
        const role = ofKind("Role") as { rules: unknown[] };
        expect(role.rules).to.deep.equal([
          { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
          {
            apiGroups: ["coordination.k8s.io"],
            resources: ["leases"],
            resourceNames: ["plndr-cp-lock"],
            verbs: ["get", "update"],
          },
        ]);
        const binding = ofKind("RoleBinding") as { subjects: unknown[] };
        expect(binding.subjects).to.deep.equal([
          { apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "system:bootstrap:kvipcp" },
        ]);
        expect(JSON.stringify(manifests)).to.not.include("system:bootstrappers");
      });

      it("writes the static pod's kubeconfig with that token, readable by root only", () => {
        const file = doc.machine.files[0];
        expect(file).to.include({ path: "/var/lib/kube-vip/kubeconfig", permissions: 0o600, op: "create" });
        const kubeconfig = parseAllDocuments(file.content)[0].toJS() as {
          clusters: { cluster: Record<string, string> }[];
          users: { user: Record<string, string> }[];
        };
        expect(kubeconfig.clusters[0].cluster).to.deep.equal({
          server: "https://kubernetes:6443",
          "certificate-authority-data": "Q0E=",
        });
        expect(kubeconfig.users[0].user).to.deep.equal({
          token: `kvipcp.${secret.stringData["token-secret"]}`,
        });
      });
    });
  });
});
