/**
 * Machine-config patches as data, for Talos v1.13. Network settings use the multi-document config
 * (HostnameConfig, LinkAliasConfig, Layer2VIPConfig): `machine.network` is deprecated and gone from the
 * v1.13 schema. Every patch is one concern, rendered to YAML with a comment that names it, so the
 * plan's machine-config/<node>.yaml reads like a review of what each node gets.
 */
import { stringify } from "yaml";
import {
  KUBE_VIP_IDENTITY_MANIFEST,
  KUBE_VIP_KUBECONFIG_PATH,
  kubeVipIdentityManifests,
  kubeVipKubeconfig,
  kubeVipStaticPod,
  kubeVipTokenSecret,
} from "./kube-vip-manifests";
import { KUBEPRISM_PORT } from "./kubeprism";
import { parseTaint } from "./kubernetes-names";
import { NodeRole } from "./node-rules";

export type PatchDocument = Record<string, unknown>;

/** A named patch: one or more documents (a v1alpha1 partial and/or typed documents). */
export interface Patch {
  /** What the patch is for; becomes the YAML comment above it. */
  purpose: string;
  documents: PatchDocument[];
}

/** Which CNI Talos deploys: its default (Flannel), or none because Cilium replaces it and kube-proxy. */
export type Cni = "cilium" | "flannel";

/** The alias of the VM's only NIC (a virtio device), so nothing depends on a guessed name like ens18. */
export const NODE_LINK_ALIAS = "net0";
const NODE_LINK_SELECTOR = 'link.driver == "virtio_net"';

export const LONGHORN_MOUNT = "/var/lib/longhorn";

export interface NodePatchInput {
  role: NodeRole;
  hostname: string;
  /** The node's static address: the only one the kubelet and etcd may take as the node's. */
  ip: string;
  cni: Cni;
  /** The Talos-native API VIP (control-plane nodes only), if Talos holds it. */
  talosVip?: string;
  /** kube-vip holds the API VIP instead: a static pod on every control plane. */
  kubeVip?: { version: string; vip: string; iface?: string };
  /** Control planes take workloads (no NoSchedule taint): for clusters without workers. */
  allowSchedulingOnControlPlanes?: boolean;
  /**
   * Talos forwards kube-dns queries to its host DNS (its default). Off when Cilium masquerades in
   * eBPF, which breaks CoreDNS otherwise.
   * @default true
   */
  forwardKubeDnsToHost?: boolean;
  /** Extra SANs of the API server certificate (control-plane nodes only). */
  apiServerCertSans?: string[];
  /** Bind-mount /var/lib/longhorn into the kubelet with rshared propagation. */
  longhorn?: boolean;
  nodeLabels?: Record<string, string>;
  /**
   * Taints the kubelet registers a worker with, Talos form `key: "value:Effect"`. Not machine.nodeTaints:
   * Talos applies those to a worker with the kubelet's own credentials (talos v1.13.9
   * internal/app/machined/pkg/controllers/k8s/node_apply.go, getK8sClient), NodeRestriction forbids a node
   * to modify its taints (kubernetes v1.36.3 plugin/pkg/admission/noderestriction/admission.go, admitNode;
   * machinery v1.13.9 v1alpha1_types.go nodeTaints: "worker nodes are not allowed to modify the taints"),
   * and the refused update holds back the node's labels too (siderolabs/talos#10935). The kubelet's
   * registerWithTaints (allowed in extraConfig: machinery kubelet.ProtectedConfigurationFields) applies
   * them when the node registers, and only then.
   */
  registerTaints?: Record<string, string>;
}

/** Where Talos installs, from which image: the factory installer keeps the booted extensions. */
export function installPatch(installDisk: string, installerImage: string): Patch {
  return {
    purpose: "install: the disk and the factory installer image (with the image's extensions)",
    documents: [{ machine: { install: { disk: installDisk, image: installerImage } } }],
  };
}

/** Every patch a node gets from this library besides the install patch, in a stable order. */
export function nodePatches(input: NodePatchInput): Patch[] {
  const patches: Patch[] = [
    {
      purpose: "hostname: static, overriding the generated one",
      documents: [{ apiVersion: "v1alpha1", kind: "HostnameConfig", hostname: input.hostname, auto: "off" }],
    },
    {
      purpose: `kubeprism: the node-local API endpoint on localhost:${KUBEPRISM_PORT}`,
      documents: [{ machine: { features: { kubePrism: { enabled: true, port: KUBEPRISM_PORT } } } }],
    },
    nodeAddressPatch(input.role, input.ip),
  ];
  if (input.cni === "cilium") {
    patches.push({
      purpose: "cni: none and kube-proxy off, Cilium replaces both",
      documents: [{ cluster: { network: { cni: { name: "none" } }, proxy: { disabled: true } } }],
    });
  }
  if (input.role === "controlplane" && input.apiServerCertSans && input.apiServerCertSans.length > 0) {
    patches.push({
      purpose: "api server: the cluster endpoint's address in the certificate",
      documents: [{ cluster: { apiServer: { certSANs: input.apiServerCertSans } } }],
    });
  }
  if (input.role === "controlplane" && input.talosVip) {
    patches.push({
      purpose: "vip: the API address, held by one control plane at a time (up after etcd bootstrap)",
      documents: [
        {
          apiVersion: "v1alpha1",
          kind: "LinkAliasConfig",
          name: NODE_LINK_ALIAS,
          selector: { match: NODE_LINK_SELECTOR },
        },
        { apiVersion: "v1alpha1", kind: "Layer2VIPConfig", name: input.talosVip, link: NODE_LINK_ALIAS },
      ],
    });
  }
  if (input.role === "controlplane" && input.kubeVip) {
    patches.push({
      purpose: "kube-vip: a static pod holds the API VIP (leader-elected, dials the local API server)",
      documents: [{ machine: { pods: [kubeVipStaticPod(input.kubeVip)] } }],
    });
  }
  if (input.role === "controlplane" && input.allowSchedulingOnControlPlanes) {
    patches.push({
      purpose: "scheduling: control planes take workloads (the cluster has no workers)",
      documents: [{ cluster: { allowSchedulingOnControlPlanes: true } }],
    });
  }
  if (input.forwardKubeDnsToHost === false) {
    patches.push({
      purpose: "host dns: no kube-dns forwarding (Cilium masquerades in eBPF)",
      documents: [{ machine: { features: { hostDNS: { enabled: true, forwardKubeDNSToHost: false } } } }],
    });
  }
  if (input.longhorn) {
    patches.push({
      purpose: "longhorn: its data directory shared with the kubelet (bind, rshared)",
      documents: [
        {
          machine: {
            kubelet: {
              extraMounts: [
                {
                  destination: LONGHORN_MOUNT,
                  type: "bind",
                  source: LONGHORN_MOUNT,
                  options: ["bind", "rshared", "rw"],
                },
              ],
            },
          },
        },
      ],
    });
  }
  if (input.nodeLabels && Object.keys(input.nodeLabels).length > 0) {
    patches.push({ purpose: "labels", documents: [{ machine: { nodeLabels: input.nodeLabels } }] });
  }
  if (input.registerTaints && Object.keys(input.registerTaints).length > 0) {
    // Each spec passed checkNodeTaints, so it parses.
    const registerWithTaints = Object.entries(input.registerTaints).map(([key, spec]) => {
      const { value, effect } = parseTaint(spec) as { value: string; effect: string };
      return { key, ...(value === "" ? {} : { value }), effect };
    });
    patches.push({
      purpose: "taints: registered by the kubelet",
      documents: [{ machine: { kubelet: { extraConfig: { registerWithTaints } } } }],
    });
  }
  return patches;
}

/**
 * Pins the node's address. Talos takes the kubelet's node IP and etcd's advertised address from the
 * node's routed addresses (internal/app/machined/pkg/controllers/k8s/nodeip.go, etcd/spec.go) and
 * excludes only the VIPs Talos itself holds (k8s/nodeip_config.go). kube-vip adds the API VIP and every
 * Service IP as /32s on the NIC, and one below the node's own address would become the node's IP. A
 * /32 of the node's static address keeps exactly that one (addressutil.FilterIPs: subnet contains).
 */
function nodeAddressPatch(role: NodeRole, ip: string): Patch {
  const only = [`${ip}/32`];
  return {
    purpose: "node address: the static IP, never a VIP or Service address on the same NIC",
    documents: [
      {
        machine: { kubelet: { nodeIP: { validSubnets: only } } },
        ...(role === "controlplane" ? { cluster: { etcd: { advertisedSubnets: only } } } : {}),
      },
    ],
  };
}

/**
 * kube-vip's control-plane identity, written to every control plane: its kubeconfig on the node and,
 * as inline manifests Talos applies at bootstrap, its bootstrap-token Secret and lease RBAC. Holds the
 * token: render it secret.
 */
export function kubeVipIdentityPatch(caCertificateBase64: string, clusterSecret: string): Patch {
  const tokenSecret = kubeVipTokenSecret(clusterSecret);
  return {
    purpose: "kube-vip: its own identity (bootstrap token, lease RBAC) and the static pod's kubeconfig",
    documents: [
      {
        machine: {
          files: [
            {
              path: KUBE_VIP_KUBECONFIG_PATH,
              permissions: 0o600,
              op: "create",
              content: kubeVipKubeconfig(caCertificateBase64, tokenSecret),
            },
          ],
        },
        cluster: {
          inlineManifests: [
            { name: KUBE_VIP_IDENTITY_MANIFEST, contents: kubeVipIdentityManifests(tokenSecret) },
          ],
        },
      },
    ],
  };
}

/**
 * A patch as the Talos provider takes it: multi-document YAML. YAML 1.1 quoting, so values such as
 * "off" or "yes" stay strings for every parser.
 */
export function renderPatch(patch: Patch): string {
  const documents = patch.documents.map((doc) => stringify(doc, { version: "1.1" }));
  return `# ${patch.purpose}\n${documents.join("---\n")}`;
}
