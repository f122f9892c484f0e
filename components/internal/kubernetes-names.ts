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
    const separator = typeof spec === "string" ? spec.lastIndexOf(":") : -1;
    const value = separator >= 0 ? spec.slice(0, separator) : "";
    const effect = separator >= 0 ? spec.slice(separator + 1) : "";
    if (separator < 0 || !isLabelValue(value) || !(TAINT_EFFECTS as readonly string[]).includes(effect)) {
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
