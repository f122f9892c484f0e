/**
 * Reads `Pulumi.yaml` and `Pulumi.<stack>.yaml` the way the Pulumi CLI hands config to a program:
 * `namespace:key` to a string, objects as JSON. Encrypted (`secure:`) values cannot be decrypted
 * without the stack's secrets provider, so they become the placeholder `[secret]`, marked secret.
 */
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parse } from "yaml";
import { SECRET } from "./engine";

export interface StackConfig {
  project: string;
  stack: string;
  config: Record<string, string>;
  secretKeys: string[];
}

/** The project name from a project's `Pulumi.yaml`. */
export function readProjectName(projectDir: string): string {
  const project = parse(readFileSync(join(projectDir, "Pulumi.yaml"), "utf8")) as { name?: unknown };
  if (typeof project?.name !== "string") {
    throw new Error(`${join(projectDir, "Pulumi.yaml")} has no name`);
  }
  return project.name;
}

/** The stack name a file is for: `Pulumi.prod.yaml` -> `prod`. */
export function stackNameOf(file: string): string | undefined {
  return /^Pulumi\.(.+)\.ya?ml$/.exec(basename(file))?.[1];
}

/** The config of `file` as the program of `project` would receive it when run as `stack`. */
export function readStackFile(file: string, project: string, stack: string): StackConfig {
  const doc = parse(readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
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
