/**
 * Version formats. Talos versions carry a `v` (`v1.13.9`); Kubernetes versions do not (`1.36.1`),
 * which is what the Talos provider and `talosctl upgrade-k8s --to` expect.
 */
import { Problem, show } from "./validation";

const TALOS_VERSION = /^v(\d+)\.(\d+)\.(\d+)(-(alpha|beta|rc)\.\d+)?$/;
const KUBERNETES_VERSION = /^(\d+)\.(\d+)\.(\d+)$/;

/**
 * A Talos release of a minor this library renders configs for. The patches use documents that exist
 * from v1.13 on (HostnameConfig, LinkAliasConfig, Layer2VIPConfig; `machine.network` is deprecated in
 * v1.13), and the Talos provider 0.8.1 renders configs with Talos machinery v1.13: older minors reject
 * those documents, and a newer minor's config contract is unknown to the provider.
 */
export function checkTalosVersion(version: string, path: string): Problem[] {
  if (!TALOS_VERSION.test(version)) {
    const fix = /^\d/.test(version)
      ? ` Add the "v": "v${version}".`
      : ` Use a release tag such as "v1.13.9".`;
    return [{ path, message: `${show(version)} is not a Talos release version (vMAJOR.MINOR.PATCH).${fix}` }];
  }
  const minor = talosMinor(version);
  if (KUBERNETES_SUPPORT[minor] !== undefined) {
    return [];
  }
  const supported = Object.keys(KUBERNETES_SUPPORT).map((m) => `${m}.x`);
  return [
    {
      path,
      message:
        `Talos ${minor} is not supported: this library renders ${supported.join(", ")} machine configs ` +
        `(HostnameConfig, LinkAliasConfig and Layer2VIPConfig documents, through the Talos provider 0.8.1 ` +
        `and its v1.13 machinery). Use a ${supported.join(" or ")} release, e.g. "v1.13.9".`,
    },
  ];
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
 * Kubernetes minors each supported Talos minor runs, oldest to newest: the Talos minors this library
 * renders configs for. Source: the Talos support matrix,
 * https://docs.siderolabs.com/talos/v1.13/getting-started/support-matrix (column 1.13). A newer Talos
 * minor needs patches checked against its config documents, a row here, and a Talos provider whose
 * machinery knows it (0.8.1 bundles Talos 1.13).
 */
export const KUBERNETES_SUPPORT: Readonly<Record<string, readonly [string, string]>> = {
  "v1.13": ["1.31", "1.36"],
};

function minorNumber(version: string): number {
  return Number(version.split(".")[1]);
}

/** Whether the pinned Talos minor runs the Kubernetes version; both must have passed their checks. */
export function checkKubernetesSupported(
  talosVersion: string,
  kubernetesVersion: string,
  path: string,
): Problem[] {
  const minor = talosMinor(talosVersion);
  const [oldest, newest] = KUBERNETES_SUPPORT[minor];
  const k8sMinor = minorNumber(kubernetesVersion);
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

/**
 * Orders two releases of one format (Talos `v1.13.9`, `v1.13.10-rc.0`; Kubernetes `1.36.1`): negative
 * when `a` is older, 0 when equal, positive when newer. A pre-release comes before its release.
 */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) => {
    const [core, pre] = v.replace(/^v/, "").split("-", 2);
    return { numbers: core.split(".").map(Number), pre };
  };
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i++) {
    if (x.numbers[i] !== y.numbers[i]) {
      return x.numbers[i] - y.numbers[i];
    }
  }
  if (x.pre === y.pre) {
    return 0;
  }
  if (x.pre === undefined || y.pre === undefined) {
    return x.pre === undefined ? 1 : -1;
  }
  return x.pre.localeCompare(y.pre, "en", { numeric: true });
}

/**
 * A Kubernetes move `talosctl upgrade-k8s` can make from the version the cluster runs: within its minor
 * or to the next one (siderolabs/go-kubernetes v0.2.39 kubernetes/upgrade/path.go, which talos v1.13.9
 * pkg/cluster/kubernetes/talos_managed.go refuses with "unsupported upgrade path"). A patch downgrade
 * within a minor passes that check.
 */
export function checkKubernetesMove(from: string, to: string, path: string): Problem[] {
  const [fromMinor, toMinor] = [minorNumber(from), minorNumber(to)];
  if (toMinor < fromMinor) {
    return [
      {
        path,
        message:
          `${show(to)} would take Kubernetes from ${from}, which the last update ran, down a minor: talosctl ` +
          `upgrade-k8s never moves to an older minor (go-kubernetes upgrade/path.go). Keep 1.${fromMinor}.x or newer.`,
      },
    ];
  }
  if (toMinor > fromMinor + 1) {
    return [
      {
        path,
        message:
          `${show(to)} would take Kubernetes from ${from}, which the last update ran, over 1.${fromMinor + 1}: ` +
          `talosctl upgrade-k8s moves one minor at a time (go-kubernetes upgrade/path.go). Set the newest ` +
          `1.${fromMinor + 1}.x and run pulumi up, then go on to ${to}.`,
      },
    ];
  }
  return [];
}

/** `v1.13.9` or `1.18.6` -> `1.13` / `1.18`: the minor a release belongs to. */
export function releaseMinor(version: string): string {
  return version.replace(/^v/, "").split(".", 2).join(".");
}

/** The newest release of the version's minor in `releases` (oldest first), if the list has that minor. */
export function newestOfMinor(version: string, releases: readonly string[]): string | undefined {
  return releases.filter((r) => releaseMinor(r) === releaseMinor(version)).at(-1);
}

/**
 * Whether a well-formed version is newer than every release of its minor that the project's list holds
 * (components/internal/releases.ts): maybe a release made after the list was last refreshed, which
 * {@link checkRelease} lets through and the cluster's warnings name.
 */
export function isNewerThanKnown(version: string, releases: readonly string[]): boolean {
  if (releases.includes(version) || isPreRelease(version)) {
    return false;
  }
  const newest = newestOfMinor(version, releases) ?? releases.at(-1);
  return newest === undefined || compareVersions(version, newest) > 0;
}

/** "v1.13.10-rc.0", "1.19.0-pre.1": a pre-release, which no release list holds. */
function isPreRelease(version: string): boolean {
  return /^v?\d+\.\d+\.\d+-/.test(version);
}

/** The format's problems, or, for a well-formed version, {@link checkRelease}'s. */
export function checkReleased(
  format: Problem[],
  version: string,
  releases: readonly string[],
  path: string,
  what: string,
): Problem[] {
  return format.length > 0 ? format : checkRelease(version, releases, path, what);
}

/**
 * A pinned version must be a release. The list (components/internal/releases.ts, written by
 * tools/upstream/releases.sh) is a snapshot, so only a version it proves absent is refused: one older
 * than the newest known release of its minor (a typo, a pre-release, a skipped number) or of a minor
 * older than every known one. A version newer than what the list knows may be a later release: not
 * refused here, but a warning (clusterWarnings).
 */
export function checkRelease(
  version: string,
  releases: readonly string[],
  path: string,
  what: string,
): Problem[] {
  if (releases.includes(version) || isNewerThanKnown(version, releases)) {
    return [];
  }
  const suggestion = newestOfMinor(version, releases) ?? releases.at(-1);
  return [
    {
      path,
      message:
        `${show(version)} is not a ${what} release (pre-releases are not pinned either). ` +
        `Use a released version, e.g. "${suggestion}".`,
    },
  ];
}
