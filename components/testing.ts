/**
 * `talos-proxmox/testing`: Pulumi mocks that answer every resource and invoke these components use with
 * realistic shapes, for unit tests of programs built on them (and for this project's offline plan).
 * A type or invoke without a model fails loudly (or goes to the `fallback` mocks you pass), so a test
 * never sees guesses. Where the real answer is computable it is computed the real way (the Image Factory
 * schematic id, the factory URLs, Proxmox file ids, the applied machine configuration); credentials are
 * obvious fakes.
 *
 *   import * as pulumi from "@pulumi/pulumi";
 *   import { TalosProxmoxMocks } from "talos-proxmox/testing";
 *   pulumi.runtime.setMocks(new TalosProxmoxMocks(), "project", "stack", false);
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { parse } from "yaml";
import { unwrapSecrets } from "./internal/wire-secrets";

type State = Record<string, unknown>;
type Inputs = Record<string, unknown>;

interface ModelResult {
  id: string | undefined;
  state: State;
}

type ResourceModel = (inputs: Inputs, name: string, providers: TalosProxmoxMocks) => ModelResult;
type InvokeModel = (args: Inputs) => Record<string, unknown>;

const FACTORY_HOST = "factory.talos.dev";

const RESOURCE_MODELS: Record<string, ResourceModel> = {
  "talos:machine/secrets:Secrets": (inputs, name) => ({
    id: "machine_secrets",
    state: {
      talosVersion: inputs.talosVersion,
      machineSecrets: {
        certs: {
          etcd: fakeKeyPair(name, "etcd"),
          k8s: fakeKeyPair(name, "k8s"),
          k8sAggregator: fakeKeyPair(name, "k8s-aggregator"),
          k8sServiceaccount: { key: fake(name, "k8s-serviceaccount-key") },
          os: fakeKeyPair(name, "os"),
        },
        cluster: { id: fake(name, "cluster-id"), secret: fake(name, "cluster-secret") },
        secrets: {
          bootstrapToken: fake(name, "bootstrap-token"),
          secretboxEncryptionSecret: fake(name, "secretbox"),
        },
        trustdinfo: { token: fake(name, "trustd-token") },
      },
      clientConfiguration: {
        caCertificate: fake(name, "os-ca"),
        clientCertificate: fake(name, "admin-cert"),
        clientKey: fake(name, "admin-key"),
      },
    },
  }),

  "talos:machine/configurationApply:ConfigurationApply": (inputs) => {
    const patches = (inputs.configPatches as string[] | undefined) ?? [];
    const machineConfiguration = [
      text(inputs.machineConfigurationInput, "machineConfigurationInput"),
      ...patches,
    ].join("\n---\n");
    return {
      id: "machine_configuration_apply",
      state: {
        ...inputs,
        endpoint: inputs.endpoint ?? inputs.node,
        applyMode: inputs.applyMode ?? "auto",
        resolvedApplyMode: inputs.applyMode ?? "auto",
        machineConfiguration,
        machineConfigurationHash: createHash("sha256").update(machineConfiguration).digest("hex"),
      },
    };
  },

  "talos:machine/bootstrap:Bootstrap": (inputs) => ({
    id: "machine_bootstrap",
    state: { ...inputs, endpoint: inputs.endpoint ?? inputs.node },
  }),

  "talos:cluster/kubeconfig:Kubeconfig": (inputs, name) => {
    const host = `https://${text(inputs.endpoint ?? inputs.node, "node")}:6443`;
    const client = {
      host,
      caCertificate: fake(name, "k8s-ca"),
      clientCertificate: fake(name, "k8s-admin-cert"),
      clientKey: fake(name, "k8s-admin-key"),
    };
    return {
      id: "cluster_kubeconfig",
      state: {
        ...inputs,
        kubernetesClientConfiguration: client,
        kubeconfigRaw: fakeKubeconfig(client),
      },
    };
  },

  "talos:imageFactory/schematic:Schematic": (inputs) => ({
    id: factorySchematicId(text(inputs.schematic ?? "", "schematic")),
    state: { schematic: inputs.schematic },
  }),

  /** A command that ran (offline, nothing runs): its inputs, and no output. */
  "command:local:Command": (inputs) => ({
    id: "command",
    state: { ...inputs, stdout: "", stderr: "" },
  }),

  /** A deployed release; the real one waits for the chart's workloads to be ready. */
  "kubernetes:helm.sh/v3:Release": (inputs) => {
    const name = text(inputs.name, "name");
    const namespace = text(inputs.namespace ?? "default", "namespace");
    return {
      id: `${namespace}/${name}`,
      state: {
        ...inputs,
        status: {
          name,
          namespace,
          chart: inputs.chart,
          version: inputs.version,
          appVersion: inputs.version,
          status: "deployed",
          revision: 1,
        },
      },
    };
  },

  "proxmoxve:download/file:File": (inputs) => ({
    id: `${text(inputs.datastoreId, "datastoreId")}:${text(inputs.contentType, "contentType")}/${text(inputs.fileName, "fileName")}`,
    state: { ...inputs },
  }),

  "proxmoxve:index/vmLegacy:VmLegacy": (inputs, name, providers) => {
    const vmId = typeof inputs.vmId === "number" ? providers.claimVmId(inputs.vmId) : providers.nextVmId();
    return {
      id: String(vmId),
      state: {
        ...inputs,
        vmId,
        macAddresses: [proxmoxMac(name)],
        // The agent's IP report is disabled: the VM's address is the static one from cloud-init.
        ipv4Addresses: [],
        ipv6Addresses: [],
        networkInterfaceNames: [],
      },
    };
  },
};

const INVOKE_MODELS: Record<string, InvokeModel> = {
  /**
   * A stand-in for the rendered base config (the real one is Talos's full v1alpha1 document), with the
   * Kubernetes images at the requested version, as machinery renders them (siderolabs/talos
   * pkg/machinery v1.13.9 config/generate, init.go and worker.go: the kubelet on every node, the
   * API server on control planes): a Kubernetes bump changes every node's config, as it does under the real provider.
   */
  "talos:machine/getConfiguration:getConfiguration": (args) => ({
    id: text(args.clusterName, "clusterName"),
    clusterName: args.clusterName,
    clusterEndpoint: args.clusterEndpoint,
    machineType: args.machineType,
    talosVersion: args.talosVersion,
    kubernetesVersion: args.kubernetesVersion,
    machineConfiguration: [
      "# talos-proxmox/testing: stand-in for the configuration the Talos provider renders",
      "version: v1alpha1",
      `machine: {type: ${text(args.machineType, "machineType")}, kubelet: {image: ghcr.io/siderolabs/kubelet:${kubernetesTag(args)}}}`,
      `cluster: {clusterName: ${text(args.clusterName, "clusterName")}, controlPlane: {endpoint: ${text(args.clusterEndpoint, "clusterEndpoint")}}${
        args.machineType === "controlplane"
          ? `, apiServer: {image: registry.k8s.io/kube-apiserver:${kubernetesTag(args)}}`
          : ""
      }}`,
      "",
    ].join("\n"),
  }),

  "talos:client/getConfiguration:getConfiguration": (args) => {
    const cluster = text(args.clusterName, "clusterName");
    const client = args.clientConfiguration as Record<string, string>;
    return {
      id: cluster,
      clusterName: cluster,
      talosConfig: [
        `context: ${cluster}`,
        "contexts:",
        `  ${cluster}:`,
        `    endpoints: ${JSON.stringify(args.endpoints ?? [])}`,
        `    nodes: ${JSON.stringify(args.nodes ?? [])}`,
        `    ca: ${client.caCertificate}`,
        `    crt: ${client.clientCertificate}`,
        `    key: ${client.clientKey}`,
        "",
      ].join("\n"),
    };
  },

  /** A mocked cluster is healthy by definition; the real invoke waits and fails on timeout. */
  "talos:cluster/getHealth:getHealth": (args) => ({ id: "cluster_health", ...args }),

  /** The URLs terraform-provider-talos builds for a cloud platform such as nocloud. */
  "talos:imageFactory/getUrls:getUrls": (args) => {
    const platform = text(args.platform, "platform");
    if (platform !== "nocloud") {
      throw new Error(`the model of getUrls knows only nocloud, not ${platform}`);
    }
    const architecture = text(args.architecture ?? "amd64", "architecture");
    const version = `v${text(args.talosVersion, "talosVersion").replace(/^v/, "")}`;
    const schematicId = text(args.schematicId, "schematicId");
    const image = `https://${FACTORY_HOST}/image/${schematicId}/${version}`;
    return {
      id: "",
      talosVersion: version,
      schematicId,
      platform,
      architecture,
      urls: {
        installer: `${FACTORY_HOST}/${platform}-installer/${schematicId}:${version}`,
        installerSecureboot: `${FACTORY_HOST}/${platform}-installer-secureboot/${schematicId}:${version}`,
        iso: `${image}/${platform}-${architecture}.iso`,
        isoSecureboot: `${image}/${platform}-${architecture}-secureboot.iso`,
        diskImage: `${image}/${platform}-${architecture}.raw.xz`,
        diskImageSecureboot: `${image}/${platform}-${architecture}-secureboot.raw.xz`,
        pxe: "",
        kernel: "",
        kernelCommandLine: "",
        initramfs: "",
        uki: "",
      },
    };
  },
};

/** The Kubernetes version of a getConfiguration request as an image tag (`v1.36.1`). */
function kubernetesTag(args: Inputs): string {
  return `v${text(args.kubernetesVersion, "kubernetesVersion").replace(/^v/, "")}`;
}

export interface TalosProxmoxMocksOptions {
  /** What a StackReference reads: the outputs of the stack's last update. @default {} */
  previousOutputs?: Record<string, unknown>;
  /** Mocks for the program's own resources and invokes, which these models do not know. */
  fallback?: pulumi.runtime.Mocks;
}

/** Pulumi mocks that answer the components' resources and invokes as their providers would. */
export class TalosProxmoxMocks implements pulumi.runtime.Mocks {
  private readonly vmIds = new Set<number>();
  private readonly previousOutputs: Record<string, unknown>;
  private readonly fallback?: pulumi.runtime.Mocks;

  constructor(options: TalosProxmoxMocksOptions = {}) {
    this.previousOutputs = options.previousOutputs ?? {};
    this.fallback = options.fallback;
  }

  /** A resource's id and state, as its provider would report them after creating it. */
  newResource(args: pulumi.runtime.MockResourceArgs): {
    id: string | undefined;
    state: Record<string, unknown>;
  } {
    if (!args.custom) {
      return { id: undefined, state: {} };
    }
    if (args.type === "pulumi:pulumi:StackReference") {
      return { id: args.id, state: { name: args.id, outputs: this.previousOutputs, secretOutputNames: [] } };
    }
    if (args.type.startsWith("pulumi:providers:")) {
      return { id: `${args.name}-offline`, state: { ...(args.inputs as Inputs) } };
    }
    const model =
      RESOURCE_MODELS[args.type] ?? (args.type.startsWith("kubernetes:") ? kubernetesObject : undefined);
    if (!model) {
      if (this.fallback) {
        return this.fallback.newResource(args) as { id: string | undefined; state: Record<string, unknown> };
      }
      throw new Error(
        `talos-proxmox/testing has no model of resource type ${args.type}; add one in components/testing.ts, or pass a fallback`,
      );
    }
    return model(unwrapSecrets(args.inputs) as Inputs, args.name, this);
  }

  /** An invoke's result, as its provider would answer it. */
  call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
    const model = INVOKE_MODELS[args.token];
    if (!model) {
      if (this.fallback) {
        return this.fallback.call(args) as Record<string, unknown>;
      }
      throw new Error(
        `talos-proxmox/testing has no model of invoke ${args.token}; add one in components/testing.ts, or pass a fallback`,
      );
    }
    return model(unwrapSecrets(args.inputs) as Inputs);
  }

  /** Proxmox refuses a VM id that is taken. */
  claimVmId(vmId: number): number {
    if (this.vmIds.has(vmId)) {
      throw new Error(`Proxmox would refuse VM id ${vmId}: it is already taken`);
    }
    this.vmIds.add(vmId);
    return vmId;
  }

  /** Like Proxmox's next free id: the lowest free id from 100. */
  nextVmId(): number {
    let vmId = 100;
    while (this.vmIds.has(vmId)) {
      vmId++;
    }
    return this.claimVmId(vmId);
  }
}

/**
 * The id Image Factory gives a schematic: sha256 of its canonical YAML (gopkg.in/yaml.v3 with a
 * four-space indent, struct field order). Modelled for the fields this project can send; anything
 * else fails rather than produce a wrong id.
 */
export function factorySchematicId(schematicYaml: string): string {
  const doc = (parse(schematicYaml) ?? {}) as Record<string, unknown>;
  const known = new Set(["customization"]);
  const customization = (doc.customization ?? {}) as Record<string, unknown>;
  const knownCustomization = new Set(["extraKernelArgs", "systemExtensions"]);
  const extensions = ((customization.systemExtensions ?? {}) as Record<string, unknown>).officialExtensions;
  for (const key of Object.keys(doc)) {
    if (!known.has(key)) {
      throw new Error(`schematic field ${key} is not modelled`);
    }
  }
  for (const key of Object.keys(customization)) {
    if (!knownCustomization.has(key)) {
      throw new Error(`schematic field customization.${key} is not modelled`);
    }
  }
  const kernelArgs = stringList(customization.extraKernelArgs, "extraKernelArgs");
  const officialExtensions = stringList(extensions, "officialExtensions");

  const lines = ["customization:"];
  if (kernelArgs.length > 0) {
    lines.push("    extraKernelArgs:", ...kernelArgs.map((a) => `        - ${a}`));
  }
  if (officialExtensions.length > 0) {
    lines.push(
      "    systemExtensions:",
      "        officialExtensions:",
      ...officialExtensions.map((e) => `            - ${e}`),
    );
  }
  const canonical = lines.length === 1 ? "customization: {}\n" : `${lines.join("\n")}\n`;
  return createHash("sha256").update(canonical).digest("hex");
}

/** yaml.v3 writes these as plain scalars; anything it would quote is not modelled. */
const PLAIN_SCALAR = /^[A-Za-z0-9_./=,+-]*[A-Za-z_./=,+-][A-Za-z0-9_./=,+-]*$/;
const YAML_KEYWORD = /^(y|yes|n|no|true|false|on|off|null)$/i;

function isPlainScalar(value: unknown): boolean {
  return typeof value === "string" && PLAIN_SCALAR.test(value) && !YAML_KEYWORD.test(value);
}

function stringList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) {
    return [];
  }
  if (!Array.isArray(value) || !value.every(isPlainScalar)) {
    throw new Error(`schematic ${field} ${JSON.stringify(value)} is not modelled`);
  }
  return value as string[];
}

/** Any Kubernetes object: the API server stores what it is given, under its namespace/name. */
function kubernetesObject(inputs: Inputs): ModelResult {
  const metadata = (inputs.metadata ?? {}) as Record<string, unknown>;
  const name = text(metadata.name, "metadata.name");
  const id =
    metadata.namespace === undefined ? name : `${text(metadata.namespace, "metadata.namespace")}/${name}`;
  return { id, state: { ...inputs } };
}

/** A scalar input as text; a model fed anything else fails instead of guessing. */
function text(value: unknown, what: string): string {
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
    return String(value);
  }
  throw new Error(`talos-proxmox/testing: ${what} is ${JSON.stringify(value)}, not a scalar`);
}

/** An obviously fake credential, stable per resource. */
function fake(resource: string, what: string): string {
  return `FAKE-${what}-${createHash("sha256").update(resource).digest("hex").slice(0, 8)}`;
}

function fakeKeyPair(resource: string, what: string): { cert: string; key: string } {
  return { cert: fake(resource, `${what}-cert`), key: fake(resource, `${what}-key`) };
}

function fakeKubeconfig(client: {
  host: string;
  caCertificate: string;
  clientCertificate: string;
  clientKey: string;
}) {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    `  - name: offline`,
    `    cluster: {server: "${client.host}", certificate-authority-data: ${client.caCertificate}}`,
    "users:",
    `  - name: admin@offline`,
    `    user: {client-certificate-data: ${client.clientCertificate}, client-key-data: ${client.clientKey}}`,
    "contexts:",
    "  - name: admin@offline",
    "    context: {cluster: offline, user: admin@offline}",
    "current-context: admin@offline",
    "",
  ].join("\n");
}

/** A stable MAC in Proxmox's own OUI (BC:24:11), derived from the resource name. */
function proxmoxMac(name: string): string {
  const hash = createHash("sha256").update(name).digest();
  const tail = [hash[0], hash[1], hash[2]].map((b) => b.toString(16).padStart(2, "0").toUpperCase());
  return ["BC", "24", "11", ...tail].join(":");
}
