/**
 * Users' own machine-config patches (the escape hatch): they must parse, and must not use fields that
 * Talos v1.13 deprecates, since this library renders v1.13 configs with the documents that replace them
 * (a deprecated `machine.network.hostname` next to the library's HostnameConfig is a conflict Talos
 * refuses at apply time, long after the VMs exist). Nor may they set what the library sets from the
 * cluster's description (the hostname, the install disk, the node address...): a patch applies after
 * the library's own and silently wins. Credentials in them are found, to be kept secret.
 */
import { parseAllDocuments, stringify } from "yaml";
import { Cni } from "./machine-config";
import { NodeRole } from "./node-rules";
import { Problem, show } from "./validation";

/** A patch as the Talos provider takes it: YAML text, a mapping rendered with YAML 1.1 quoting. */
export function patchText(patch: unknown): string {
  return typeof patch === "string" ? patch : stringify(patch, { version: "1.1" });
}

/** The documents of a patch that parses (multi-document YAML, or one RFC 6902 JSON patch). */
function documentsOf(patch: string): unknown[] {
  const documents = parseAllDocuments(patch);
  return documents.some((d) => d.errors.length > 0) ? [] : documents.map((d) => d.toJS() as unknown);
}

/**
 * v1alpha1 fields marked `Deprecated:` in Talos v1.13.9 (pkg/machinery/config/types/v1alpha1/
 * v1alpha1_types.go), with what replaces each.
 */
export const DEPRECATED_FIELDS: Readonly<Record<string, string>> = {
  persist: "nothing (no longer supported): remove it",
  "machine.network":
    "the multi-document network config: HostnameConfig, LinkConfig, ResolverConfig, StaticHostConfig, " +
    "KubeSpanConfig documents (this library already sets the hostname and the VIP that way)",
  "machine.disks": "a UserVolumeConfig document",
  "machine.env": "an EnvironmentConfig document",
  "machine.time": "a TimeSyncConfig document",
  "machine.registries": "RegistryMirrorConfig, RegistryAuthConfig and RegistryTLSConfig documents",
  "machine.systemDiskEncryption": "VolumeConfig documents",
  "machine.install.extraKernelArgs": "extraKernelArgs in the Image Factory schematic",
  "machine.install.extensions": "the image's extensions (cluster.image.extensions, TalosImage extensions)",
  "machine.install.bootloader": "nothing (it never worked): remove it",
  "machine.features.stableHostname": "nodes[].name (each node's hostname is its name)",
  "cluster.allowSchedulingOnMasters":
    "workerPools (control planes take workloads exactly when the cluster has no workers)",
  "cluster.etcd.subnet": "cluster.etcd.advertisedSubnets",
};

/**
 * Config documents Talos v1.14 added (registered in pkg/machinery v1.14.1 config/types, not in v1.13.9).
 * The Talos provider 0.8.1 loads patches with its machinery v1.13 (terraform-provider-talos v0.11.0,
 * configpatcher.LoadPatches), which refuses them ("not registered": test/talos-validation.spec.ts), so
 * the apply would fail on the first node. Talos v1.14 still reads the v1alpha1 fields they replace.
 */
export const TALOS_114_DOCUMENTS: readonly string[] = [
  "BGPInstanceConfig",
  "CRIBaseRuntimeSpecConfig",
  "CRICustomizationConfig",
  "ContainerConfig",
  "DiscoveryIdentityConfig",
  "DiscoveryServiceConfig",
  "EtcFileConfig",
  "FilesystemScrubConfig",
  "FilesystemTrimConfig",
  "HTTPProbeConfig",
  "ImageCacheConfig",
  "KernelModuleConfig",
  "KubeAPIServerCAConfig",
  "KubeAPIServerConfig",
  "KubeAdmissionControlConfig",
  "KubeAggregatorCAConfig",
  "KubeAuditPolicyConfig",
  "KubeAuthenticationConfig",
  "KubeAuthorizerConfig",
  "KubeClusterConfig",
  "KubeControllerManagerConfig",
  "KubeCoreDNSConfig",
  "KubeCredentialProviderConfig",
  "KubeEtcdEncryptionConfig",
  "KubeExternalManifestConfig",
  "KubeFlannelCNIConfig",
  "KubeInlineManifestConfig",
  "KubeNetworkConfig",
  "KubeNodeConfig",
  "KubePrismConfig",
  "KubeProxyConfig",
  "KubeSchedulerConfig",
  "KubeServiceAccountConfig",
  "KubeStaticPodConfig",
  "KubeTalosAPIAccessConfig",
  "KubeletConfig",
  "LVMLogicalVolumeConfig",
  "LVMVolumeGroupConfig",
  "RAIDArrayConfig",
  "SecurityProfileConfig",
  "SysctlConfig",
  "SysfsConfig",
  "UdevRulesConfig",
  "UnattendedInstallConfig",
  "VethConfig",
];

/** The kind of a typed document that Talos v1.14 added, if it is one. */
function talos114Kind(doc: unknown): string | undefined {
  const kind = (doc as { kind?: unknown } | null)?.kind;
  return typeof kind === "string" && TALOS_114_DOCUMENTS.includes(kind) ? kind : undefined;
}

function has(doc: unknown, dotted: string): boolean {
  let node = doc;
  for (const key of dotted.split(".")) {
    if (typeof node !== "object" || node === null || Array.isArray(node) || !(key in node)) {
      return false;
    }
    node = (node as Record<string, unknown>)[key];
  }
  return true;
}

/** The paths of an RFC 6902 JSON patch's operations, dotted: "/machine/network/hostname" → "machine.network.hostname". */
function operationPaths(operations: unknown[]): string[] {
  const dotted = (path: unknown) => (typeof path === "string" ? [path.split("/").slice(1).join(".")] : []);
  return operations.flatMap((op) => {
    const { op: kind, path, from } = (op ?? {}) as { op?: unknown; path?: unknown; from?: unknown };
    // RFC 6902: "test" changes nothing; "move" removes what is at "from" (4.4).
    if (kind === "test") {
      return [];
    }
    return [...dotted(path), ...(kind === "move" ? dotted(from) : [])];
  });
}

/** Whether an operation on dotted path `dotted` sets `field` or something inside it. */
const touches = (dotted: string, field: string) => dotted === field || dotted.startsWith(`${field}.`);

/** The dotted fields a document touches that Talos deprecates. */
function deprecatedIn(doc: unknown): string[] {
  if (Array.isArray(doc)) {
    return operationPaths(doc).flatMap((dotted) =>
      Object.keys(DEPRECATED_FIELDS).filter((field) => touches(dotted, field)),
    );
  }
  // A typed document (HostnameConfig, ...) has a kind; deprecated fields live in the v1alpha1 one.
  if (typeof doc === "object" && doc !== null && "kind" in doc) {
    return [];
  }
  return Object.keys(DEPRECATED_FIELDS).filter((field) => has(doc, field));
}

/** Problems of a list of patches, each at `${path}[i]`: YAML that does not parse, deprecated fields. */
export function checkConfigPatches(patches: readonly string[], path: string): Problem[] {
  return patches.flatMap((patch, i) => {
    const at = `${path}[${i}]`;
    const documents = parseAllDocuments(patch);
    const errors = documents.flatMap((d) => d.errors);
    if (errors.length > 0) {
      const { message, linePos } = errors[0];
      const where = linePos ? ` (line ${linePos[0].line}, column ${linePos[0].col})` : "";
      return [{ path: at, message: `is not valid YAML${where}: ${message.split("\n")[0]} Fix the patch.` }];
    }
    const values = documents.map((d) => d.toJS() as unknown);
    return [
      ...values.flatMap((doc) => {
        const kind = talos114Kind(doc);
        return kind === undefined
          ? []
          : [
              {
                path: at,
                message:
                  `is a ${kind} document, which Talos v1.14 added: the Talos provider 0.8.1 loads patches with its ` +
                  `v1.13 machinery, which does not know it, and the apply would fail. Where it replaces v1alpha1 ` +
                  `fields, set those (Talos v1.14 still reads them); what only it configures waits for a Talos ` +
                  `provider built on machinery v1.14.`,
              },
            ];
      }),
      ...values
        .flatMap((doc) => deprecatedIn(doc))
        .map((field) => ({
          path: at,
          message:
            `sets ${show(field)}, which Talos v1.13 deprecates and this library's configs replace. ` +
            `Use ${DEPRECATED_FIELDS[field]} instead.`,
        })),
    ];
  });
}

/** What decides which settings a pool's patches may not touch. */
export interface PatchContext {
  role: NodeRole;
  cni: Cni;
  /** Whether the cluster has worker pools (without, the control planes take workloads). */
  hasWorkers: boolean;
  vip: { ip: string; provider: "talos" | "kube-vip" };
}

/** What a patch may not set: the setting that owns it (absent: the library itself) and why. */
interface Owned {
  what: string;
  owner?: string;
  why: string;
}

const SECRETS: Omit<Owned, "what"> = {
  why: "the cluster's secrets (talos:machine/secrets) are generated once and kept in state; another value splits the node from the cluster",
};
const INSTALL_DISK: Omit<Owned, "what"> = {
  why: "Talos installs on the VM's own disk, /dev/sda; size it with diskGiB",
};

/**
 * v1alpha1 fields the library sets from the description (field names: siderolabs/talos pkg/machinery
 * v1.13.9 config/types/v1alpha1/v1alpha1_types.go; the secrets are those its Config.Redact lists, in
 * v1alpha1_provider.go). A patch applies after the library's own, so it would silently win, and lists
 * append.
 */
const OWNED_FIELDS: readonly (Owned & { when?: (c: PatchContext) => boolean })[] = [
  { what: "machine.install.disk", ...INSTALL_DISK },
  { what: "machine.install.diskSelector", ...INSTALL_DISK },
  {
    what: "machine.install.image",
    owner: "talosVersion and image.extensions",
    why: "the nodes install and upgrade with the Image Factory installer of that schematic",
  },
  {
    what: "machine.kubelet.nodeIP",
    owner: "nodes[].ip",
    why: "the kubelet takes exactly the node's address; listed subnets append, and let a VIP become the node IP",
  },
  {
    what: "cluster.etcd.advertisedSubnets",
    owner: "controlPlane.nodes[].ip",
    why: "etcd advertises exactly the node's address; listed subnets append",
  },
  {
    what: "machine.nodeLabels",
    owner: "workerPools[].labels",
    why: "a worker sets its labels with its kubelet's credentials, and that setting refuses the ones NodeRestriction forbids",
    when: (c) => c.role === "worker",
  },
  {
    what: "machine.nodeTaints",
    owner: "workerPools[].taints",
    why: "NodeRestriction forbids a worker to change its own taints, and Talos applies them with the worker's kubelet credentials (talos v1.13.9 node_apply.go), so the update fails and holds back the node's labels too; that setting registers the kubelet with them",
    when: (c) => c.role === "worker",
  },
  {
    what: "cluster.network.cni",
    owner: "cni",
    why: "with cni: cilium Talos runs no CNI and this library installs Cilium",
    when: (c) => c.cni === "cilium",
  },
  {
    what: "cluster.proxy.disabled",
    owner: "cni",
    why: "with cni: cilium, Cilium replaces kube-proxy",
    when: (c) => c.cni === "cilium",
  },
  { what: "cluster.controlPlane.endpoint", owner: "vip.ip", why: "the endpoint is https://<vip.ip>:6443" },
  { what: "cluster.clusterName", owner: "name", why: "every resource and the kubeconfig carry it" },
  {
    // With workers, letting the control planes take workloads too is the user's choice.
    what: "cluster.allowSchedulingOnControlPlanes",
    owner: "workerPools",
    why: "a cluster without workers runs its workloads on the control planes",
    when: (c) => !c.hasWorkers,
  },
  {
    what: "machine.features.kubePrism",
    why: "Cilium and kube-vip reach the API server through KubePrism on localhost:7445",
  },
  ...[
    "machine.token",
    "machine.ca",
    "cluster.secret",
    "cluster.token",
    "cluster.aescbcEncryptionSecret",
    "cluster.secretboxEncryptionSecret",
    "cluster.ca",
    "cluster.aggregatorCA",
    "cluster.serviceAccount",
    "cluster.etcd.ca",
  ].map((what) => ({ what, ...SECRETS })),
];

/**
 * Typed documents the library writes, or whose fields it owns (siderolabs/talos pkg/machinery v1.13.9
 * config/types/network: hostname.go, link_alias.go, layer2_vip.go, resolver.go). A document matches the
 * library's by kind and name, and the patch's wins.
 */
function ownedInDocument(doc: Record<string, unknown>, context: PatchContext): Owned[] {
  switch (doc.kind) {
    case "HostnameConfig":
      return [
        { what: "a HostnameConfig document", owner: "nodes[].name", why: "each node's hostname is its name" },
      ];
    case "LinkAliasConfig":
      // Talos gives a link one alias, the first by name (v1.13.9 internal/app/machined/pkg/controllers/
      // network/link_alias_config.go: "link already has an alias, skipping"): another alias of the VM's
      // only NIC can take net0's place, and the VIP with it.
      return context.role === "controlplane" && context.vip.provider === "talos"
        ? [
            {
              what: "a LinkAliasConfig document",
              owner: "vip.provider",
              why: "Talos's VIP sits on the alias net0 of the VM's only NIC, and a link takes one alias",
            },
          ]
        : [];
    case "Layer2VIPConfig":
      return doc.name === context.vip.ip
        ? [
            {
              what: `a Layer2VIPConfig document for ${context.vip.ip}`,
              owner: "vip.ip and vip.provider",
              why: "the API address is held as vip.provider says",
            },
          ]
        : [];
    case "ResolverConfig":
      return "nameservers" in doc
        ? [
            {
              what: "ResolverConfig nameservers",
              owner: "network.nameservers",
              why: "the nodes' DNS servers come from cloud-init (searchDomains may stay in the patch)",
            },
          ]
        : [];
    default:
      return [];
  }
}

/** The owned settings a document touches. */
function ownedIn(doc: unknown, context: PatchContext): Owned[] {
  const fields = OWNED_FIELDS.filter((o) => o.when?.(context) ?? true);
  if (Array.isArray(doc)) {
    // An operation on a field or inside it names the field; one on what holds owned fields (the root,
    // "/cluster") is one problem that names them.
    return operationPaths(doc).flatMap((dotted): Owned[] => {
      const on = fields.filter((o) => touches(dotted, o.what));
      const under = fields.filter((o) => dotted === "" || o.what.startsWith(`${dotted}.`));
      if (on.length > 0 || under.length === 0) {
        return on;
      }
      return [
        {
          what: `the whole of "/${dotted.split(".").join("/")}"`,
          why: `it holds ${under.map((o) => o.what).join(", ")}`,
        },
      ];
    });
  }
  if (typeof doc !== "object" || doc === null) {
    return [];
  }
  if ("kind" in doc) {
    return ownedInDocument(doc, context);
  }
  return fields.filter((o) => has(doc, o.what));
}

/** Problems of patches that set what the library owns, each at `${path}[i]`, naming the owner. */
export function checkOwnedSettings(
  patches: readonly string[],
  path: string,
  context: PatchContext,
): Problem[] {
  return patches.flatMap((patch, i) =>
    documentsOf(patch)
      .flatMap((doc) => ownedIn(doc, context))
      .map((o) => ({
        path: `${path}[${i}]`,
        message:
          `sets ${o.what.includes(" ") ? o.what : show(o.what)}, which this library owns: ${o.why}. ` +
          (o.owner ? `Remove it from the patch, and set ${o.owner} instead.` : `Remove it from the patch.`),
      })),
  );
}

/**
 * Fields of typed documents that hold credentials: those Talos itself redacts (siderolabs/talos
 * pkg/machinery v1.13.9 config/types: cri/registry_auth.go, cri/registry_tls.go, network/wireguard.go,
 * network/hcloud_vip.go, siderolink/siderolink.go, block/encryption.go: each Redact). `[]` walks a list.
 * v1alpha1's own secrets are the library's (OWNED_FIELDS), and its registries are deprecated.
 */
const CREDENTIAL_FIELDS: Readonly<Record<string, readonly string[]>> = {
  RegistryAuthConfig: ["password", "auth", "identityToken"],
  RegistryTLSConfig: ["clientIdentity.key"],
  WireguardConfig: ["privateKey", "peers[].presharedKey"],
  HCloudVIPConfig: ["apiToken"],
  SideroLinkConfig: ["uniqueToken", "apiUrl"],
  VolumeConfig: ["encryption.keys[].static.passphrase"],
  UserVolumeConfig: ["encryption.keys[].static.passphrase"],
  RawVolumeConfig: ["encryption.keys[].static.passphrase"],
  SwapVolumeConfig: ["encryption.keys[].static.passphrase"],
};

/** The values at a dotted path whose `[]` parts walk lists. */
function valuesAt(node: unknown, parts: readonly string[]): unknown[] {
  if (parts.length === 0) {
    return [node];
  }
  const [head, ...rest] = parts;
  const key = head.replace(/\[\]$/, "");
  const value =
    typeof node === "object" && node !== null && !Array.isArray(node)
      ? (node as Record<string, unknown>)[key]
      : undefined;
  if (head.endsWith("[]")) {
    return Array.isArray(value) ? value.flatMap((item) => valuesAt(item, rest)) : [];
  }
  return value === undefined ? [] : valuesAt(value, rest);
}

/**
 * The credentials a patch holds, as `Kind field` (e.g. `RegistryAuthConfig password`): a SideroLink URL
 * counts when it carries a join token, as Talos redacts only that.
 */
export function credentialsIn(patch: string): string[] {
  return documentsOf(patch).flatMap((doc) => {
    const kind = (doc as { kind?: unknown } | null)?.kind;
    const fields = typeof kind === "string" ? (CREDENTIAL_FIELDS[kind] ?? []) : [];
    return fields
      .filter((field) =>
        valuesAt(doc, field.split(".")).some((v) => {
          // Talos decodes a string field from any scalar (go.yaml.in/yaml/v4 v4.0.0-rc.4
          // internal/libyaml/constructor.go, scalar): `password: 123456` is the string "123456".
          const text =
            typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? String(v) : "";
          return text !== "" && (field !== "apiUrl" || /[?&]jointoken=/.test(text));
        }),
      )
      .map((field) => `${kind as string} ${field}`);
  });
}
