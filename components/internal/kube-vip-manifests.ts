/**
 * kube-vip as data: the services-mode DaemonSet's environment, RBAC rules, the cloud provider's
 * ConfigMap, and the control-plane static pod (with an identity of its own) that holds the API VIP
 * when Talos does not.
 *
 * The environment and pod specs follow kube-vip's own generator (kube-vip v1.2.3,
 * `pkg/kubevip/config_generator.go`, `generatePodSpec`): the same variables, in the same order, with
 * the same values for the same settings. test/kube-vip-generator.spec.ts compares them with what the
 * real generator prints (test/fixtures/upstream/kube-vip, written by tools/upstream/kube-vip-manifests.sh).
 */
import { createHmac } from "node:crypto";
import { stringify } from "yaml";
import { IpRange } from "./ip-ranges";
import { KUBEPRISM_PORT } from "./kubeprism";
import { formatIPv4 } from "./ipv4";

export const KUBE_VIP_IMAGE = "ghcr.io/kube-vip/kube-vip";
export const DEFAULT_KUBE_VIP_VERSION = "v1.2.3";
export const KUBE_VIP_CLOUD_PROVIDER_IMAGE = "ghcr.io/kube-vip/kube-vip-cloud-provider";
export const DEFAULT_KUBE_VIP_CLOUD_PROVIDER_VERSION = "v0.0.12";

export const KUBE_VIP_NAMESPACE = "kube-system";
/** kube-vip's default lease names (cmd/kube-vip.go: --servicesLeaseName, --leaseName). */
export const SERVICES_LEASE = "plndr-svcs-lock";
export const CONTROL_PLANE_LEASE = "plndr-cp-lock";
/** Where the control-plane static pod's kubeconfig lives on the node (Talos writes files under /var only). */
export const KUBE_VIP_KUBECONFIG_PATH = "/var/lib/kube-vip/kubeconfig";
/**
 * Where the static pod sees it. kube-vip v1.2.3 (`pkg/manager/manager.go`, `New`) reads this path when it
 * exists and, in control-plane mode, ignores the file's server and dials `kubernetes:<port>`: the local
 * API server, through the pod's hostAlias `kubernetes -> 127.0.0.1` that its generator adds.
 */
export const ADMIN_CONF_PATH = "/etc/kubernetes/admin.conf";
/** The API server port: kube-vip's `port`, and what it dials in control-plane mode. */
export const API_SERVER_PORT = 6443;
/**
 * Metrics ports. kube-vip always serves Prometheus metrics (cmd/kube-vip.go: `--prometheusHTTPServer`
 * defaults to ":2112", and an empty `prometheus_server` keeps that default), and both instances run in
 * the host network of a control plane: the static pod takes the next port.
 */
export const SERVICES_METRICS_ADDRESS = ":2112";
export const CONTROL_PLANE_METRICS_ADDRESS = ":2113";

type EnvVar =
  { name: string; value: string } | { name: string; valueFrom: { fieldRef: { fieldPath: string } } };

/** Leader-election timing, shorter than kube-vip's defaults (15/10/2 s) so the VIP moves within seconds. */
const LEASE_TIMING = { duration: 5, renewDeadline: 3, retryPeriod: 1 };

interface GeneratorSettings {
  /** `vip_interface`; unset, kube-vip binds to the interface of the default route. */
  iface?: string;
  /** Control-plane mode: the address kube-vip holds. */
  controlPlaneAddress?: string;
  /** Services mode (per-service election). */
  services?: boolean;
  prometheusServer: string;
}

/**
 * The environment kube-vip's generator writes for these settings, in its order (config_generator.go,
 * generatePodSpec): ARP, port, node name, interface, subnet, DNS and DHCP modes, control-plane mode,
 * services mode, leader election, the address, metrics.
 */
function generatorEnv(settings: GeneratorSettings): EnvVar[] {
  const env: EnvVar[] = [
    { name: "vip_arp", value: "true" },
    { name: "port", value: String(API_SERVER_PORT) },
    { name: "vip_nodename", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
  ];
  const add = (values: Record<string, string>) =>
    env.push(...Object.entries(values).map(([name, value]) => ({ name, value })));
  if (settings.iface !== undefined) {
    add({ vip_interface: settings.iface });
  }
  if (settings.controlPlaneAddress !== undefined) {
    // The generator derives the subnet from an IPv4 address (cmd/kube-vip-manifests.go, GenerateCidrRange).
    add({ vip_subnet: "32" });
  }
  add({ dns_mode: "first", dhcp_mode: "ipv4" });
  if (settings.controlPlaneAddress !== undefined) {
    add({ cp_enable: "true", cp_namespace: KUBE_VIP_NAMESPACE });
  }
  if (settings.services) {
    add({ svc_enable: "true", svc_leasename: SERVICES_LEASE, svc_election: "true" });
  }
  add({
    vip_leaderelection: "true",
    // Read only in control-plane mode (pkg/cluster/clusterLeaderElection.go); the generator writes it always.
    vip_leasename: CONTROL_PLANE_LEASE,
    vip_leaseduration: String(LEASE_TIMING.duration),
    vip_renewdeadline: String(LEASE_TIMING.renewDeadline),
    vip_retryperiod: String(LEASE_TIMING.retryPeriod),
  });
  if (settings.controlPlaneAddress !== undefined) {
    add({ address: settings.controlPlaneAddress });
  } else {
    add({ vip_address: "" });
  }
  add({ prometheus_server: settings.prometheusServer });
  return env;
}

/**
 * Services mode: ARP, per-service leader election (so Service VIPs spread over the nodes), no control
 * plane. Unlike the generator's in-cluster pod, the API is reached through KubePrism on the node
 * (client-go's in-cluster config reads KUBERNETES_SERVICE_HOST/PORT), so kube-vip does not depend on
 * the Service network that the CNI provides.
 */
export function kubeVipServicesEnv(iface: string | undefined): EnvVar[] {
  return [
    ...generatorEnv({ iface, services: true, prometheusServer: SERVICES_METRICS_ADDRESS }),
    { name: "KUBERNETES_SERVICE_HOST", value: "localhost" },
    { name: "KUBERNETES_SERVICE_PORT", value: String(KUBEPRISM_PORT) },
  ];
}

export const KUBE_VIP_CAPABILITIES = { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] };

/**
 * Where the services-mode DaemonSet runs: everywhere, tainted nodes included. The generator's `--taint`
 * tolerations (NoSchedule and NoExecute); its control-plane-only node affinity is left out, because
 * Service VIPs may be announced from any node.
 */
export const KUBE_VIP_TOLERATIONS = [
  { effect: "NoSchedule", operator: "Exists" },
  { effect: "NoExecute", operator: "Exists" },
];

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** What the services-mode DaemonSet may do: the generator's ClusterRole (`kube-vip manifest rbac`). */
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

/**
 * The static pod that holds the API VIP on every control plane (leader-elected, ARP): what
 * `kube-vip manifest pod --controlplane --arp --leaderElection --k8sConfigPath <file>` prints, plus a
 * label, a read-only mount, and a hostPath that must be a file (so a missing kubeconfig fails loudly
 * instead of being created as an empty directory).
 */
export function kubeVipStaticPod(input: {
  version: string;
  vip: string;
  iface?: string;
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
      containers: [
        {
          args: ["manager"],
          env: generatorEnv({
            iface: input.iface,
            controlPlaneAddress: input.vip,
            prometheusServer: CONTROL_PLANE_METRICS_ADDRESS,
          }),
          image: `${KUBE_VIP_IMAGE}:${input.version}`,
          imagePullPolicy: "IfNotPresent",
          name: "kube-vip",
          securityContext: { capabilities: KUBE_VIP_CAPABILITIES },
          volumeMounts: [{ mountPath: ADMIN_CONF_PATH, name: "kubeconfig", readOnly: true }],
        },
      ],
      // `kubernetes` does not resolve on a Talos host; kube-vip dials kubernetes:6443 in control-plane mode.
      hostAliases: [{ hostnames: ["kubernetes"], ip: "127.0.0.1" }],
      hostNetwork: true,
      volumes: [{ hostPath: { path: KUBE_VIP_KUBECONFIG_PATH, type: "File" }, name: "kubeconfig" }],
    },
  };
}

/**
 * kube-vip's control-plane identity: a bootstrap token of its own (not the cluster's, which every worker
 * holds). The API server authenticates it as the user `system:bootstrap:<id>` (Talos runs kube-apiserver
 * with `enable-bootstrap-token-auth`, internal/app/machined/pkg/controllers/k8s/control_plane_static_pod.go),
 * and RBAC lets that user run the control-plane lease and nothing else. A static pod cannot use a
 * ServiceAccount, and the token's value must be known before the cluster exists to write the kubeconfig.
 */
export const KUBE_VIP_TOKEN_ID = "kvipcp";
export const KUBE_VIP_USER = `system:bootstrap:${KUBE_VIP_TOKEN_ID}`;
/**
 * Names of the inline manifests. Talos creates inline-manifest objects that are missing and never
 * updates existing ones (internal/app/machined/pkg/controllers/k8s/manifest_apply.go): these objects
 * have names no earlier release used, so a running cluster gets them on its next config apply.
 */
export const KUBE_VIP_IDENTITY_MANIFEST = "kube-vip-control-plane-identity";
const KUBE_VIP_LEASE_ROLE = "kube-vip-control-plane-lease";

const TOKEN_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

/**
 * The token's secret part, 16 characters of [a-z0-9] (the bootstrap-token format), derived from the
 * cluster secret: stable across runs, different per cluster, no extra state. Unbiased: bytes at or
 * above 252 (= 7 * 36) are skipped.
 */
export function kubeVipTokenSecret(clusterSecret: string): string {
  let secret = "";
  for (let round = 0; secret.length < 16; round++) {
    const digest = createHmac("sha256", clusterSecret).update(`talos-proxmox/kube-vip/${round}`).digest();
    for (const byte of digest) {
      if (byte < 252 && secret.length < 16) {
        secret += TOKEN_ALPHABET[byte % 36];
      }
    }
  }
  return secret;
}

/**
 * The manifests Talos applies at bootstrap: the bootstrap-token Secret, and a Role (the least that
 * client-go's LeaseLock needs: get, create, update; kube-vip v1.2.3 `pkg/election/election.go`) bound
 * to that token's user only.
 */
export function kubeVipIdentityManifests(tokenSecret: string): string {
  const secret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: `bootstrap-token-${KUBE_VIP_TOKEN_ID}`, namespace: KUBE_VIP_NAMESPACE },
    type: "bootstrap.kubernetes.io/token",
    stringData: {
      description: "kube-vip control-plane identity (talos-proxmox)",
      "token-id": KUBE_VIP_TOKEN_ID,
      "token-secret": tokenSecret,
      "usage-bootstrap-authentication": "true",
    },
  };
  const role = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: KUBE_VIP_LEASE_ROLE, namespace: KUBE_VIP_NAMESPACE },
    rules: [
      // `create` cannot be limited by name (Kubernetes RBAC: the name is unknown at admission).
      { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
      {
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        resourceNames: [CONTROL_PLANE_LEASE],
        verbs: ["get", "update"],
      },
    ],
  };
  const binding = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: KUBE_VIP_LEASE_ROLE, namespace: KUBE_VIP_NAMESPACE },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: KUBE_VIP_LEASE_ROLE },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: KUBE_VIP_USER }],
  };
  return [secret, role, binding].map((doc) => stringify(doc)).join("---\n");
}

/**
 * The static pod's kubeconfig: the cluster CA and kube-vip's own token. Its server is what kube-vip
 * dials anyway in control-plane mode (the local API server; its certificate names `kubernetes`,
 * internal/app/machined/pkg/controllers/secrets/kubernetes_cert_sans.go).
 */
export function kubeVipKubeconfig(caCertificateBase64: string, tokenSecret: string): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "local",
        cluster: {
          server: `https://kubernetes:${API_SERVER_PORT}`,
          "certificate-authority-data": caCertificateBase64,
        },
      },
    ],
    users: [{ name: "kube-vip", user: { token: `${KUBE_VIP_TOKEN_ID}.${tokenSecret}` } }],
    contexts: [{ name: "kube-vip", context: { cluster: "local", user: "kube-vip" } }],
    "current-context": "kube-vip",
  });
}
