/**
 * Runs a Pulumi program in-process under Pulumi's mock engine and records every registration whole:
 * type, name, parent, inputs (secrets redacted), dependencies and options. This is what the offline
 * plan, the benchmarks and the tests stand on; it needs no Proxmox, no credentials and no Pulumi CLI.
 *
 * The mocks callback of `pulumi.runtime.setMocks` never sees dependencies or options, so a monitor
 * that extends MockMonitor takes the registration requests instead, and answers them like the engine
 * would: URNs with the full parent type chain (the root stack left out), and the outputs named in
 * `additionalSecretOutputs` returned as secrets.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aliasproto from "@pulumi/pulumi/proto/alias_pb";
import * as resproto from "@pulumi/pulumi/proto/resource_pb";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { JavaScriptValue, Struct } from "google-protobuf/google/protobuf/struct_pb";
import { unwrapSecrets } from "../../components/internal/wire-secrets";
import { AliasResolver } from "./aliases";
import { TalosProxmoxMocks } from "../../components/testing";

export const STACK_TYPE = "pulumi:pulumi:Stack";
export const SECRET = "[secret]";
export const UNKNOWN = "[unknown]";

export interface ResourceOptionsRecord {
  protect: boolean;
  ignoreChanges: string[];
  retainOnDelete: boolean;
  deleteBeforeReplace: boolean;
  replaceOnChanges: string[];
  additionalSecretOutputs: string[];
  /** Provider reference (`<provider urn>::<id>`), when one was given. */
  provider?: string;
  /** Plugin version and download URL pinned by the SDK. */
  version?: string;
  pluginDownloadURL?: string;
  customTimeouts?: { create?: string; update?: string; delete?: string };
  /** The aliases as the SDK sends them (the engine resolves them: tools/offline/aliases.ts). */
  aliases?: AliasRecord[];
}

/** An alias: an old URN, or a spec whose blanks the engine fills from the resource. */
export type AliasRecord =
  | { urn: string }
  | {
      name?: string;
      type?: string;
      project?: string;
      stack?: string;
      parentUrn?: string;
      noParent?: boolean;
    };

export interface ResourceRecord {
  /** Position among all registrations and invokes of the run, in the order they reached the engine. */
  seq: number;
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  parent: string | null;
  /** Inputs as sent to the engine; secrets are `"[secret]"`. */
  inputs: Record<string, unknown>;
  /** URNs this resource waits on: explicit dependsOn and the resources its inputs come from. */
  dependencies: string[];
  /** Per input property, the URNs it comes from. */
  propertyDependencies: Record<string, string[]>;
  options: ResourceOptionsRecord;
  /**
   * With `olds`: the URN of the last update's resource the engine matches this one to (its own, or one
   * of its aliases), or undefined when it would be created.
   */
  old?: string;
}

export interface InvokeRecord {
  /** Position among all registrations and invokes of the run, in the order they reached the engine. */
  seq: number;
  token: string;
  /** URNs the engine waits for before it calls the provider: the invoke's `dependsOn` and its inputs'. */
  dependsOn: string[];
  /**
   * Arguments as sent. The SDK sends invoke arguments with secrets unwrapped, so these may hold
   * credentials (fakes offline): keep them out of anything written to disk.
   */
  args: Record<string, unknown>;
}

export interface OfflineRun {
  resources: ResourceRecord[];
  invokes: InvokeRecord[];
  /** Stack outputs (secrets as `"[secret]"`); undefined when the program failed. */
  outputs?: Record<string, unknown>;
  /** What the program threw, if it failed. */
  error?: unknown;
  /**
   * The warnings the run logged (`pulumi.log.warn`), in order: what `pulumi up` and `pulumi preview`
   * would show. Under the mocks no engine takes them (@pulumi/pulumi log/index.js `warn` prints to the
   * console when `getEngine()` is undefined, which runtime/settings.js `setMockOptions` leaves it), so
   * the run records them itself.
   */
  warnings: string[];
  /**
   * Each resource's inputs as its provider receives them, secrets unwrapped (offline, secrets are the
   * models' fakes): only with the `providerInputs` option, for checks that need the real text of a
   * secret input (Talos's validator). Never written to disk.
   */
  providerInputs?: Map<string, Record<string, unknown>>;
}

export interface OfflineRunOptions {
  project: string;
  stack: string;
  /** Config as the engine passes it: `namespace:key` to string (objects as JSON). */
  config?: Record<string, string>;
  /** Config keys whose values are secrets. */
  secretKeys?: string[];
  /** Run as `pulumi preview` does (isDryRun() is true). @default false */
  preview?: boolean;
  /** The stack's outputs from its last update, for a program that reads its own stack. @default {} */
  previousOutputs?: Record<string, unknown>;
  /** When the engine answers each step (the benchmark's virtual clock). @default at once */
  scheduler?: StepScheduler;
  /**
   * Keep stack traces during the run. The SDK captures one for every promise it makes (to report
   * leaks) and ts-node source-maps each: most of a large run's time, and nothing the plan, the
   * benchmark or the tests show. Errors keep their messages either way; turn them on to debug the
   * engine itself. @default false
   */
  stackTraces?: boolean;
  /** Keep each resource's provider inputs, secrets unwrapped, in `providerInputs`. @default false */
  providerInputs?: boolean;
  /** The URNs of the last update's resources: each record's `old` is the one the engine would match. */
  olds?: readonly string[];
  /** What answers the registrations and invokes. @default TalosProxmoxMocks (with previousOutputs) */
  mocks?: pulumi.runtime.Mocks;
}

/** Decides when the engine answers a registration or an invoke, as if it had done the work. */
export interface StepScheduler {
  /** Resolves when the engine would have finished creating the resource. */
  resource(record: ResourceRecord): Promise<void>;
  /** Resolves when the provider would have answered the invoke. */
  invoke(record: InvokeRecord): Promise<void>;
}

/** Runs `program` as a stack (its return value becomes the stack outputs) and returns what it did. */
export async function runOffline(program: () => unknown, options: OfflineRunOptions): Promise<OfflineRun> {
  const monitor = new RecordingMonitor(
    options.mocks ?? new TalosProxmoxMocks({ previousOutputs: options.previousOutputs }),
    options.scheduler,
    options.providerInputs ?? false,
    options.olds && new AliasResolver(options.stack, options.project, new Set(options.olds)),
  );
  // "organization" is what a self-managed (DIY) backend calls every stack's organization.
  pulumi.runtime.setMockOptions(
    monitor,
    options.project,
    options.stack,
    options.preview ?? false,
    "organization",
  );
  // setMockOptions resets the runtime's feature flags; ask the monitor for them as a real run does.
  await (pulumi.runtime as unknown as { awaitFeatureSupport(): Promise<void> }).awaitFeatureSupport();
  pulumi.runtime.setAllConfig(options.config ?? {}, options.secretKeys ?? []);

  const stackTraceLimit = Error.stackTraceLimit;
  if (!options.stackTraces) {
    Error.stackTraceLimit = 0;
  }
  // Every caller, the SDK's own included, reaches warn through the log module's exports.
  const warnings: string[] = [];
  const log = pulumi.log as { warn: typeof pulumi.log.warn };
  const warn = log.warn;
  log.warn = (message: string) => {
    warnings.push(message);
    return Promise.resolve();
  };
  let error: unknown;
  try {
    await pulumi.runtime.runInPulumiStack(() => Promise.resolve().then(program));
  } catch (e) {
    error = e;
  }
  try {
    await pulumi.runtime.disconnect();
  } catch (e) {
    error ??= e;
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
    log.warn = warn;
  }
  return {
    resources: monitor.recorded,
    invokes: monitor.invokes,
    outputs: error === undefined ? monitor.stackOutputs : undefined,
    error,
    warnings,
    ...(options.providerInputs ? { providerInputs: monitor.providerInputs } : {}),
  };
}

type Callback<T> = (err: Error | null, response?: T) => void;

class RecordingMonitor extends MockMonitor {
  readonly recorded: ResourceRecord[] = [];
  readonly invokes: InvokeRecord[] = [];
  stackOutputs: Record<string, unknown> | undefined;
  private stackUrn: string | undefined;
  private seq = 0;

  readonly providerInputs = new Map<string, Record<string, unknown>>();

  constructor(
    mocks: pulumi.runtime.Mocks,
    private readonly scheduler: StepScheduler | undefined,
    private readonly keepProviderInputs: boolean,
    private readonly aliases: AliasResolver | undefined,
  ) {
    super(mocks);
  }

  /** The mock monitor's features, plus what the real engine also has: invokes that wait for dependsOn. */
  override getDeploymentInfo(req: unknown, callback: Callback<resproto.DeploymentInfo>): void {
    super.getDeploymentInfo(req, (err: Error | null, info?: resproto.DeploymentInfo) => {
      info?.addSupportedfeatures(resproto.ResourceMonitorFeature.RESOURCE_MONITOR_FEATURE_INVOKE_DEPENDS_ON);
      callback(err, info);
    });
  }

  override async registerResource(
    req: resproto.RegisterResourceRequest,
    callback: Callback<resproto.RegisterResourceResponse>,
  ): Promise<void> {
    try {
      const type = req.getType();
      const name = req.getName();
      const parent = req.getParent() || null;
      const urn = this.urnOf(parent, type, name);
      if (type === STACK_TYPE) {
        this.stackUrn = urn;
      }
      const registered = recordOf(req, urn, parent);
      const old = this.aliases?.resolve(urn, name, type, parent, registered.options.aliases ?? []);
      const record = { seq: this.seq++, ...registered, ...(old ? { old } : {}) };
      this.recorded.push(record);
      await this.scheduler?.resource(record);

      const inputs = deserialize(req.getObject());
      if (this.keepProviderInputs) {
        this.providerInputs.set(urn, inputs);
      }
      const result = await this.mocks.newResource({
        type,
        name,
        inputs,
        provider: req.getProvider(),
        custom: req.getCustom(),
        id: req.getImportid(),
      });
      // The engine returns these outputs as secrets, whatever the provider says.
      const state: Record<string, unknown> = { ...(result.state as Record<string, unknown>) };
      for (const key of req.getAdditionalsecretoutputsList()) {
        if (state[key] !== undefined) {
          state[key] = pulumi.secret(state[key]);
        }
      }
      const serialized = (await pulumi.runtime.serializeProperties(`offline ${urn}`, state)) as Record<
        string,
        unknown
      >;
      this.resources.set(urn, { urn, id: result.id ?? null, state: serialized });

      const response = new resproto.RegisterResourceResponse();
      response.setUrn(urn);
      response.setId(result.id ?? "");
      response.setObject(Struct.fromJavaScript(serialized as Record<string, JavaScriptValue>));
      callback(null, response);
    } catch (err) {
      callback(rpcError(err));
    }
  }

  override registerResourceOutputs(
    req: resproto.RegisterResourceOutputsRequest,
    callback: Callback<unknown>,
  ): void {
    if (req.getUrn() === this.stackUrn) {
      this.stackOutputs = plain(req.getOutputs());
    }
    super.registerResourceOutputs(req, callback);
  }

  override async invoke(
    req: resproto.ResourceInvokeRequest,
    callback: Callback<resproto.ResourceInvokeResponse>,
  ): Promise<void> {
    const record = {
      seq: this.seq++,
      token: req.getTok(),
      dependsOn: req.getDependsonList(),
      args: plain(req.getArgs()),
    };
    this.invokes.push(record);
    await this.scheduler?.invoke(record);
    return super.invoke(req, (err: unknown, response: resproto.ResourceInvokeResponse) =>
      callback(err ? rpcError(err) : null, response),
    );
  }

  /** Like the engine: the parent's full type chain, except the root stack's type. */
  private urnOf(parent: string | null, type: string, name: string): string {
    const parentType = parent ? parent.split("::")[2] : undefined;
    const qualified = parentType && parentType !== STACK_TYPE ? `${parentType}$${type}` : type;
    return `urn:pulumi:${pulumi.getStack()}::${pulumi.getProject()}::${qualified}::${name}`;
  }
}

function aliasRecord(alias: aliasproto.Alias): AliasRecord {
  const spec = alias.getSpec();
  if (!spec) {
    return { urn: alias.getUrn() };
  }
  const fields = {
    name: spec.getName(),
    type: spec.getType(),
    project: spec.getProject(),
    stack: spec.getStack(),
    parentUrn: spec.getParenturn(),
    noParent: spec.getNoparent(),
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== "" && v !== false));
}

/** Errors as gRPC delivers them: the SDK shows `details` to the user. */
function rpcError(err: unknown): Error & { details: string } {
  const error = err instanceof Error ? err : new Error(String(err));
  return Object.assign(error, { details: error.message });
}

/** Inputs as a provider sees them: plain values, secrets unwrapped. */
function deserialize(struct: Struct | undefined): Record<string, unknown> {
  return unwrapSecrets(pulumi.runtime.deserializeProperties(struct ?? new Struct())) as Record<
    string,
    unknown
  >;
}

function plain(struct: Struct | undefined): Record<string, unknown> {
  return redact(struct?.toJavaScript() ?? {}) as Record<string, unknown>;
}

function recordOf(
  req: resproto.RegisterResourceRequest,
  urn: string,
  parent: string | null,
): Omit<ResourceRecord, "seq"> {
  const propertyDependencies: Record<string, string[]> = {};
  req.getPropertydependenciesMap().forEach((deps, key) => {
    propertyDependencies[key] = deps.getUrnsList();
  });
  const options: ResourceOptionsRecord = {
    protect: req.getProtect() ?? false,
    ignoreChanges: req.getIgnorechangesList(),
    retainOnDelete: req.getRetainondelete() ?? false,
    deleteBeforeReplace: req.getDeletebeforereplace(),
    replaceOnChanges: req.getReplaceonchangesList(),
    additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
  };
  if (req.getProvider()) {
    options.provider = req.getProvider();
  }
  if (req.getVersion()) {
    options.version = req.getVersion();
  }
  if (req.getPlugindownloadurl()) {
    options.pluginDownloadURL = req.getPlugindownloadurl();
  }
  const aliases = req.getAliasesList().map(aliasRecord);
  if (aliases.length > 0) {
    options.aliases = aliases;
  }
  const timeouts = req.getCustomtimeouts();
  if (timeouts && (timeouts.getCreate() || timeouts.getUpdate() || timeouts.getDelete())) {
    options.customTimeouts = {
      create: timeouts.getCreate() || undefined,
      update: timeouts.getUpdate() || undefined,
      delete: timeouts.getDelete() || undefined,
    };
  }
  return {
    urn,
    type: req.getType(),
    name: req.getName(),
    custom: req.getCustom(),
    parent,
    inputs: plain(req.getObject()),
    dependencies: req.getDependenciesList(),
    propertyDependencies,
    options,
  };
}

/** Wire values to plain data: secrets become `"[secret]"`, unknowns `"[unknown]"`, resources their URN. */
export function redact(value: unknown): unknown {
  if (value === pulumi.runtime.unknownValue) {
    return UNKNOWN;
  }
  if (Array.isArray(value)) {
    return value.map(redact);
  }
  if (typeof value !== "object" || value === null) {
    return value;
  }
  const obj = value as Record<string, unknown>;
  switch (obj[pulumi.runtime.specialSigKey]) {
    case pulumi.runtime.specialSecretSig:
      return SECRET;
    case pulumi.runtime.specialResourceSig:
      return obj.urn;
    case pulumi.runtime.specialOutputValueSig:
      if (obj.secret) {
        return SECRET;
      }
      return "value" in obj ? redact(obj.value) : UNKNOWN;
    case pulumi.runtime.specialAssetSig:
    case pulumi.runtime.specialArchiveSig:
      return "[asset]";
  }
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, redact(v)]));
}
