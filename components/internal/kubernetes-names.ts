/**
 * Kubernetes label and taint syntax, checked before a node config carries them (a bad label makes the
 * kubelet refuse to register the node, long after `pulumi up` reported success).
 */
import { Problem, show } from "./validation";

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const;

/** `[prefix/]name`: a DNS-subdomain prefix of at most 253 characters, a name of at most 63. */
function isQualifiedName(key: string): boolean {
  const parts = key.split("/");
  if (parts.length > 2) {
    return false;
  }
  const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]];
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return false;
  }
  return NAME.test(name);
}

function isLabelValue(value: string): boolean {
  return value === "" || NAME.test(value);
}

/** The namespace (prefix) of a label key, or "" without one. */
function labelNamespace(key: string): string {
  return key.includes("/") ? key.slice(0, key.indexOf("/")) : "";
}

/** Whether `namespace` is `domain` or one of its subdomains. */
function within(namespace: string, domain: string): boolean {
  return namespace === domain || namespace.endsWith(`.${domain}`);
}

/** Labels the kubelet may set on its own Node outside its namespaces (k8s.io/kubelet v0.36.3, see below). */
const KUBELET_LABELS = [
  "kubernetes.io/hostname",
  "topology.kubernetes.io/zone",
  "topology.kubernetes.io/region",
  "failure-domain.beta.kubernetes.io/zone",
  "failure-domain.beta.kubernetes.io/region",
  "beta.kubernetes.io/instance-type",
  "node.kubernetes.io/instance-type",
  "kubernetes.io/os",
  "kubernetes.io/arch",
  "beta.kubernetes.io/os",
  "beta.kubernetes.io/arch",
];

/**
 * Whether NodeRestriction lets a node set the label on itself. Talos applies a worker's labels with the
 * kubelet's own credentials (siderolabs/talos v1.13.9 internal/app/machined/pkg/controllers/k8s/
 * node_apply.go getK8sClient: the kubelet kubeconfig unless the machine is a control plane), and the
 * admission plugin forbids it labels under node-restriction.kubernetes.io, and any other kubernetes.io
 * or k8s.io label unless it is a kubelet label (kubernetes/kubernetes v1.36.3
 * plugin/pkg/admission/noderestriction/admission.go getForbiddenLabels; k8s.io/kubelet v0.36.3
 * pkg/apis/well_known_labels.go IsKubeletLabel: the list above, or a namespace of kubelet.kubernetes.io
 * or node.kubernetes.io).
 */
function kubeletMaySet(key: string): boolean {
  const namespace = labelNamespace(key);
  if (within(namespace, "node-restriction.kubernetes.io")) {
    return false;
  }
  if (!within(namespace, "kubernetes.io") && !within(namespace, "k8s.io")) {
    return true;
  }
  return (
    KUBELET_LABELS.includes(key) ||
    within(namespace, "kubelet.kubernetes.io") ||
    within(namespace, "node.kubernetes.io")
  );
}

export function checkNodeLabels(labels: Record<string, string>, path: string): Problem[] {
  return Object.entries(labels).flatMap(([key, value]) => {
    if (!isQualifiedName(key)) {
      return [
        {
          path: `${path}.${key}`,
          message: `${show(key)} is not a label key: [prefix/]name, e.g. "example.com/role".`,
        },
      ];
    }
    if (!kubeletMaySet(key)) {
      const name = key.slice(key.indexOf("/") + 1);
      return [
        {
          path: `${path}.${key}`,
          message:
            `${show(key)} is a label a node may not set on itself (Kubernetes' NodeRestriction admission forbids ` +
            `kubernetes.io and k8s.io labels other than the kubelet's, and node-restriction.kubernetes.io ones), and ` +
            `Talos sets a worker's labels with its kubelet's credentials: the node would never get it. Use ` +
            `"node.kubernetes.io/${name}" or your own prefix (e.g. "example.com/${name}"), or label the node with kubectl.`,
        },
      ];
    }
    if (typeof value !== "string" || !isLabelValue(value)) {
      return [
        {
          path: `${path}.${key}`,
          message: `${show(value)} is not a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric.`,
        },
      ];
    }
    return [];
  });
}

/** A taint in Talos's form, `"value:Effect"` (the value may be empty); undefined without a `:`. */
export function parseTaint(spec: string): { value: string; effect: string } | undefined {
  const separator = spec.lastIndexOf(":");
  return separator < 0 ? undefined : { value: spec.slice(0, separator), effect: spec.slice(separator + 1) };
}

/** Talos's form: `key: "value:Effect"` (the value may be empty: `":NoSchedule"`). */
export function checkNodeTaints(taints: Record<string, string>, path: string): Problem[] {
  return Object.entries(taints).flatMap(([key, spec]) => {
    if (!isQualifiedName(key)) {
      return [
        {
          path: `${path}.${key}`,
          message: `${show(key)} is not a taint key: [prefix/]name, e.g. "dedicated".`,
        },
      ];
    }
    const taint = typeof spec === "string" ? parseTaint(spec) : undefined;
    if (
      !taint ||
      !isLabelValue(taint.value) ||
      !(TAINT_EFFECTS as readonly string[]).includes(taint.effect)
    ) {
      return [
        {
          path: `${path}.${key}`,
          message: `${show(spec)} is not "value:Effect" with an effect of ${TAINT_EFFECTS.join(", ")}. Use e.g. "storage:NoSchedule".`,
        },
      ];
    }
    return [];
  });
}
