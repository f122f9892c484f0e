/**
 * What the real engine did, read the way it reports it: `pulumi stack export` (the state) and
 * `pulumi preview --json` (the steps), set beside the offline plan's records so that a test can require
 * them to be the same resources: URNs, types, parents, providers and dependencies.
 */
import { ResourceRecord } from "../offline/engine";

/** A resource of `pulumi stack export`'s `deployment.resources` (apitype.ResourceV3, sdk/v3 go/common/apitype/core.go). */
export interface StateResource {
  urn: string;
  type: string;
  custom: boolean;
  id?: string;
  parent?: string;
  provider?: string;
  dependencies?: string[];
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  protect?: boolean;
  external?: boolean;
  created?: string;
  modified?: string;
}

export interface StackExport {
  version: number;
  deployment: { resources?: StateResource[] };
}

/** A step of `pulumi preview --json` (display.PreviewDigest, pkg/v3 display/json.go). */
export interface PreviewStep {
  op: string;
  urn: string;
}

export interface PreviewDigest {
  steps?: PreviewStep[];
  changeSummary?: Record<string, number>;
  diagnostics?: { message?: string; severity?: string; urn?: string }[];
}

/** One resource as both engines can describe it. */
export interface ResourceShape {
  urn: string;
  type: string;
  parent: string | null;
  /** The provider's URN (its id differs between engines). */
  provider: string | null;
  dependencies: string[];
}

const PROVIDER_PREFIX = "pulumi:providers:";

/** The URN of a provider reference `<urn>::<id>`. */
function providerUrn(reference: string | undefined): string | null {
  return reference ? reference.slice(0, reference.lastIndexOf("::")) : null;
}

/**
 * A default provider's name is `default_<major>_<minor>_<patch>`, then `_<download URL as a QName>` when
 * the SDK named one (pkg/v3 v3.276.0 resource/deploy/providers/provider.go, DefaultName): the URL
 * part is left out of the comparison, the version is kept.
 */
function withoutDownloadUrl(urn: string | null): string | null {
  return urn?.replace(/(::default_\d+_\d+_\d+)_.*$/, "$1") ?? null;
}

/**
 * The resources a program registered, as the state holds them: without the stack's StackReference
 * reads (`external`, registered by ReadResource) and without the default providers the engine made
 * itself (named `default_<version>`, pkg/v3 resource/deploy/providers/registry.go).
 */
export function stateShapes(exported: StackExport): ResourceShape[] {
  return (exported.deployment.resources ?? [])
    .filter((r) => !r.external && !isDefaultProvider(r.urn))
    .map((r) => ({
      urn: r.urn,
      type: r.type,
      parent: r.parent ?? null,
      provider: withoutDownloadUrl(providerUrn(r.provider)),
      dependencies: [...new Set(r.dependencies ?? [])].sort(),
    }))
    .sort(byUrn);
}

function isDefaultProvider(urn: string): boolean {
  const [type, name] = urn.split("::").slice(2);
  return type.startsWith(PROVIDER_PREFIX) && name.startsWith("default");
}

/**
 * The offline plan's records in the same shape. A resource given no provider gets the engine's default
 * provider of its package at the version the SDK pinned (DefaultName, above).
 */
export function offlineShapes(records: readonly ResourceRecord[], stackUrnPrefix: string): ResourceShape[] {
  return records
    .map((r) => {
      let provider = providerUrn(r.options.provider);
      if (r.custom && !provider && !r.type.startsWith(PROVIDER_PREFIX)) {
        const pkg = r.type.split(":")[0];
        const version = r.options.version ? `_${r.options.version.split(/[.+-]/).slice(0, 3).join("_")}` : "";
        provider = `${stackUrnPrefix}::${PROVIDER_PREFIX}${pkg}::default${version}`;
      }
      return {
        urn: r.urn,
        type: r.type,
        parent: r.parent,
        provider,
        dependencies: [...new Set(r.dependencies)].sort(),
      };
    })
    .sort(byUrn);
}

function byUrn(a: ResourceShape, b: ResourceShape): number {
  return a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0;
}

/** The steps of a preview that change something, as `<op> <urn>`, sorted. */
export function changingSteps(digest: PreviewDigest): string[] {
  return (digest.steps ?? [])
    .filter((s) => s.op !== "same" && s.op !== "read")
    .map((s) => `${s.op} ${s.urn}`)
    .sort();
}

/** What a preview does to each custom resource it changes, in tools/offline/changes.ts's words. */
export function stepsByUrn(
  digest: PreviewDigest,
): Record<string, "create" | "update" | "replace" | "delete"> {
  const replacing = new Set(["replace", "create-replacement", "delete-replaced"]);
  const changes: Record<string, "create" | "update" | "replace" | "delete"> = {};
  for (const step of digest.steps ?? []) {
    const type = step.urn.split("::")[2].split("$").pop() ?? "";
    if (
      type === "pulumi:pulumi:Stack" ||
      type.startsWith("talos-proxmox:") ||
      type.startsWith(PROVIDER_PREFIX)
    ) {
      continue;
    }
    if (replacing.has(step.op)) {
      changes[step.urn] = "replace";
    } else if (step.op === "create" || step.op === "update" || step.op === "delete") {
      changes[step.urn] ??= step.op;
    }
  }
  return changes;
}

/**
 * What an update did to each resource it touched, read from the state before and after it: a URN only
 * before was deleted, only after created; one whose `created` time changed was replaced, one whose
 * `modified` time changed was updated (sdk/v3 go/common/resource/resource_state.go: an update keeps
 * `created` and moves `modified`; a replacement is a new resource). Components and providers are left
 * out, as tools/offline/changes.ts leaves them out.
 */
export function touched(
  before: readonly StateResource[],
  after: readonly StateResource[],
): Record<string, "create" | "update" | "replace" | "delete"> {
  const relevant = (r: StateResource) => r.custom && !r.external && !r.type.startsWith(PROVIDER_PREFIX);
  const old = new Map(before.filter(relevant).map((r) => [r.urn, r]));
  const changes: Record<string, "create" | "update" | "replace" | "delete"> = {};
  for (const r of after.filter(relevant)) {
    const was = old.get(r.urn);
    old.delete(r.urn);
    if (!was) {
      changes[r.urn] = "create";
    } else if (was.created !== r.created || was.id !== r.id) {
      changes[r.urn] = "replace";
    } else if (was.modified !== r.modified) {
      changes[r.urn] = "update";
    }
  }
  for (const urn of old.keys()) {
    changes[urn] = "delete";
  }
  return changes;
}

const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

/**
 * Every secret value in a state exported with `--show-secrets` (secrets carry the secret signature and
 * a `plaintext` JSON, sdk/v3 go/common/resource/sig): each string in them of 8 characters or more.
 * Certificates are left out: they are public, and the providers return some outside secrets (the
 * Kubernetes CA in the Talos provider's kubernetesClientConfiguration).
 */
export function secretPlaintexts(exported: StackExport): string[] {
  const found = new Set<string>();
  const walk = (value: unknown, inSecret: boolean): void => {
    if (typeof value === "string") {
      if (inSecret && value.length >= 8 && !isCertificate(value)) {
        found.add(value);
      }
    } else if (Array.isArray(value)) {
      value.forEach((v) => walk(v, inSecret));
    } else if (typeof value === "object" && value !== null) {
      const obj = value as Record<string, unknown>;
      if (obj[SIG_KEY] === SECRET_SIG && typeof obj.plaintext === "string") {
        walk(JSON.parse(obj.plaintext), true);
      } else {
        Object.values(obj).forEach((v) => walk(v, inSecret));
      }
    }
  };
  walk(exported, false);
  return [...found];
}

function isCertificate(value: string): boolean {
  const text = /^[A-Za-z0-9+/=\s]+$/.test(value) ? Buffer.from(value, "base64").toString("utf8") : value;
  return /^-----BEGIN CERTIFICATE-----[^]*-----END CERTIFICATE-----\s*$/.test(text.trim());
}
