/**
 * Cilium's Helm values for Talos (Sidero's documented set), as data, and the combinations known to
 * break a Talos cluster.
 */
import { KUBEPRISM_PORT } from "./kubeprism";
import { Problem, show } from "./validation";

export const CILIUM_REPOSITORY = "https://helm.cilium.io/";
export const CILIUM_CHART = "cilium";
export const DEFAULT_CILIUM_VERSION = "1.18.6";

/** Talos forbids SYS_MODULE; Cilium's agent gets exactly these. */
export const CILIUM_AGENT_CAPABILITIES = [
  "CHOWN",
  "KILL",
  "NET_ADMIN",
  "NET_RAW",
  "IPC_LOCK",
  "SYS_ADMIN",
  "SYS_RESOURCE",
  "DAC_OVERRIDE",
  "FOWNER",
  "SETGID",
  "SETUID",
];
export const CILIUM_CLEAN_STATE_CAPABILITIES = ["NET_ADMIN", "SYS_ADMIN", "SYS_RESOURCE"];

export interface CiliumValuesInput {
  /** Talos >= 1.8 with kube-proxy replacement and Cilium >= 1.16.5 needs it, or DNS breaks (cilium#36852). */
  hostLegacyRouting: boolean;
  hubble: boolean;
  /** Addresses in the LB-IPAM pool that Cilium announces over ARP; 0: no L2 announcements. */
  l2Addresses: number;
}

/**
 * The agent's API client limit for L2 announcements. Every announced Service is a lease its holder
 * renews each `leaseRenewDeadline` (5 s by default), and Cilium's doc (Documentation/network/
 * l2-announcements.rst, "Sizing client rate limit") warns that its default limit of 5 QPS / 10 burst
 * is quickly reached: QPS = #services / leaseRenewDeadline, burst somewhat higher. Each pool address
 * serves at most one Service, so the pool bounds #services. On top of twice the documented default.
 */
export function l2ClientRateLimit(addresses: number): { qps: number; burst: number } {
  const qps = 10 + Math.ceil(addresses / 5);
  return { qps, burst: 2 * qps };
}

/** The values Talos needs: Kubernetes IPAM, kube-proxy replacement through KubePrism, Talos's cgroups and capabilities. */
export function ciliumTalosValues(input: CiliumValuesInput): Record<string, unknown> {
  return {
    ipam: { mode: "kubernetes" },
    kubeProxyReplacement: true,
    k8sServiceHost: "localhost",
    k8sServicePort: KUBEPRISM_PORT,
    securityContext: {
      capabilities: {
        ciliumAgent: CILIUM_AGENT_CAPABILITIES,
        cleanCiliumState: CILIUM_CLEAN_STATE_CAPABILITIES,
      },
    },
    cgroup: { autoMount: { enabled: false }, hostRoot: "/sys/fs/cgroup" },
    bpf: { hostLegacyRouting: input.hostLegacyRouting },
    hubble: { relay: { enabled: input.hubble }, ui: { enabled: input.hubble } },
    l2announcements: { enabled: input.l2Addresses > 0 },
    ...(input.l2Addresses > 0 ? { k8sClientRateLimit: l2ClientRateLimit(input.l2Addresses) } : {}),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Helm's merge: mappings merge key by key, everything else (lists included) is replaced. */
export function mergeValues(
  base: Record<string, unknown>,
  override: Record<string, unknown>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = merged[key];
    merged[key] = isObject(current) && isObject(value) ? mergeValues(current, value) : value;
  }
  return merged;
}

function at(values: Record<string, unknown>, path: string[]): unknown {
  return path.reduce<unknown>((node, key) => (isObject(node) ? node[key] : undefined), values);
}

/** Whether the values make Cilium masquerade in eBPF, which Talos's host DNS forwarding does not survive. */
export function masqueradesWithBpf(values: Record<string, unknown>): boolean {
  return at(values, ["bpf", "masquerade"]) === true;
}

const CILIUM_VERSION = /^1\.(\d+)\.(\d+)$/;

/** Versions this library's values are written for: 1.16.5 (hostLegacyRouting fix) to 1.19. */
export function checkCiliumVersion(version: string, path: string): Problem[] {
  const match = CILIUM_VERSION.exec(version);
  const minor = match ? Number(match[1]) : NaN;
  const patch = match ? Number(match[2]) : NaN;
  if (!match) {
    return [
      {
        path,
        message: `${show(version)} is not a Cilium chart version (1.MINOR.PATCH, no "v"), e.g. "${DEFAULT_CILIUM_VERSION}".`,
      },
    ];
  }
  if (minor < 16 || (minor === 16 && patch < 5) || minor > 19) {
    return [
      {
        path,
        message: `Cilium ${version} is outside what these Talos values are written for (1.16.5 to 1.19.x). Use e.g. "${DEFAULT_CILIUM_VERSION}".`,
      },
    ];
  }
  return [];
}

/** `CiliumLoadBalancerIPPool` moved to cilium.io/v2 in 1.18. */
export function loadBalancerPoolApiVersion(version: string): string {
  return Number(version.split(".")[1]) >= 18 ? "cilium.io/v2" : "cilium.io/v2alpha1";
}

/** Value overrides known to break Talos. */
export function checkCiliumValues(
  values: Record<string, unknown>,
  forwardKubeDnsToHost: boolean,
  path: string,
): Problem[] {
  const problems: Problem[] = [];
  const agent = at(values, ["securityContext", "capabilities", "ciliumAgent"]);
  if (Array.isArray(agent) && agent.includes("SYS_MODULE")) {
    problems.push({
      path: `${path}.securityContext.capabilities.ciliumAgent`,
      message: `SYS_MODULE is refused by Talos (kernel modules come with the image). Remove it.`,
    });
  }
  if (at(values, ["cgroup", "autoMount", "enabled"]) === true) {
    problems.push({
      path: `${path}.cgroup.autoMount.enabled`,
      message: `Talos mounts cgroup2 itself at /sys/fs/cgroup; Cilium must not. Remove the override.`,
    });
  }
  // Talos runs no kube-proxy under Cilium (cluster.proxy.disabled): Cilium must replace it, and reach the
  // API without a Service ClusterIP, which only kube-proxy or Cilium itself would serve.
  const replacement = at(values, ["kubeProxyReplacement"]);
  if (replacement !== undefined && replacement !== true && replacement !== "true") {
    problems.push({
      path: `${path}.kubeProxyReplacement`,
      message:
        `is ${show(replacement)}, but Talos runs no kube-proxy under Cilium (cluster.proxy.disabled): Services ` +
        `would stop working. Remove the override (the Talos values set it to true), or use cni: flannel.`,
    });
  }
  for (const key of ["k8sServiceHost", "k8sServicePort"]) {
    const value = at(values, [key]);
    if (value === null || value === "") {
      problems.push({
        path: `${path}.${key}`,
        message:
          `is empty: without kube-proxy, Cilium reaches the API only through a direct address. Remove the ` +
          `override (KubePrism, localhost:${KUBEPRISM_PORT}) or name another one.`,
      });
    }
  }
  if (masqueradesWithBpf(values) && forwardKubeDnsToHost) {
    problems.push({
      path: `${path}.bpf.masquerade`,
      message:
        `eBPF masquerading breaks CoreDNS while Talos forwards kube-dns to its host DNS (the default). ` +
        `Set machine.features.hostDNS.forwardKubeDNSToHost to false on every node (forwardKubeDnsToHost: false), or drop bpf.masquerade.`,
    });
  }
  return problems;
}
