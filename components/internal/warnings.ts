/**
 * What a description may mean but often does not: worth saying, wrong to refuse. TalosCluster logs
 * each (`pulumi up` and `pulumi preview` show them), and the offline plan prints them. Paths are
 * relative to the description, like every problem of cluster-args.ts.
 */
import { ClusterSpec } from "./cluster-args";
import {
  CILIUM_CHART_RELEASES,
  KUBE_VIP_CLOUD_PROVIDER_RELEASES,
  KUBE_VIP_RELEASES,
  TALOS_RELEASES,
} from "./releases";
import { Problem, show } from "./validation";
import { isNewerThanKnown, newestOfMinor, releaseMinor } from "./versions";

/** The pinned versions, each with its release list (components/internal/releases.ts). */
function pinnedVersions(cluster: ClusterSpec) {
  return [
    { path: "talosVersion", version: cluster.talosVersion, releases: TALOS_RELEASES, what: "Talos" },
    {
      path: "cilium.version",
      version: cluster.cilium.version,
      releases: CILIUM_CHART_RELEASES,
      what: "Cilium chart",
    },
    {
      path: "kubeVip.version",
      version: cluster.kubeVip.version,
      releases: KUBE_VIP_RELEASES,
      what: "kube-vip",
    },
    {
      path: "kubeVip.cloudProviderVersion",
      version: cluster.kubeVip.cloudProviderVersion,
      releases: KUBE_VIP_CLOUD_PROVIDER_RELEASES,
      what: "kube-vip-cloud-provider",
    },
  ];
}

/**
 * `Cilium chart 1.18 release this library's list knows (the newest is "1.18.12")`: of the version's
 * minor, or of all when the list has none of that minor.
 */
function knownNewest(version: string, what: string, releases: readonly string[]): string {
  const ofMinor = newestOfMinor(version, releases);
  const minor = releaseMinor(version);
  return ofMinor
    ? `${what} ${minor} release this library's list knows (the newest is "${ofMinor}")`
    : `${what} release this library's list knows (the newest is "${releases.at(-1)}")`;
}

/**
 * The warnings of a description that passed every check: versions newer than the release lists know
 * (a release made since they were refreshed, or a typo that cannot be told from one), and worker pools
 * of one node, which every roll empties whatever the budget.
 */
export function clusterWarnings(cluster: ClusterSpec): Problem[] {
  const warnings: Problem[] = pinnedVersions(cluster)
    .filter((pin) => isNewerThanKnown(pin.version, pin.releases))
    .map((pin) => ({
      path: pin.path,
      message:
        `${show(pin.version)} is newer than every ${knownNewest(pin.version, pin.what, pin.releases)}. ` +
        `If it is a new release, refresh the list with bash tools/upstream/releases.sh ` +
        `(it writes components/internal/releases.ts); if not, pin a listed release.`,
    }));
  cluster.workerPools.forEach((pool, i) => {
    if (pool.nodes.length === 1) {
      warnings.push({
        path: `workerPools[${i}].nodes`,
        message:
          `has one node: every roll (an upgrade, a config change that needs a reboot) drains it, and whatever runs ` +
          `only on pool ${show(pool.name)} stops meanwhile. Add a node to keep the pool serving.`,
      });
    }
  });
  return warnings;
}
