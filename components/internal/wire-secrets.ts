/**
 * Secrets as a provider receives them: plain values. Pulumi's wire form wraps each secret as
 * {[specialSigKey]: specialSecretSig, value} (@pulumi/pulumi runtime/rpc), which is what mocks and a
 * deserialized RegisterResource request hold.
 */
import * as pulumi from "@pulumi/pulumi";

export function unwrapSecrets(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(unwrapSecrets);
  }
  if (typeof value !== "object" || value === null) {
    return value;
  }
  const record = value as Record<string, unknown>;
  if (record[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig) {
    return unwrapSecrets(record.value);
  }
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrapSecrets(v)]));
}
