/**
 * Validation results shared by the components (which check their args) and the stack configuration
 * (which checks `Pulumi.<stack>.yaml`). A problem names where it is (`path`), and its message says
 * what is wrong, the value received, what is allowed and the fix.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export interface Problem {
  /** Config path (`cluster.workerPools[0].nodes[2].ip`) or argument path (`TalosVm "cp-1" args.cores`). */
  readonly path: string;
  /** What is wrong, the value received, what is allowed, and the fix. */
  readonly message: string;
}

/**
 * Thrown before any resource is created when input is invalid; lists every problem found at once. A
 * Pulumi RunError, so `pulumi up` and `pulumi preview` print its message once, without a stack trace
 * (@pulumi/pulumi cmd/run/run.js: RunErrors are logged as their message only). It captures no stack:
 * run.js still formats the error for a tracing event (util.inspect, which source-maps every frame
 * under ts-node), and with a stack that took 25 s of a refused `pulumi preview` on 2 cores (2 s without).
 */
export class ValidationError extends pulumi.RunError {
  constructor(
    readonly subject: string,
    readonly problems: readonly Problem[],
  ) {
    const plural = problems.length === 1 ? "problem" : "problems";
    const lines = problems.map((p) => `  - ${p.path}: ${p.message}`);
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(`${subject}: ${problems.length} ${plural}\n${lines.join("\n")}`);
    Error.stackTraceLimit = stackTraceLimit;
    this.name = "ValidationError";
  }
}

/** Throws a {@link ValidationError} when there is anything to report. */
export function throwIfProblems(subject: string, problems: readonly Problem[]): void {
  if (problems.length > 0) {
    throw new ValidationError(subject, problems);
  }
}

/** Renders a received value for a message: strings quoted, everything else as JSON. */
export function show(value: unknown): string {
  if (value === undefined) {
    return "nothing";
  }
  return JSON.stringify(value);
}

/** The candidate nearest to a typo (case-insensitive edit distance at most 2), if any. */
export function nearest(value: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = editDistance(value.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
    }
    previous = current;
  }
  return previous[b.length];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** RFC 1123 label: what Kubernetes, Talos hostnames and Proxmox VM names all accept. */
export function isDnsLabel(value: string): boolean {
  return DNS_LABEL.test(value);
}

export function checkDnsLabel(value: string, path: string, what: string): Problem[] {
  if (isDnsLabel(value)) {
    return [];
  }
  return [
    {
      path,
      message:
        `${what} must be a DNS label (got ${show(value)}): 1-63 lowercase letters, digits or '-', ` +
        `starting and ending with a letter or digit. Use e.g. ${show(suggestDnsLabel(value))}.`,
    },
  ];
}

function suggestDnsLabel(value: string): string {
  const label = value
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63)
    .replace(/-+$/, "");
  return label === "" ? "node-1" : label;
}

/** Whole numbers within bounds, with a message that names the bound and the fix. */
export function checkInteger(
  value: number,
  path: string,
  bounds: { min: number; max?: number; what: string },
): Problem[] {
  if (!Number.isInteger(value)) {
    return [{ path, message: `${bounds.what} must be a whole number (got ${show(value)}).` }];
  }
  if (value < bounds.min) {
    return [
      {
        path,
        message: `${bounds.what} must be at least ${bounds.min} (got ${value}). Set it to ${bounds.min} or more.`,
      },
    ];
  }
  if (bounds.max !== undefined && value > bounds.max) {
    return [
      {
        path,
        message: `${bounds.what} must be at most ${bounds.max} (got ${value}). Set it to ${bounds.max} or less.`,
      },
    ];
  }
  return [];
}

const STORAGE_ID = /^[a-zA-Z][a-zA-Z0-9_.-]*$/;

/** Proxmox storage ids (`local`, `local-lvm`, `ceph_pool.1`). */
export function checkStorageId(value: string, path: string): Problem[] {
  if (STORAGE_ID.test(value)) {
    return [];
  }
  return [
    {
      path,
      message:
        `${show(value)} is not a Proxmox storage id: a letter, then letters, digits, '-', '_' or '.'. ` +
        `Use the id shown under Datacenter > Storage, e.g. "local-lvm".`,
    },
  ];
}

const IMAGE_TAG = /^v\d+\.\d+\.\d+$/;

/** A released image tag such as v1.2.3 (never `latest`: versions are pinned). */
export function checkImageTag(tag: string, path: string): Problem[] {
  if (IMAGE_TAG.test(tag)) {
    return [];
  }
  return [
    {
      path,
      message: `${show(tag)} is not a release tag (vMAJOR.MINOR.PATCH). Pin a release, e.g. "v1.2.3".`,
    },
  ];
}

/**
 * Components that create Kubernetes objects take their provider explicitly: without one, Pulumi's
 * default provider would use whatever kubeconfig the machine running Pulumi has, another cluster maybe.
 */
export function checkKubernetesProvider(opts: pulumi.ComponentResourceOptions | undefined): Problem[] {
  const given = [
    opts?.provider,
    ...(Array.isArray(opts?.providers) ? opts.providers : Object.values(opts?.providers ?? {})),
  ];
  if (given.some((p) => k8s.Provider.isInstance(p))) {
    return [];
  }
  return [
    {
      path: "opts.provider",
      message:
        "is no Kubernetes provider: the objects would go to whatever cluster the default kubeconfig of " +
        "this machine names. Pass { provider: new k8s.Provider(name, { kubeconfig: controlPlane.kubeconfig }) }.",
    },
  ];
}

/** Seconds in a duration such as "1h30m", "15m" or "90s" (Go's form, whole units), or undefined. */
export function durationSeconds(text: unknown): number | undefined {
  const match = typeof text === "string" ? /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text) : null;
  if (!match || text === "") {
    return undefined;
  }
  const [, h, m, s] = match.map((part) => Number(part ?? 0));
  return h * 3600 + m * 60 + s;
}

/** A timeout: every timeout of this library is a duration in Go's form ("30m"), as talosctl takes it. */
export function checkDuration(value: unknown, path: string, minSeconds: number): Problem[] {
  const seconds = durationSeconds(value);
  if (seconds === undefined) {
    return [
      { path, message: `${show(value)} is not a duration. Write it as Go does, e.g. "30m" or "1h30m".` },
    ];
  }
  if (seconds < minSeconds) {
    return [{ path, message: `${show(value)} is too short: at least ${minSeconds} seconds.` }];
  }
  return [];
}
