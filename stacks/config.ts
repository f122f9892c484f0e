/**
 * Reading the stack file: `talos-proxmox:cluster` is a TalosCluster's description as it stands (the
 * library checks it, with paths under `cluster`), and the `proxmoxve:*` keys configure the Proxmox
 * provider this stack passes to it. Nothing here checks the cluster: every rule is the library's.
 */
import * as proxmoxve from "@muhlba91/pulumi-proxmoxve";
import * as pulumi from "@pulumi/pulumi";
import { LastUpdate, Problem, TalosCluster, TalosClusterArgs, ValidationError } from "../components";

const PROJECT_NAMESPACE = "talos-proxmox";

export interface ProxmoxSpec {
  endpoint: string;
  insecure: boolean;
  /** From `proxmoxve:apiToken`; when unset the provider reads `PROXMOX_VE_API_TOKEN`. */
  apiToken?: pulumi.Output<string>;
}

export interface StackSpec {
  cluster: TalosClusterArgs;
  proxmox: ProxmoxSpec;
}

/** Stacks with these names are production: their control plane must survive a node failure. */
const PRODUCTION_STACKS = ["prod", "production"];

/**
 * Reads the stack file and checks it whole, with what the last update recorded: throws a
 * ValidationError listing every problem (the cluster's under `cluster.`), before anything is created.
 */
export function readStackConfig(lastUpdate: LastUpdate): StackSpec {
  const problems: Problem[] = [];
  for (const key of Object.keys(pulumi.runtime.allConfig())) {
    if (key.startsWith(`${PROJECT_NAMESPACE}:`) && key !== `${PROJECT_NAMESPACE}:cluster`) {
      problems.push({
        path: key,
        message: `is not a known setting. All settings live under ${PROJECT_NAMESPACE}:cluster.`,
      });
    }
  }
  problems.push(...checkProxmoxKeys());
  const proxmoxConfig = new pulumi.Config("proxmoxve");
  const endpoint = proxmoxConfig.get("endpoint");
  problems.push(...checkEndpoint(endpoint));
  const proxmox: ProxmoxSpec = {
    endpoint: endpoint ?? "",
    insecure: proxmoxConfig.getBoolean("insecure") ?? false,
    apiToken: proxmoxConfig.getSecret("apiToken"),
  };

  const raw = new pulumi.Config(PROJECT_NAMESPACE).getObject<unknown>("cluster");
  const cluster = clusterArgs(raw, lastUpdate);
  if (raw === undefined) {
    problems.push({
      path: `${PROJECT_NAMESPACE}:cluster`,
      message:
        "is not set. Copy the talos-proxmox:cluster block of Pulumi.homelab.yaml into your stack file.",
    });
  } else if (isMapping(raw) && raw.lastUpdate !== undefined) {
    problems.push({
      path: "cluster.lastUpdate",
      message: "is not a setting: the stack reads what its last update recorded itself. Remove it.",
    });
  } else {
    problems.push(
      ...TalosCluster.validate(cluster).map((p) => ({
        ...p,
        path: p.path === "" ? "cluster" : `cluster.${p.path}`,
      })),
      ...checkCredentialsEncrypted(cluster),
    );
  }
  if (problems.length > 0) {
    throw new ValidationError(`Invalid configuration of stack "${pulumi.getStack()}"`, problems);
  }
  return { cluster, proxmox };
}

/**
 * The description as the file has it, with the stack's defaults: a production stack is highly
 * available unless the file says otherwise. Anything not a mapping is left for the library to refuse.
 */
function clusterArgs(raw: unknown, lastUpdate: LastUpdate): TalosClusterArgs {
  if (!isMapping(raw)) {
    return raw as TalosClusterArgs;
  }
  const production = PRODUCTION_STACKS.includes(pulumi.getStack());
  return {
    ...(production ? { highAvailability: true } : {}),
    ...(raw as unknown as TalosClusterArgs),
    lastUpdate,
  };
}

/**
 * Credentials in config patches come from an encrypted value. The engine marks a whole key secret when
 * any value in it is encrypted (pulumi/pulumi sdk/v3 v3.276.0 go/common/resource/config/object.go,
 * Secure: true when any element is), so the program cannot tell which value is: a `talos-proxmox:cluster`
 * with none encrypted holds the credentials in plain text. The library keeps such patches secret either way.
 */
function checkCredentialsEncrypted(cluster: TalosClusterArgs): Problem[] {
  const key = `${PROJECT_NAMESPACE}:cluster`;
  const patches = TalosCluster.credentialPatches(cluster);
  if (patches.length === 0 || isConfigSecret(key)) {
    return [];
  }
  return patches.map(({ path, fields }) => ({
    path: `cluster.${path}`,
    message:
      `holds ${fields.join(", ")} in plain text in the stack file. Encrypt the patch: pulumi config set --secret ` +
      `--path '${key}.${path}' "$(cat patch.yaml)" (the patch as YAML text). Then rotate the credential: it has ` +
      `been readable in the file.`,
  }));
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The `proxmoxve:*` settings this stack passes to its Proxmox provider. The provider is explicit, so
 * Pulumi hands it only these: any other `proxmoxve:*` key in the stack file would be silently ignored.
 */
const PROXMOX_KEYS = ["endpoint", "apiToken", "insecure"];

function checkProxmoxKeys(): Problem[] {
  const problems: Problem[] = [];
  // Every setting of the pinned provider: the getters of its generated config module.
  const providerKeys = Object.keys(proxmoxve.config);
  for (const key of Object.keys(pulumi.runtime.allConfig())) {
    const name = key.startsWith("proxmoxve:") ? key.slice("proxmoxve:".length) : undefined;
    if (name === undefined || PROXMOX_KEYS.includes(name)) {
      continue;
    }
    problems.push({
      path: key,
      message: providerKeys.includes(name)
        ? `is a Proxmox provider setting this stack does not pass on (it passes ${PROXMOX_KEYS.join(", ")}). Remove it.`
        : `is not a setting of the Proxmox provider. This stack reads ${PROXMOX_KEYS.map((k) => `proxmoxve:${k}`).join(", ")}.`,
    });
  }
  if (
    pulumi.runtime.allConfig()["proxmoxve:apiToken"] !== undefined &&
    !isConfigSecret("proxmoxve:apiToken")
  ) {
    problems.push({
      path: "proxmoxve:apiToken",
      message:
        `is stored in plain text in the stack file. Encrypt it: pulumi config set --secret proxmoxve:apiToken ` +
        `'<user>@<realm>!<token id>=<secret>' (or remove it and export PROXMOX_VE_API_TOKEN, which the ` +
        `provider reads when the setting is unset). Then rotate the token: it has been readable in the file.`,
    });
  }
  return problems;
}

/**
 * Whether the stack file stores a key encrypted (`secure:`). The Pulumi CLI's language host passes the
 * secret keys in PULUMI_CONFIG_SECRET_KEYS (pulumi/pulumi sdk/nodejs/cmd/pulumi-language-nodejs), and
 * the SDK answers from them in `runtime.isConfigSecret` (sdk/nodejs/runtime/config.ts: exported, marked
 * internal). The pinned SDK has it; an SDK without it fails here rather than letting a token through.
 */
function isConfigSecret(key: string): boolean {
  const check = (pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean }).isConfigSecret;
  if (typeof check !== "function") {
    throw new Error("@pulumi/pulumi no longer has runtime.isConfigSecret: update stacks/config.ts.");
  }
  return check(key);
}

function checkEndpoint(endpoint: string | undefined): Problem[] {
  const path = "proxmoxve:endpoint";
  const fix = `Set it with: pulumi config set proxmoxve:endpoint https://pve1.example.net:8006/`;
  if (endpoint === undefined) {
    return [{ path, message: `is not set. ${fix}` }];
  }
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return [{ path, message: `${JSON.stringify(endpoint)} is not a URL. ${fix}` }];
  }
  if (url.protocol !== "https:") {
    return [
      {
        path,
        message: `${JSON.stringify(endpoint)} must use https (the Proxmox API only serves TLS). ${fix}`,
      },
    ];
  }
  return [];
}
