import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  checkCiliumValues,
  checkCiliumVersion,
  CILIUM_CHART,
  CILIUM_REPOSITORY,
  ciliumTalosValues,
  loadBalancerPoolApiVersion,
  mergeValues,
} from "./internal/cilium-values";
import type { ClusterAddresses } from "./control-plane";
import { checkRanges, IpRange, rangeContext } from "./internal/ip-ranges";
import { formatIPv4 } from "./internal/ipv4";
import {
  checkDuration,
  checkKubernetesProvider,
  durationSeconds,
  throwIfProblems,
} from "./internal/validation";

export interface CiliumCniArgs {
  /**
   * The cluster it runs in (the ControlPlane). `loadBalancerRanges` must lie in its node network and
   * take no address it holds; while Talos forwards kube-dns to its host DNS, the values refuse
   * `bpf.masquerade: true`, since the two together break CoreDNS.
   */
  cluster: ClusterAddresses;
  /** Cilium chart version, e.g. `"1.18.6"` (1.16.5 to 1.19.x). */
  version: string;
  /**
   * `bpf.hostLegacyRouting`: with kube-proxy replacement on Talos >= 1.8, Cilium >= 1.16.5 needs it or
   * DNS breaks (cilium/cilium#36852).
   * @default true
   */
  hostLegacyRouting?: boolean;
  /**
   * Hubble relay and UI. They run as ordinary Deployments: a cluster without workers needs control
   * planes that take workloads (ControlPlane `allowSchedulingOnControlPlanes`), or Helm times out.
   * @default false
   */
  hubble?: boolean;
  /**
   * Cilium owns Service LoadBalancer IPs: L2 announcements (ARP) of addresses from an LB-IPAM pool of
   * these ranges (`a.b.c.d-a.b.c.e` or CIDRs, inside the node network). Leave unset when kube-vip owns
   * them: only one system may.
   * @default none: no L2 announcements, no pool
   */
  loadBalancerRanges?: string[];
  /**
   * Extra Helm values, merged over the Talos values (mappings key by key, lists replaced): the escape
   * hatch for anything else. Overrides that break Talos (SYS_MODULE, cgroup automount) are refused.
   * @default {}
   */
  values?: Record<string, unknown>;
  /** How long Helm may wait for the agents and operator to be ready (Go duration). @default "15m" */
  timeout?: string;
}

/**
 * Cilium as Talos's CNI and kube-proxy replacement, installed by Helm through the cluster's Kubernetes
 * provider (pass it in `opts.providers`; built from the control plane's kubeconfig it waits for
 * bootstrap by data). The agents tolerate NotReady nodes, so the release completes on a cluster that
 * has no CNI yet; it waits for the nodes registered at that moment, never for workers still installing.
 */
export class CiliumCni extends pulumi.ComponentResource {
  static readonly TYPE = "talos-proxmox:index:CiliumCni";

  /** The Helm release's status (namespace, revision, chart version...). */
  public readonly status: pulumi.Output<k8s.types.output.helm.v3.ReleaseStatus>;

  constructor(name: string, args: CiliumCniArgs, opts?: pulumi.ComponentResourceOptions) {
    const forwards = args.cluster.forwardKubeDnsToHost;
    const { network, taken } = rangeContext(args.cluster.addresses());
    const { ranges, problems } = checkRanges(
      args.loadBalancerRanges ?? [],
      "args.loadBalancerRanges",
      network,
      taken,
    );
    throwIfProblems(`CiliumCni "${name}"`, [
      ...checkKubernetesProvider(opts),
      ...checkCiliumVersion(args.version, "args.version"),
      ...checkCiliumValues(args.values ?? {}, forwards, "args.values"),
      ...problems,
      ...checkDuration(args.timeout ?? "15m", "args.timeout", 60),
    ]);
    super(CiliumCni.TYPE, name, {}, opts);
    // A component's dependsOn does not hold back its children by itself: pass it on to them.
    const child = { parent: this, dependsOn: opts?.dependsOn };

    const l2 = ranges.length > 0;
    const values = mergeValues(
      ciliumTalosValues({
        hostLegacyRouting: args.hostLegacyRouting ?? true,
        hubble: args.hubble ?? false,
        l2Addresses: ranges.reduce((sum, { range }) => sum + range.last - range.first + 1, 0),
      }),
      args.values ?? {},
    );
    const release = new k8s.helm.v3.Release(
      name,
      {
        name: "cilium",
        chart: CILIUM_CHART,
        version: args.version,
        repositoryOpts: { repo: CILIUM_REPOSITORY },
        namespace: "kube-system",
        values,
        // Helm takes seconds (the Release's timeout).
        timeout: durationSeconds(args.timeout ?? "15m"),
        maxHistory: 5,
      },
      child,
    );

    if (l2) {
      // The operator registers Cilium's CRDs as it starts; the release waits for it, so these follow it.
      new k8s.apiextensions.CustomResource(
        `${name}-lb-pool`,
        {
          apiVersion: loadBalancerPoolApiVersion(args.version),
          kind: "CiliumLoadBalancerIPPool",
          metadata: { name: "talos-proxmox" },
          spec: { blocks: ranges.map(({ range }) => poolBlock(range)) },
        },
        { parent: this, dependsOn: [release] },
      );
      new k8s.apiextensions.CustomResource(
        `${name}-l2-policy`,
        {
          apiVersion: "cilium.io/v2alpha1",
          kind: "CiliumL2AnnouncementPolicy",
          metadata: { name: "talos-proxmox" },
          spec: { loadBalancerIPs: true, externalIPs: false },
        },
        { parent: this, dependsOn: [release] },
      );
    }

    this.status = release.status;
    this.registerOutputs({ status: this.status });
  }
}

function poolBlock(range: IpRange): Record<string, string> {
  return range.cidr ? { cidr: range.text } : { start: formatIPv4(range.first), stop: formatIPv4(range.last) };
}
