/**
 * Typed reads of untyped input (a stack file's YAML mapped to JSON, or a JavaScript caller's args),
 * collecting every problem with its path instead of stopping at the first. Unknown keys are problems
 * too: a typo must not silently become a default. Paths are relative: "" is the root.
 */
import { nearest, Problem, show } from "./validation";

export type ConfigObject = Record<string, unknown>;

/** The path of `key` under `path` ("" is the root). */
export function at(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

export class ConfigReader {
  readonly problems: Problem[] = [];

  report(path: string, message: string): void {
    this.problems.push({ path, message });
  }

  /** A mapping with only the allowed keys; `undefined` (and a problem) otherwise. */
  object(
    value: unknown,
    path: string,
    allowedKeys: readonly string[],
    renamed: Record<string, string> = {},
  ): ConfigObject | undefined {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      this.report(path, `must be a mapping of ${allowedKeys.join(", ")} (got ${describe(value)}).`);
      return undefined;
    }
    const obj = value as ConfigObject;
    for (const key of Object.keys(obj)) {
      if (renamed[key] !== undefined) {
        this.report(at(path, key), `was renamed to ${renamed[key]} (see the CHANGELOG). Rename it.`);
      } else if (!allowedKeys.includes(key)) {
        const near = nearest(key, allowedKeys);
        const hint = near ? `Did you mean ${show(near)}?` : `Allowed keys: ${allowedKeys.join(", ")}.`;
        this.report(at(path, key), `is not a known setting. ${hint}`);
      }
    }
    return obj;
  }

  string(obj: ConfigObject, key: string, path: string): string | undefined {
    const value = obj[key];
    if (value === undefined || value === null) {
      this.report(at(path, key), "is required.");
      return undefined;
    }
    return this.asString(value, at(path, key));
  }

  optionalString(obj: ConfigObject, key: string, path: string): string | undefined {
    const value = obj[key];
    return value === undefined ? undefined : this.asString(value, at(path, key));
  }

  integer(obj: ConfigObject, key: string, path: string): number | undefined {
    const value = obj[key];
    if (value === undefined || value === null) {
      this.report(at(path, key), "is required.");
      return undefined;
    }
    return this.asInteger(value, at(path, key));
  }

  optionalInteger(obj: ConfigObject, key: string, path: string): number | undefined {
    const value = obj[key];
    return value === undefined ? undefined : this.asInteger(value, at(path, key));
  }

  optionalBoolean(obj: ConfigObject, key: string, path: string): boolean | undefined {
    const value = obj[key];
    if (value === undefined || typeof value === "boolean") {
      return value;
    }
    this.report(at(path, key), `must be true or false (got ${describe(value)}).`);
    return undefined;
  }

  /** A required, non-empty list. */
  list(obj: ConfigObject, key: string, path: string, what: string): unknown[] | undefined {
    const value = obj[key];
    if (!Array.isArray(value)) {
      this.report(at(path, key), `must be a list of ${what} (got ${describe(value)}).`);
      return undefined;
    }
    if (value.length === 0) {
      this.report(at(path, key), `is empty. List at least one ${what.replace(/s$/, "")}.`);
      return undefined;
    }
    return value as unknown[];
  }

  optionalStringList(obj: ConfigObject, key: string, path: string): string[] | undefined {
    const value = obj[key];
    if (value === undefined) {
      return undefined;
    }
    if (!Array.isArray(value)) {
      this.report(at(path, key), `must be a list of strings (got ${describe(value)}).`);
      return undefined;
    }
    const strings = value.map((item, i) => this.asString(item, `${at(path, key)}[${i}]`));
    return strings.every((s): s is string => s !== undefined) ? strings : undefined;
  }

  /** Any mapping (Helm values, ...). */
  optionalMapping(obj: ConfigObject, key: string, path: string): ConfigObject | undefined {
    const value = obj[key];
    if (value === undefined) {
      return undefined;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      this.report(at(path, key), `must be a mapping (got ${describe(value)}).`);
      return undefined;
    }
    return value as ConfigObject;
  }

  /** A mapping of strings to strings (labels, taints). */
  optionalStringMap(obj: ConfigObject, key: string, path: string): Record<string, string> | undefined {
    const value = obj[key];
    if (value === undefined) {
      return undefined;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      this.report(at(path, key), `must be a mapping of strings (got ${describe(value)}).`);
      return undefined;
    }
    const map: Record<string, string> = {};
    let complete = true;
    for (const [k, v] of Object.entries(value as ConfigObject)) {
      const text = this.asString(v, at(at(path, key), k));
      if (text === undefined) {
        complete = false;
      } else {
        map[k] = text;
      }
    }
    return complete ? map : undefined;
  }

  /** A list of YAML documents, each a mapping or a string of YAML (machine-config patches). */
  optionalDocumentList(obj: ConfigObject, key: string, path: string): (string | ConfigObject)[] | undefined {
    const value = obj[key];
    if (value === undefined) {
      return undefined;
    }
    const items = Array.isArray(value) ? (value as unknown[]) : undefined;
    const isDocument = (item: unknown) =>
      typeof item === "string" || (typeof item === "object" && item !== null && !Array.isArray(item));
    if (!items || !items.every(isDocument)) {
      this.report(at(path, key), `must be a list of mappings or YAML strings (got ${describe(value)}).`);
      return undefined;
    }
    return items as (string | ConfigObject)[];
  }

  private asString(value: unknown, path: string): string | undefined {
    if (typeof value === "string") {
      return value;
    }
    const hint = typeof value === "number" ? ` Quote it in YAML: "${value}".` : "";
    this.report(path, `must be a string (got ${describe(value)}).${hint}`);
    return undefined;
  }

  private asInteger(value: unknown, path: string): number | undefined {
    if (typeof value === "number" && Number.isInteger(value)) {
      return value;
    }
    this.report(path, `must be a whole number (got ${describe(value)}).`);
    return undefined;
  }
}

function describe(value: unknown): string {
  if (value === undefined || value === null) {
    return "nothing";
  }
  if (Array.isArray(value)) {
    return `a list ${JSON.stringify(value)}`;
  }
  if (typeof value === "object") {
    return `a mapping ${JSON.stringify(value)}`;
  }
  return show(value);
}
