/**
 * Version formats. Talos versions carry a `v` (`v1.13.9`); Kubernetes versions do not (`1.36.1`),
 * which is what the Talos provider and `talosctl upgrade-k8s --to` expect.
 */
import { Problem, show } from "./validation";

const TALOS_VERSION = /^v(\d+)\.(\d+)\.(\d+)(-(alpha|beta|rc)\.\d+)?$/;
const KUBERNETES_VERSION = /^(\d+)\.(\d+)\.(\d+)$/;

export function checkTalosVersion(version: string, path: string): Problem[] {
  if (TALOS_VERSION.test(version)) {
    return [];
  }
  const fix = /^\d/.test(version) ? ` Add the "v": "v${version}".` : ` Use a release tag such as "v1.13.9".`;
  return [{ path, message: `${show(version)} is not a Talos release version (vMAJOR.MINOR.PATCH).${fix}` }];
}

export function checkKubernetesVersion(version: string, path: string): Problem[] {
  if (KUBERNETES_VERSION.test(version)) {
    return [];
  }
  const fix = version.startsWith("v")
    ? ` Drop the "v": "${version.slice(1)}".`
    : ` Use a release such as "1.36.1".`;
  return [{ path, message: `${show(version)} is not a Kubernetes version (MAJOR.MINOR.PATCH).${fix}` }];
}
