import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterAddresses } from "./control-plane";
import { checkRanges, IpRange, rangeContext } from "./internal/ip-ranges";
import {
  CLOUD_PROVIDER_RULES,
  DEFAULT_KUBE_VIP_CLOUD_PROVIDER_VERSION,
  DEFAULT_KUBE_VIP_VERSION,
  KUBE_VIP_CAPABILITIES,
  KUBE_VIP_CLOUD_PROVIDER_IMAGE,
  KUBE_VIP_IMAGE,
  KUBE_VIP_NAMESPACE,
  KUBE_VIP_RULES,
  KUBE_VIP_TOLERATIONS,
  kubeVipServicesEnv,
  serviceRangesData,
} from "./internal/kube-vip-manifests";
import { checkNodeInterface } from "./internal/network-rules";
import {
  checkDnsLabel,
  checkImageTag,
  checkKubernetesProvider,
  Problem,
  show,
  throwIfProblems,
} from "./internal/validation";

export interface KubeVipArgs {
  /**
   * The cluster it runs in (the ControlPlane): the ranges must lie in its node network and take no
   * address it holds (a node's, the VIP, the gateway). Create KubeVip after the worker pools.
   */
  cluster: ClusterAddresses;
  /**
   * Address ranges for Services of type LoadBalancer (`a.b.c.d-a.b.c.e` or CIDRs): `global` for every
   * namespace, or a namespace's name for that namespace only. A plain list is the `global` ranges.
   */
  serviceRanges: Record<string, string[]> | string[];
  /** kube-vip image tag. @default "v1.2.3" */
  version?: string;
  /** kube-vip-cloud-provider image tag. @default "v0.0.12" */
  cloudProviderVersion?: string;
  /**
   * Interface Service VIPs are announced on (ARP). Unset, kube-vip takes the interface of the default
   * route (kube-vip v1.2.3 `cmd/kube-vip.go`): the VM's only NIC, whatever Talos names it. Check the name
   * with `talosctl get links`.
   * @default the interface of the default route
   */
  interface?: string;
}

/**
 * kube-vip for Services of type LoadBalancer: the kube-vip DaemonSet in ARP services mode with
 * per-service leader election (Service VIPs spread over the nodes), its RBAC, and
 * kube-vip-cloud-provider assigning addresses from the `kubevip` ConfigMap. Never the API VIP: that is
 * Talos's, or kube-vip's static pod from the control-plane machine config. `opts.dependsOn` holds back
 * everything it creates (the cloud provider needs pod networking: make it depend on the CNI).
 */
export class KubeVip extends pulumi.ComponentResource {
  static readonly TYPE = "talos-proxmox:index:KubeVip";

  /** The ConfigMap data the cloud provider reads (`range-global`, `range-<namespace>`). */
  public readonly serviceRanges: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: KubeVipArgs, opts?: pulumi.ComponentResourceOptions) {
    const version = args.version ?? DEFAULT_KUBE_VIP_VERSION;
    const cloudProviderVersion = args.cloudProviderVersion ?? DEFAULT_KUBE_VIP_CLOUD_PROVIDER_VERSION;
    const iface = args.interface;
    const { ranges, problems } = checkServiceRanges(
      args.serviceRanges,
      rangeContext(args.cluster.addresses()),
    );
    throwIfProblems(`KubeVip "${name}"`, [
      ...checkKubernetesProvider(opts),
      ...problems,
      ...checkImageTag(version, "args.version"),
      ...checkImageTag(cloudProviderVersion, "args.cloudProviderVersion"),
      ...(iface === undefined ? [] : checkNodeInterface(iface, "args.interface")),
    ]);
    super(KubeVip.TYPE, name, {}, opts);
    // A component's dependsOn does not hold back its children by itself: pass it on to them.
    const child = { parent: this, dependsOn: opts?.dependsOn };
    const metadata = (resourceName: string) => ({ name: resourceName, namespace: KUBE_VIP_NAMESPACE });

    const serviceAccount = new k8s.core.v1.ServiceAccount(
      `${name}-sa`,
      { metadata: metadata("kube-vip") },
      child,
    );
    const role = new k8s.rbac.v1.ClusterRole(
      `${name}-role`,
      { metadata: { name: "system:kube-vip-role" }, rules: KUBE_VIP_RULES },
      child,
    );
    const binding = new k8s.rbac.v1.ClusterRoleBinding(
      `${name}-binding`,
      {
        metadata: { name: "system:kube-vip-binding" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role.metadata.name },
        subjects: [
          { kind: "ServiceAccount", name: serviceAccount.metadata.name, namespace: KUBE_VIP_NAMESPACE },
        ],
      },
      child,
    );
    const labels = { "app.kubernetes.io/name": "kube-vip", "app.kubernetes.io/component": "services" };
    new k8s.apps.v1.DaemonSet(
      `${name}-ds`,
      {
        metadata: metadata("kube-vip-ds"),
        spec: {
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: serviceAccount.metadata.name,
              hostNetwork: true,
              // Service VIPs may land on any node, tainted ones included.
              tolerations: KUBE_VIP_TOLERATIONS,
              containers: [
                {
                  args: ["manager"],
                  env: kubeVipServicesEnv(iface),
                  image: `${KUBE_VIP_IMAGE}:${version}`,
                  imagePullPolicy: "IfNotPresent",
                  name: "kube-vip",
                  securityContext: { capabilities: KUBE_VIP_CAPABILITIES },
                },
              ],
            },
          },
        },
      },
      { parent: this, dependsOn: [binding] },
    );

    const configMap = new k8s.core.v1.ConfigMap(
      `${name}-ranges`,
      { metadata: metadata("kubevip"), data: serviceRangesData(ranges) },
      child,
    );
    const cloudAccount = new k8s.core.v1.ServiceAccount(
      `${name}-cloud-provider-sa`,
      { metadata: metadata("kube-vip-cloud-controller") },
      child,
    );
    const cloudRole = new k8s.rbac.v1.ClusterRole(
      `${name}-cloud-provider-role`,
      { metadata: { name: "system:kube-vip-cloud-controller-role" }, rules: CLOUD_PROVIDER_RULES },
      child,
    );
    const cloudBinding = new k8s.rbac.v1.ClusterRoleBinding(
      `${name}-cloud-provider-binding`,
      {
        metadata: { name: "system:kube-vip-cloud-controller-binding" },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: cloudRole.metadata.name,
        },
        subjects: [
          { kind: "ServiceAccount", name: cloudAccount.metadata.name, namespace: KUBE_VIP_NAMESPACE },
        ],
      },
      child,
    );
    const cloudLabels = {
      "app.kubernetes.io/name": "kube-vip",
      "app.kubernetes.io/component": "cloud-provider",
    };
    new k8s.apps.v1.Deployment(
      `${name}-cloud-provider`,
      {
        metadata: metadata("kube-vip-cloud-provider"),
        spec: {
          replicas: 1,
          selector: { matchLabels: cloudLabels },
          template: {
            metadata: { labels: cloudLabels },
            spec: {
              serviceAccountName: cloudAccount.metadata.name,
              tolerations: [
                { key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" },
              ],
              containers: [
                {
                  name: "kube-vip-cloud-provider",
                  image: `${KUBE_VIP_CLOUD_PROVIDER_IMAGE}:${cloudProviderVersion}`,
                  command: [
                    "/kube-vip-cloud-provider",
                    "--leader-elect-resource-name=kube-vip-cloud-controller",
                  ],
                },
              ],
            },
          },
        },
      },
      { parent: this, dependsOn: [cloudBinding, configMap] },
    );

    this.serviceRanges = configMap.data;
    this.registerOutputs({ serviceRanges: this.serviceRanges });
  }
}

/** Ranges per scope: well formed, scopes that are `global` or namespace names, no overlaps anywhere. */
function checkServiceRanges(
  serviceRanges: Record<string, string[]> | string[],
  cluster: ReturnType<typeof rangeContext>,
): {
  ranges: Record<string, IpRange[]>;
  problems: Problem[];
} {
  const problems: Problem[] = [];
  const ranges: Record<string, IpRange[]> = {};
  const seen: { range: IpRange; path: string }[] = [];
  const scopes: Record<string, unknown> = Array.isArray(serviceRanges)
    ? { global: serviceRanges }
    : serviceRanges;
  for (const [scope, texts] of Object.entries(scopes)) {
    const path = `args.serviceRanges.${scope}`;
    if (scope !== "global") {
      problems.push(...checkDnsLabel(scope, path, "a namespace"));
    }
    if (!Array.isArray(texts) || !texts.every((t) => typeof t === "string")) {
      problems.push({
        path,
        message: `must be a list of ranges or CIDRs (got ${show(texts)}), e.g. ["10.0.0.200-10.0.0.209"].`,
      });
      continue;
    }
    const checked = checkRanges(texts, path, cluster.network, cluster.taken, seen);
    problems.push(...checked.problems);
    seen.push(...checked.ranges);
    ranges[scope] = checked.ranges.map((r) => r.range);
  }
  if (seen.length === 0) {
    problems.push({
      path: "args.serviceRanges",
      message: `has no range: kube-vip would never give out an address. Add e.g. { global: ["192.168.10.200-192.168.10.220"] }.`,
    });
  }
  return { ranges, problems };
}
