/**
 * kube-vip as data: the services-mode DaemonSet's environment, RBAC rules, the cloud provider's
 * ConfigMap, and the control-plane static pod that holds the API VIP when Talos does not.
 */
import { stringify } from "yaml";
import { IpRange } from "./ip-ranges";
import { KUBEPRISM_PORT } from "./kubeprism";
import { formatIPv4 } from "./ipv4";

export const KUBE_VIP_IMAGE = "ghcr.io/kube-vip/kube-vip";
export const DEFAULT_KUBE_VIP_VERSION = "v1.2.3";
export const KUBE_VIP_CLOUD_PROVIDER_IMAGE = "ghcr.io/kube-vip/kube-vip-cloud-provider";
export const DEFAULT_KUBE_VIP_CLOUD_PROVIDER_VERSION = "v0.0.12";
/** Proxmox's first virtio NIC sits at PCI slot 0x12: Talos's predictable name for it is ens18. */
export const DEFAULT_KUBE_VIP_INTERFACE = "ens18";

export const KUBE_VIP_NAMESPACE = "kube-system";
export const SERVICES_LEASE = "plndr-svcs-lock";
export const CONTROL_PLANE_LEASE = "plndr-cp-lock";
/** Where the control-plane static pod's kubeconfig lives on the node (Talos writes files under /var only). */
export const KUBE_VIP_KUBECONFIG_PATH = "/var/lib/kube-vip/kubeconfig";

type EnvVar =
  { name: string; value: string } | { name: string; valueFrom: { fieldRef: { fieldPath: string } } };

function env(values: Record<string, string>): EnvVar[] {
  return [
    ...Object.entries(values).map(([name, value]) => ({ name, value })),
    { name: "vip_nodename", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
  ];
}

const LEASE_TIMING = { vip_leaseduration: "5", vip_renewdeadline: "3", vip_retryperiod: "1" };

/**
 * Services mode: ARP, per-service leader election (so Service VIPs spread over the nodes), no control
 * plane. The API is reached through KubePrism on the node, so kube-vip does not depend on the CNI.
 */
export function kubeVipServicesEnv(iface: string): EnvVar[] {
  return env({
    vip_arp: "true",
    port: "6443",
    vip_interface: iface,
    vip_subnet: "32",
    svc_enable: "true",
    svc_election: "true",
    svc_leasename: SERVICES_LEASE,
    vip_leaderelection: "true",
    vip_leasename: SERVICES_LEASE,
    ...LEASE_TIMING,
    prometheus_server: ":2112",
    KUBERNETES_SERVICE_HOST: "localhost",
    KUBERNETES_SERVICE_PORT: String(KUBEPRISM_PORT),
  });
}

export const KUBE_VIP_CAPABILITIES = { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] };

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** What the services-mode DaemonSet may do. */
export const KUBE_VIP_RULES: PolicyRule[] = [
  { apiGroups: [""], resources: ["services/status"], verbs: ["update"] },
  { apiGroups: [""], resources: ["services", "endpoints"], verbs: ["list", "get", "watch", "update"] },
  { apiGroups: [""], resources: ["nodes"], verbs: ["list", "get", "watch", "update", "patch"] },
  {
    apiGroups: ["coordination.k8s.io"],
    resources: ["leases"],
    verbs: ["list", "get", "watch", "update", "create"],
  },
  {
    apiGroups: ["discovery.k8s.io"],
    resources: ["endpointslices"],
    verbs: ["list", "get", "watch", "update"],
  },
  { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
];

/** What the cloud provider may do: assign IPs from the kubevip ConfigMap to Services. */
export const CLOUD_PROVIDER_RULES: PolicyRule[] = [
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "list", "create", "update"] },
  { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch", "create", "update"] },
  { apiGroups: [""], resources: ["events"], verbs: ["create", "patch", "update"] },
  { apiGroups: [""], resources: ["services/status"], verbs: ["update", "patch"] },
  { apiGroups: [""], resources: ["nodes", "services"], verbs: ["list", "get", "watch", "update"] },
];

/** Service ranges per scope: `global` for every namespace, or a namespace name. */
export type ServiceRanges = Record<string, IpRange[]>;

/** The kube-vip-cloud-provider ConfigMap data: `range-<scope>: a-b,c-d`. */
export function serviceRangesData(ranges: ServiceRanges): Record<string, string> {
  return Object.fromEntries(
    Object.keys(ranges)
      .sort()
      .map((scope) => [
        `range-${scope}`,
        ranges[scope].map((r) => `${formatIPv4(r.first)}-${formatIPv4(r.last)}`).join(","),
      ]),
  );
}

/** The static pod that holds the API VIP on every control plane (leader-elected, ARP). */
export function kubeVipStaticPod(input: {
  version: string;
  vip: string;
  iface: string;
}): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "kube-vip",
      namespace: KUBE_VIP_NAMESPACE,
      labels: { "app.kubernetes.io/name": "kube-vip" },
    },
    spec: {
      hostNetwork: true,
      containers: [
        {
          name: "kube-vip",
          image: `${KUBE_VIP_IMAGE}:${input.version}`,
          args: ["manager"],
          env: env({
            vip_arp: "true",
            port: "6443",
            vip_interface: input.iface,
            vip_subnet: "32",
            cp_enable: "true",
            cp_namespace: KUBE_VIP_NAMESPACE,
            vip_leaderelection: "true",
            vip_leasename: CONTROL_PLANE_LEASE,
            ...LEASE_TIMING,
            address: input.vip,
            prometheus_server: ":2112",
          }),
          securityContext: { capabilities: KUBE_VIP_CAPABILITIES },
          volumeMounts: [{ name: "kubeconfig", mountPath: "/etc/kubernetes/admin.conf", readOnly: true }],
        },
      ],
      volumes: [{ name: "kubeconfig", hostPath: { path: KUBE_VIP_KUBECONFIG_PATH, type: "File" } }],
    },
  };
}

/**
 * The static pod cannot use a service account, and the API is not reachable through the VIP it is
 * about to provide. It authenticates with the cluster's bootstrap token (group system:bootstrappers),
 * which Talos already holds in every machine config, against the node's KubePrism; this Role lets that
 * group run the control-plane lease and nothing else. Talos applies it at bootstrap (inline manifest).
 */
export function kubeVipControlPlaneRbac(): string {
  const role = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: "kube-vip-control-plane", namespace: KUBE_VIP_NAMESPACE },
    rules: [
      { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
      {
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        resourceNames: [CONTROL_PLANE_LEASE],
        verbs: ["get", "watch", "update"],
      },
    ],
  };
  const binding = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "kube-vip-control-plane", namespace: KUBE_VIP_NAMESPACE },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "kube-vip-control-plane" },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:bootstrappers" }],
  };
  return [role, binding].map((doc) => stringify(doc)).join("---\n");
}

/** The static pod's kubeconfig: KubePrism on the node, the cluster CA, the bootstrap token. */
export function kubeVipKubeconfig(caCertificateBase64: string, bootstrapToken: string): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "local",
        cluster: {
          server: `https://localhost:${KUBEPRISM_PORT}`,
          "certificate-authority-data": caCertificateBase64,
        },
      },
    ],
    users: [{ name: "kube-vip", user: { token: bootstrapToken } }],
    contexts: [{ name: "kube-vip", context: { cluster: "local", user: "kube-vip" } }],
    "current-context": "kube-vip",
  });
}
