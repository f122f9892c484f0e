/**
 * CiliumCni: the chart, version and namespace, every Talos value, the L2/LB-IPAM resources, the
 * escape hatch, and the value sets known to break Talos.
 */
import * as k8s from "@pulumi/kubernetes";
import { expect } from "chai";
import { CiliumCni, CiliumCniArgs, ValidationError } from "../components";
import { clusterAddresses, one, ofType, runComponents, succeeded } from "./harness";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const CUSTOM = {
  pool: "kubernetes:cilium.io/v2:CiliumLoadBalancerIPPool",
  poolAlpha: "kubernetes:cilium.io/v2alpha1:CiliumLoadBalancerIPPool",
  policy: "kubernetes:cilium.io/v2alpha1:CiliumL2AnnouncementPolicy",
};

function runCilium(args: Partial<CiliumCniArgs> = {}) {
  return runComponents(() => {
    const provider = new k8s.Provider("cluster", { kubeconfig: "apiVersion: v1\nkind: Config\n" });
    new CiliumCni(
      "cilium",
      { cluster: clusterAddresses(), version: "1.18.6", ...args },
      { providers: [provider] },
    );
  });
}

async function releaseOf(args: Partial<CiliumCniArgs> = {}) {
  const run = succeeded(await runCilium(args));
  return { run, release: one(run, RELEASE, "cilium") };
}

describe("CiliumCni", () => {
  it("installs the pinned cilium chart from helm.cilium.io into kube-system", async () => {
    const { release } = await releaseOf();
    expect(release.inputs).to.deep.include({
      name: "cilium",
      chart: "cilium",
      version: "1.18.6",
      namespace: "kube-system",
      repositoryOpts: { repo: "https://helm.cilium.io/" },
      timeout: 900,
    });
    expect(release.inputs).to.not.have.property("skipAwait");
  });

  it("sets every value Talos needs", async () => {
    const { release } = await releaseOf();
    expect(release.inputs.values).to.deep.equal({
      ipam: { mode: "kubernetes" },
      kubeProxyReplacement: true,
      k8sServiceHost: "localhost",
      k8sServicePort: 7445,
      securityContext: {
        capabilities: {
          ciliumAgent: [
            "CHOWN",
            "KILL",
            "NET_ADMIN",
            "NET_RAW",
            "IPC_LOCK",
            "SYS_ADMIN",
            "SYS_RESOURCE",
            "DAC_OVERRIDE",
            "FOWNER",
            "SETGID",
            "SETUID",
          ],
          cleanCiliumState: ["NET_ADMIN", "SYS_ADMIN", "SYS_RESOURCE"],
        },
      },
      cgroup: { autoMount: { enabled: false }, hostRoot: "/sys/fs/cgroup" },
      bpf: { hostLegacyRouting: true },
      hubble: { relay: { enabled: false }, ui: { enabled: false } },
      l2announcements: { enabled: false },
    });
  });

  it("goes through the Kubernetes provider it is given", async () => {
    const { run, release } = await releaseOf();
    const provider = one(run, "pulumi:providers:kubernetes", "cluster");
    expect(release.options.provider).to.match(new RegExp(`^${provider.urn.replace(/\$/g, "\\$")}::`));
  });

  it("turns Hubble relay and UI on, and host legacy routing off, when asked", async () => {
    const { release } = await releaseOf({ hubble: true, hostLegacyRouting: false });
    expect(release.inputs.values).to.deep.include({
      hubble: { relay: { enabled: true }, ui: { enabled: true } },
      bpf: { hostLegacyRouting: false },
    });
  });

  it("merges extra values over the Talos ones, key by key", async () => {
    const { release } = await releaseOf({
      values: { operator: { replicas: 1 }, bpf: { masquerade: false } },
    });
    expect(release.inputs.values).to.deep.include({
      operator: { replicas: 1 },
      bpf: { hostLegacyRouting: true, masquerade: false },
    });
  });

  it("announces LoadBalancer IPs from an LB-IPAM pool with the API versions of 1.18", async () => {
    const { run, release } = await releaseOf({
      loadBalancerRanges: ["10.0.0.200-10.0.0.209", "10.0.0.224/28"],
    });
    expect((release.inputs.values as Record<string, unknown>).l2announcements).to.deep.equal({
      enabled: true,
    });
    // 10 + 16 addresses: a lease per Service renewed every 5 s (Cilium's sizing formula) adds 6 QPS
    // to twice the documented default.
    expect((release.inputs.values as Record<string, unknown>).k8sClientRateLimit).to.deep.equal({
      qps: 16,
      burst: 32,
    });
    const pool = one(run, CUSTOM.pool, "cilium-lb-pool");
    expect(pool.inputs).to.deep.include({
      apiVersion: "cilium.io/v2",
      kind: "CiliumLoadBalancerIPPool",
      spec: { blocks: [{ start: "10.0.0.200", stop: "10.0.0.209" }, { cidr: "10.0.0.224/28" }] },
    });
    const policy = one(run, CUSTOM.policy, "cilium-l2-policy");
    expect(policy.inputs).to.deep.include({
      apiVersion: "cilium.io/v2alpha1",
      spec: { loadBalancerIPs: true, externalIPs: false },
    });
    // The operator registers the CRDs: both wait for the release.
    expect(pool.dependencies).to.include(release.urn);
    expect(policy.dependencies).to.include(release.urn);
  });

  it("uses the v2alpha1 pool before Cilium 1.18", async () => {
    const run = succeeded(
      await runCilium({ version: "1.17.9", loadBalancerRanges: ["10.0.0.200-10.0.0.209"] }),
    );
    expect(ofType(run, CUSTOM.poolAlpha)).to.have.length(1);
  });

  it("creates no pool or policy without ranges, and keeps Cilium's client rate limit", async () => {
    const { run, release } = await releaseOf();
    expect(ofType(run, CUSTOM.pool).concat(ofType(run, CUSTOM.policy))).to.be.empty;
    expect(release.inputs.values).to.not.have.property("k8sClientRateLimit");
  });

  it("lets the user's values set the client rate limit", async () => {
    const { release } = await releaseOf({
      loadBalancerRanges: ["10.0.0.200-10.0.0.209"],
      values: { k8sClientRateLimit: { qps: 50 } },
    });
    expect((release.inputs.values as Record<string, unknown>).k8sClientRateLimit).to.deep.equal({
      qps: 50,
      burst: 24,
    });
  });

  const refusals: [string, Partial<CiliumCniArgs>, RegExp][] = [
    ["a version with a v", { version: "v1.18.6" }, /args\.version: .*no "v"/],
    [
      "a version before the hostLegacyRouting fix",
      { version: "1.16.4" },
      /args\.version: .*1\.16\.5 to 1\.19\.x/,
    ],
    [
      "SYS_MODULE, which Talos forbids",
      { values: { securityContext: { capabilities: { ciliumAgent: ["NET_ADMIN", "SYS_MODULE"] } } } },
      /args\.values\.securityContext\.capabilities\.ciliumAgent: SYS_MODULE is refused by Talos/,
    ],
    [
      "cgroup automount",
      { values: { cgroup: { autoMount: { enabled: true } } } },
      /args\.values\.cgroup\.autoMount\.enabled/,
    ],
    [
      "eBPF masquerading while Talos forwards kube-dns",
      { values: { bpf: { masquerade: true } } },
      /args\.values\.bpf\.masquerade: eBPF masquerading breaks CoreDNS/,
    ],
    [
      "kube-proxy replacement off while Talos runs no kube-proxy",
      { values: { kubeProxyReplacement: false } },
      /args\.values\.kubeProxyReplacement: is false, but Talos runs no kube-proxy under Cilium/,
    ],
    [
      "the pre-1.14 partial kube-proxy replacement",
      { values: { kubeProxyReplacement: "partial" } },
      /args\.values\.kubeProxyReplacement: is "partial"/,
    ],
    [
      "no direct API address",
      { values: { k8sServiceHost: "" } },
      /args\.values\.k8sServiceHost: is empty: without kube-proxy/,
    ],
    [
      "a malformed range",
      { loadBalancerRanges: ["10.0.0.200-10.0.0.300"] },
      /args\.loadBalancerRanges\[0\]: .*not a range or CIDR/,
    ],
    [
      "overlapping ranges",
      { loadBalancerRanges: ["10.0.0.200-10.0.0.209", "10.0.0.205/32"] },
      /args\.loadBalancerRanges\[1\]: .*overlaps/,
    ],
    [
      "a range over a node of the cluster",
      { loadBalancerRanges: ["10.0.0.8/29"] },
      /args\.loadBalancerRanges\[0\]: "10\.0\.0\.8\/29" contains 10\.0\.0\.10, which is the API VIP\./,
    ],
    [
      "a range outside the cluster's network",
      { loadBalancerRanges: ["10.0.1.200-10.0.1.209"] },
      /args\.loadBalancerRanges\[0\]: .*is not inside the node network 10\.0\.0\.0\/24/,
    ],
    ["a short timeout", { timeout: "5s" }, /args\.timeout: "5s" is too short: at least 60 seconds/],
    ["a timeout in seconds", { timeout: 900 as never }, /args\.timeout: 900 is not a duration/],
  ];
  for (const [what, args, message] of refusals) {
    it(`refuses ${what}`, async () => {
      const run = await runCilium(args);
      expect(run.error).to.be.instanceOf(ValidationError);
      expect((run.error as Error).message).to.match(message);
      expect(ofType(run, RELEASE)).to.be.empty;
    });
  }

  it("refuses to run without an explicit Kubernetes provider, which would use this machine's kubeconfig", async () => {
    for (const opts of [undefined, { providers: [] }]) {
      const run = await runComponents(
        () => new CiliumCni("cilium", { cluster: clusterAddresses(), version: "1.18.6" }, opts),
      );
      expect(run.error).to.be.instanceOf(ValidationError);
      expect((run.error as Error).message).to.match(/opts\.provider: is no Kubernetes provider/);
      expect(run.resources.map((r) => r.type)).to.deep.equal(["pulumi:pulumi:Stack"]);
    }
  });

  it("accepts eBPF masquerading once Talos's kube-dns forwarding is off", async () => {
    const { release } = await releaseOf({
      values: { bpf: { masquerade: true } },
      cluster: clusterAddresses(false),
    });
    expect(release.inputs.values).to.deep.include({ bpf: { hostLegacyRouting: true, masquerade: true } });
  });
});
