/**
 * How long each step of a real `pulumi up` takes, in seconds: the benchmark's model of a homelab-class
 * Proxmox host (SSD storage, a 100 Mbit/s or better uplink to factory.talos.dev). The figures are
 * estimates of one operation each, not measurements of this project; what matters for the benchmark is
 * how they compose. Change them here to model another site.
 */
import { InvokeRecord, ResourceRecord } from "../offline/engine";

export interface Latency {
  seconds: number;
  /** What the time is spent on. */
  why: string;
}

/** Creating a resource of each type. */
export const RESOURCE_LATENCIES: Record<string, Latency> = {
  "talos:imageFactory/schematic:Schematic": { seconds: 2, why: "one POST to the Image Factory" },
  "proxmoxve:download/file:File": {
    seconds: 90,
    why: "Proxmox fetches the ~100 MB nocloud ISO the factory builds on first request",
  },
  "proxmoxve:index/vmLegacy:VmLegacy": {
    seconds: 20,
    why: "create the VM, attach the ISO, start it (no wait for a guest-agent IP)",
  },
  "talos:machine/secrets:Secrets": { seconds: 1, why: "generate the cluster's CAs and keys locally" },
  "command:local:Command": { seconds: 1, why: "a local shell: the preflight check, a no-op create" },
  "talos:machine/configurationApply:ConfigurationApply": {
    seconds: 10,
    why: "send the config to the node in maintenance mode; it installs and reboots afterwards",
  },
  "talos:machine/bootstrap:Bootstrap": {
    seconds: 200,
    why: "wait for the first node to pull the installer, install, reboot and answer, then bootstrap etcd",
  },
  "talos:cluster/kubeconfig:Kubeconfig": { seconds: 5, why: "fetch the admin kubeconfig from the node" },
  "kubernetes:helm.sh/v3:Release": {
    seconds: 150,
    why: "pull the chart and images, wait for every agent and the operator to be ready",
  },
  "kubernetes:apps/v1:DaemonSet": { seconds: 30, why: "wait for the rollout on every node" },
  "kubernetes:apps/v1:Deployment": { seconds: 30, why: "wait for the rollout" },
  "pulumi:pulumi:StackReference": { seconds: 1, why: "read the stack's last outputs" },
};
/** Any other Kubernetes object: one API call. */
const KUBERNETES_OBJECT: Latency = { seconds: 2, why: "one API call" };
/** A provider resource: configure an already running plugin. */
const PROVIDER: Latency = { seconds: 1, why: "configure the provider plugin" };

/** Talos's health checks, the only invokes that wait on the cluster; the others compute locally. */
export const HEALTH_LATENCIES = {
  talos: { seconds: 90, why: "etcd, the static control-plane pods and every kubelet come up" },
  kubernetes: { seconds: 60, why: "every node Ready once the CNI runs; CoreDNS and kube-proxy checks" },
};
const LOCAL_INVOKE: Latency = { seconds: 0.1, why: "computed by the provider, no remote call" };

/** `talosctl upgrade --wait` of one node, and the health gate the roll runs after it. */
export const UPGRADE_LATENCIES = {
  node: { seconds: 240, why: "pull the installer, cordon, drain, write the other slot, reboot, rejoin" },
  healthGate: { seconds: 45, why: "talosctl health: etcd, every node Ready" },
  configApply: { seconds: 10, why: "config applies of the new installer image, no reboot" },
  kubernetesControlPlane: {
    seconds: 120,
    why: "talosctl upgrade-k8s, per control plane: its static pods' images, one component at a time",
  },
  kubelets: { seconds: 60, why: "upgrade-k8s: every kubelet's image, restarted in place" },
};

/** What the other lifecycle steps take on one node (the impact report's estimate). */
export const NODE_LATENCIES = {
  reboot: { seconds: 150, why: "talosctl reboot --drain --wait: cordon, drain, reboot, rejoin, uncordon" },
  join: {
    seconds: 240,
    why: "create the VM, boot the ISO, apply the config, install, reboot, register and become Ready",
  },
  leave: {
    seconds: 150,
    why: "etcd check, kubectl drain, talosctl reset --graceful (etcd leave), Node delete, VM delete",
  },
};

export function resourceLatency(record: ResourceRecord): Latency {
  if (!record.custom) {
    return { seconds: 0, why: "a component: no operation" };
  }
  if (record.type.startsWith("pulumi:providers:")) {
    return PROVIDER;
  }
  const latency = RESOURCE_LATENCIES[record.type];
  if (latency) {
    return latency;
  }
  if (record.type.startsWith("kubernetes:")) {
    return KUBERNETES_OBJECT;
  }
  throw new Error(`the benchmark has no latency for ${record.type}: add it to tools/bench/latencies.ts`);
}

export function invokeLatency(record: InvokeRecord): Latency {
  if (record.token === "talos:cluster/getHealth:getHealth") {
    return record.args.skipKubernetesChecks === true ? HEALTH_LATENCIES.talos : HEALTH_LATENCIES.kubernetes;
  }
  return LOCAL_INVOKE;
}
