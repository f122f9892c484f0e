/**
 * Reads `Pulumi.yaml` and `Pulumi.<stack>.yaml` the way the Pulumi CLI hands config to a program:
 * `namespace:key` to a string, objects as JSON. Encrypted (`secure:`) values cannot be decrypted
 * without the stack's secrets provider, so they become the placeholder `[secret]`, marked secret.
 */
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parseDocument } from "yaml";
import { SECRET } from "./engine";

export interface StackConfig {
  project: string;
  stack: string;
  config: Record<string, string>;
  secretKeys: string[];
}

/** The project name from a project's `Pulumi.yaml`. */
export function readProjectName(projectDir: string): string {
  const project = readYamlFile(join(projectDir, "Pulumi.yaml"), "Run from the project directory.") as {
    name?: unknown;
  };
  if (typeof project?.name !== "string") {
    throw new Error(`${join(projectDir, "Pulumi.yaml")} has no name`);
  }
  return project.name;
}

/** The stack name a file is for: `Pulumi.prod.yaml` -> `prod`. */
export function stackNameOf(file: string): string | undefined {
  return /^Pulumi\.(.+)\.ya?ml$/.exec(basename(file))?.[1];
}

/** A stack file that cannot be read: missing, not YAML, or not a mapping of config. */
export class StackFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StackFileError";
  }
}

/** The YAML mapping in a file, or a StackFileError that names the file, the line and the fix. */
function readYamlFile(file: string, fix: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      throw new StackFileError(`${file}: no such file. ${fix}`);
    }
    throw e;
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    const { message, linePos } = doc.errors[0];
    const where = linePos ? `:${linePos[0].line}:${linePos[0].col}` : "";
    throw new StackFileError(`${file}${where}: not valid YAML: ${message}\nFix the file.`);
  }
  const value = doc.toJS() as unknown;
  if (value === null || value === undefined) {
    return {};
  }
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new StackFileError(`${file}: must be a YAML mapping (with a config: section). Fix the file.`);
  }
  return value as Record<string, unknown>;
}

/** The config of `file` as the program of `project` would receive it when run as `stack`. */
export function readStackFile(file: string, project: string, stack: string): StackConfig {
  const doc = readYamlFile(
    file,
    `Create it (copy Pulumi.homelab.yaml and edit it), or name an existing one with --config-file.`,
  ) as { config?: Record<string, unknown> };
  if (
    doc.config !== undefined &&
    (typeof doc.config !== "object" || doc.config === null || Array.isArray(doc.config))
  ) {
    throw new StackFileError(`${file}: config must be a mapping of settings. Fix the file.`);
  }
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [rawKey, rawValue] of Object.entries(doc?.config ?? {})) {
    const key = rawKey.includes(":") ? rawKey : `${project}:${rawKey}`;
    const { value, secret } = withoutCiphertext(rawValue);
    config[key] = typeof value === "string" ? value : JSON.stringify(value);
    if (secret) {
      secretKeys.push(key);
    }
  }
  return { project, stack, config, secretKeys };
}

/** Replaces every `{secure: ...}` with the placeholder and says whether there was one. */
function withoutCiphertext(value: unknown): { value: unknown; secret: boolean } {
  if (Array.isArray(value)) {
    const items = value.map(withoutCiphertext);
    return { value: items.map((i) => i.value), secret: items.some((i) => i.secret) };
  }
  if (typeof value !== "object" || value === null) {
    return { value, secret: false };
  }
  const entries = Object.entries(value);
  if (entries.length === 1 && entries[0][0] === "secure") {
    return { value: SECRET, secret: true };
  }
  const converted = entries.map(([k, v]) => [k, withoutCiphertext(v)] as const);
  return {
    value: Object.fromEntries(converted.map(([k, c]) => [k, c.value])),
    secret: converted.some(([, c]) => c.secret),
  };
}
