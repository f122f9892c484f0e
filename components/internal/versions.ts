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

/** `v1.13.9` -> `v1.13`: the version contract of secrets and machine configs. */
export function talosMinor(version: string): string {
  const match = TALOS_VERSION.exec(version);
  if (!match) {
    throw new Error(`not a Talos version: ${version}`);
  }
  return `v${match[1]}.${match[2]}`;
}

/**
 * Kubernetes minors each Talos minor supports, oldest to newest. Source: the Talos support matrix,
 * https://docs.siderolabs.com/talos/v1.13/getting-started/support-matrix (columns 1.13 and 1.12) and
 * https://www.talos.dev/v1.12/introduction/support-matrix (column 1.11). Newer Talos minors need a
 * row here, and a Talos provider whose machinery knows them (0.8.1 bundles Talos 1.13).
 */
export const KUBERNETES_SUPPORT: Readonly<Record<string, readonly [string, string]>> = {
  "v1.11": ["1.29", "1.34"],
  "v1.12": ["1.30", "1.35"],
  "v1.13": ["1.31", "1.36"],
};

function minorNumber(version: string): number {
  return Number(version.split(".")[1]);
}

/** Whether the pinned Talos minor supports the Kubernetes version; both must be well formed. */
export function checkKubernetesSupported(
  talosVersion: string,
  kubernetesVersion: string,
  path: string,
): Problem[] {
  const minor = talosMinor(talosVersion);
  const range = KUBERNETES_SUPPORT[minor];
  if (!range) {
    const known = Object.keys(KUBERNETES_SUPPORT).join(", ");
    return [
      {
        path,
        message:
          `there is no support data for Talos ${minor} (known: ${known}). Use a known Talos minor, or add ` +
          `its row to KUBERNETES_SUPPORT from the Talos support matrix.`,
      },
    ];
  }
  const k8sMinor = minorNumber(kubernetesVersion);
  const [oldest, newest] = range;
  if (k8sMinor >= minorNumber(oldest) && k8sMinor <= minorNumber(newest)) {
    return [];
  }
  return [
    {
      path,
      message: `Kubernetes ${kubernetesVersion} is not supported by Talos ${minor}, which runs ${oldest} to ${newest}. Pick a version in that range.`,
    },
  ];
}
