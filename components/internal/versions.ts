/**
 * Version formats. Talos versions carry a `v` (`v1.13.9`); Kubernetes versions do not (`1.36.1`),
 * which is what the Talos provider and `talosctl upgrade-k8s --to` expect.
 */
import { TALOS_RELEASES } from "./releases";
import { Problem, show } from "./validation";

const TALOS_VERSION = /^v(\d+)\.(\d+)\.(\d+)(-(alpha|beta|rc)\.\d+)?$/;
const KUBERNETES_VERSION = /^(\d+)\.(\d+)\.(\d+)$/;

/**
 * A Talos release of a minor this library supports (TALOS_SUPPORT). The patches use documents that
 * exist from v1.13 on (HostnameConfig, LinkAliasConfig, Layer2VIPConfig), and the Talos provider 0.8.1
 * renders configs with its machinery v1.13 whatever minor the nodes run; v1.14 nodes take those configs
 * (test/talos-validation.spec.ts judges them with machinery v1.14.1).
 */
export function checkTalosVersion(version: string, path: string): Problem[] {
  if (!TALOS_VERSION.test(version)) {
    const fix = /^\d/.test(version)
      ? ` Add the "v": "v${version}".`
      : ` Use a release tag such as "${NEWEST_SUPPORTED}".`;
    return [{ path, message: `${show(version)} is not a Talos release version (vMAJOR.MINOR.PATCH).${fix}` }];
  }
  const minor = talosMinor(version);
  if (TALOS_SUPPORT[minor] !== undefined) {
    return [];
  }
  const supported = Object.keys(TALOS_SUPPORT).map((m) => `${m}.x`);
  return [
    {
      path,
      message:
        `Talos ${minor} is not supported: this library supports ${supported.join(" and ")} (each with its ` +
        `Kubernetes range, validated by that minor's machinery). Use one of them, e.g. "${NEWEST_SUPPORTED}".`,
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

/** Whether a value is a well-formed Talos version (`v1.14.1`, `v1.15.0-rc.1`). */
export function isTalosVersion(version: unknown): version is string {
  return typeof version === "string" && TALOS_VERSION.test(version);
}

/** `v1.13.9` -> `v1.13`: the version contract of secrets and machine configs. */
export function talosMinor(version: string): string {
  const match = TALOS_VERSION.exec(version);
  if (!match) {
    throw new Error(`not a Talos version: ${version}`);
  }
  return `v${match[1]}.${match[2]}`;
}

/** What the library knows of a Talos minor it supports, each fact from that minor's machinery. */
export interface TalosMinorSupport {
  /** The Kubernetes minors it runs, oldest and newest (compatibility/talos1NN Minimum/MaximumKubernetesVersion). */
  kubernetes: readonly [string, string];
  /** The oldest Talos release that may upgrade to it (MinimumHostUpgradeVersion). */
  upgradeFrom: string;
  /** The etcd its control planes run unless a patch pins another (constants.DefaultEtcdVersion). */
  etcd: string;
  /**
   * How a config change that needs a reboot reaches the node. `staged`: the Talos provider's
   * `staged_if_needing_reboot` dry run finds it (the node answers REBOOT to an AUTO dry run) and stages
   * it; the config roll reboots the nodes holding a staged config. `live`: the node applies every change
   * live and never answers REBOOT, so the provider never stages; the library finds the changes that
   * need a reboot itself (components/internal/reboot-sections.ts) and the config roll reboots the nodes they touch.
   */
  rebootChanges: "staged" | "live";
}

/**
 * The Talos minors this library supports. Sources: github.com/siderolabs/talos/pkg/machinery v1.13.9 and
 * v1.14.1, compatibility/talos113/talos113.go and compatibility/talos114/talos114.go, constants/constants.go;
 * the apply modes: talos v1.14.1 internal/app/machined/internal/server/v1alpha1/v1alpha1_server.go
 * (ApplyConfiguration: AUTO always applies without a reboot, REBOOT is refused on a configured node) and
 * siderolabs/docs daf3cbe public/talos/v1.14/.../editing-machine-configuration.mdx ("machine configuration
 * is always applied to the running node without a reboot").
 */
export const TALOS_SUPPORT: Readonly<Record<string, TalosMinorSupport>> = {
  "v1.13": { kubernetes: ["1.31", "1.36"], upgradeFrom: "v1.11.0", etcd: "v3.6.12", rebootChanges: "staged" },
  "v1.14": { kubernetes: ["1.32", "1.37"], upgradeFrom: "v1.12.0", etcd: "3.7.1", rebootChanges: "live" },
};

/** The newest Talos release of a supported minor the release list knows (the examples' suggestion). */
export const NEWEST_SUPPORTED = TALOS_RELEASES.filter((r) => TALOS_SUPPORT[talosMinor(r)] !== undefined).at(
  -1,
);

/** Kubernetes minors each supported Talos minor runs, oldest to newest (from TALOS_SUPPORT). */
export const KUBERNETES_SUPPORT: Readonly<Record<string, readonly [string, string]>> = Object.fromEntries(
  Object.entries(TALOS_SUPPORT).map(([minor, support]) => [minor, support.kubernetes]),
);

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

/**
 * A config contract a cluster's configs may be rendered with: a supported minor ("v1.14"), never newer
 * than the minor the nodes install (a node of an older minor does not know what a newer contract turns on).
 */
export function checkConfigContract(contract: string, talosVersion: string, path: string): Problem[] {
  const match = /^v(\d+)\.(\d+)$/.exec(contract);
  if (!match || TALOS_SUPPORT[contract] === undefined) {
    return [
      {
        path,
        message: `${show(contract)} is not a config contract of a supported minor (${Object.keys(TALOS_SUPPORT).join(", ")}). Leave it unset to keep the cluster's.`,
      },
    ];
  }
  if (minorNumber(contract) > minorNumber(talosVersion)) {
    return [
      {
        path,
        message: `is ${contract}, newer than the nodes' ${talosMinor(talosVersion)}: a contract moves only once every node runs its minor.`,
      },
    ];
  }
  return [];
}

/**
 * A Talos move the roll can make from the version the last update ran: within a minor, or to the next
 * supported minor, one minor per update (Talos's upgrade guide; each minor names the oldest release that
 * may upgrade to it, compatibility/talos1NN MinimumHostUpgradeVersion). Across minors the nodes run both
 * minors while the roll goes, so the Kubernetes the cluster runs must be one both run, and Kubernetes
 * moves only within what both support in that update. Never down a minor: the etcd of the newer minor
 * (3.7 on v1.14) has written data the older one's etcd (3.6) reads only after etcd's own downgrade
 * (`talosctl etcd downgrade validate|enable`, siderolabs/docs v1.14 etcd-maintenance.mdx), which no roll
 * here runs. `from` and `fromKubernetes` are what the last update ran; both versions passed their checks.
 */
export function checkTalosMove(
  from: string,
  to: string,
  fromKubernetes: string | undefined,
  toKubernetes: string,
  path: string,
): Problem[] {
  const [fromMinor, toMinor] = [talosMinor(from), talosMinor(to)];
  if (fromMinor === toMinor) {
    return [];
  }
  if (minorNumber(to) < minorNumber(from)) {
    const etcd = TALOS_SUPPORT[fromMinor]?.etcd;
    return [
      {
        path,
        message:
          `${show(to)} would take the running cluster from ${from} down to ${toMinor}: its etcd${etcd ? ` (${etcd})` : ""} ` +
          `has written data an older etcd reads only after etcd's own downgrade, which the roll does not run. Keep ` +
          `${fromMinor}.x (a newer patch rolls as usual). Going back is by hand and outside this library: etcd's ` +
          `downgrade first (Talos's etcd maintenance guide: talosctl etcd downgrade validate, then enable, then each ` +
          `member's etcd image, the leader last), then talosctl upgrade of each node to the ${toMinor} installer.`,
      },
    ];
  }
  const next = `v1.${minorNumber(from) + 1}`;
  if (toMinor !== next) {
    return [
      {
        path,
        message:
          `${show(to)} would take the running cluster from ${from} over ${next}: the roll moves Talos one minor per ` +
          `update. Set the newest ${next}.x release and run pulumi up, then go on to ${to}.`,
      },
    ];
  }
  const problems: Problem[] = [];
  const upgradeFrom = TALOS_SUPPORT[toMinor]?.upgradeFrom;
  if (upgradeFrom !== undefined && compareVersions(from, upgradeFrom) < 0) {
    problems.push({
      path,
      message:
        `${show(to)}: Talos ${toMinor} upgrades from ${upgradeFrom} or newer (its MinimumHostUpgradeVersion), and ` +
        `the cluster runs ${from}. Roll to the newest ${fromMinor}.x first, then to ${to}.`,
    });
  }
  // The Kubernetes minors both run (a minor this library no longer supports constrains nothing here).
  const [oldest, newest] = [TALOS_SUPPORT[fromMinor], TALOS_SUPPORT[toMinor]]
    .filter((support) => support !== undefined)
    .map((support) => support.kubernetes)
    .reduce(([a, b], [c, d]) => [
      minorNumber(a) > minorNumber(c) ? a : c,
      minorNumber(b) < minorNumber(d) ? b : d,
    ]);
  const both = (version: string) =>
    minorNumber(version) >= minorNumber(oldest) && minorNumber(version) <= minorNumber(newest);
  if (fromKubernetes !== undefined && !both(fromKubernetes)) {
    problems.push({
      path,
      message:
        `${show(to)}: the cluster runs Kubernetes ${fromKubernetes}, and its nodes would run it on both minors through ` +
        `the roll, but both run only ${oldest} to ${newest}. Keep talosVersion at ${from}, move kubernetesVersion ` +
        `into ${oldest} to ${newest} and run pulumi up, then move Talos.`,
    });
  } else if (fromKubernetes !== toKubernetes && !both(toKubernetes)) {
    problems.push({
      path: "kubernetesVersion",
      message:
        `is ${toKubernetes}, outside ${oldest} to ${newest}, which both Talos ${fromMinor} and ${toMinor} run, in the ` +
        `update that moves Talos from ${from} to ${to}: that update changes one thing at a time, so a roll that stops ` +
        `halfway never leaves nodes of both minors behind a Kubernetes target the older cannot run. Keep kubernetesVersion ` +
        `at ${fromKubernetes ?? "the running version"} for this update, then move it once every node runs ${toMinor}.`,
    });
  }
  return problems;
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
