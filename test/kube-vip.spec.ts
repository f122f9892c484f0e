/**
 * KubeVip: RBAC, the services-mode DaemonSet, the cloud provider and its ranges.
 */
import { expect } from "chai";
import { KubeVip, KubeVipArgs, ValidationError } from "../components";
import { clusterAddresses, one, ofType, runComponents, runKubeVip, succeeded } from "./harness";

const T = {
  sa: "kubernetes:core/v1:ServiceAccount",
  role: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
  binding: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
  ds: "kubernetes:apps/v1:DaemonSet",
  deployment: "kubernetes:apps/v1:Deployment",
  configMap: "kubernetes:core/v1:ConfigMap",
};

type Container = {
  image: string;
  args?: string[];
  command?: string[];
  env: { name: string; value?: string }[];
} & Record<string, unknown>;

function podSpec(inputs: Record<string, unknown>) {
  return (inputs.spec as { template: { spec: { containers: Container[] } & Record<string, unknown> } })
    .template.spec;
}

function envOf(container: Container): Record<string, string> {
  return Object.fromEntries(container.env.map((e) => [e.name, e.value ?? "(fieldRef)"]));
}

describe("KubeVip", () => {
  it("grants kube-vip exactly the documented RBAC rules", async () => {
    const run = succeeded(await runKubeVip());
    expect(one(run, T.sa, "kube-vip-sa").inputs.metadata).to.deep.equal({
      name: "kube-vip",
      namespace: "kube-system",
    });
    const role = one(run, T.role, "kube-vip-role");
    expect(role.inputs.metadata).to.deep.equal({ name: "system:kube-vip-role" });
    expect(role.inputs.rules).to.deep.equal([
      { apiGroups: [""], resources: ["services/status"], verbs: ["update"] },
      { apiGroups: [""], resources: ["services", "endpoints"], verbs: ["list", "get", "watch", "update"] },
      { apiGroups: [""], resources: ["nodes"], verbs: ["list", "get", "watch", "update", "patch"] },
      {
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        verbs: ["list", "get", "watch", "update", "create"],
      },
      {
        apiGroups: ["discovery.k8s.io"],
        resources: ["endpointslices"],
        verbs: ["list", "get", "watch", "update"],
      },
      { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
    ]);
    expect(one(run, T.binding, "kube-vip-binding").inputs).to.deep.include({
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:kube-vip-role" },
      subjects: [{ kind: "ServiceAccount", name: "kube-vip", namespace: "kube-system" }],
    });
  });

  it("runs the DaemonSet in ARP services mode with per-service election, never the control plane", async () => {
    const run = succeeded(await runKubeVip());
    const ds = one(run, T.ds, "kube-vip-ds");
    expect(ds.inputs.metadata).to.deep.equal({ name: "kube-vip-ds", namespace: "kube-system" });
    const spec = podSpec(ds.inputs);
    expect(spec).to.deep.include({ hostNetwork: true, serviceAccountName: "kube-vip" });
    const container = spec.containers[0];
    expect(container.image).to.equal("ghcr.io/kube-vip/kube-vip:v1.2.3");
    expect(container.args).to.deep.equal(["manager"]);
    expect(container.securityContext).to.deep.equal({
      capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] },
    });
    const env = envOf(container);
    expect(env).to.include({
      vip_arp: "true",
      port: "6443",
      svc_enable: "true",
      svc_election: "true",
      vip_leaderelection: "true",
      prometheus_server: ":2112",
      vip_nodename: "(fieldRef)",
      KUBERNETES_SERVICE_HOST: "localhost",
      KUBERNETES_SERVICE_PORT: "7445",
    });
    // No interface named: kube-vip binds to the interface of the default route.
    expect(env).to.not.have.any.keys("cp_enable", "address", "vip_cidr", "vip_interface");
    expect(ds.dependencies).to.include(one(run, T.binding, "kube-vip-binding").urn);
  });

  it("runs on every node, also those tainted NoSchedule or NoExecute", async () => {
    const spec = podSpec(one(succeeded(await runKubeVip()), T.ds, "kube-vip-ds").inputs);
    expect(spec.tolerations).to.deep.equal([
      { effect: "NoSchedule", operator: "Exists" },
      { effect: "NoExecute", operator: "Exists" },
    ]);
    expect(spec).to.not.have.property("affinity");
  });

  it("gives the cloud provider its ranges through the kubevip ConfigMap", async () => {
    const run = succeeded(
      await runKubeVip({
        serviceRanges: {
          global: ["10.0.0.200-10.0.0.209"],
          media: ["10.0.0.224/30", "10.0.0.230-10.0.0.231"],
        },
      }),
    );
    expect(one(run, T.configMap, "kube-vip-ranges").inputs).to.deep.equal({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "kubevip", namespace: "kube-system" },
      data: {
        "range-global": "10.0.0.200-10.0.0.209",
        "range-media": "10.0.0.224-10.0.0.227,10.0.0.230-10.0.0.231",
      },
    });
    const deployment = one(run, T.deployment, "kube-vip-cloud-provider");
    const container = podSpec(deployment.inputs).containers[0];
    expect(container.image).to.equal("ghcr.io/kube-vip/kube-vip-cloud-provider:v0.0.12");
    expect(podSpec(deployment.inputs).serviceAccountName).to.equal("kube-vip-cloud-controller");
    expect(deployment.dependencies).to.include(one(run, T.configMap, "kube-vip-ranges").urn);
  });

  it("takes a plain list of ranges as the global ones, as the stack config does", async () => {
    const run = succeeded(await runKubeVip({ serviceRanges: ["10.0.0.200-10.0.0.209"] }));
    expect(one(run, T.configMap, "kube-vip-ranges").inputs.data).to.deep.equal({
      "range-global": "10.0.0.200-10.0.0.209",
    });
  });

  it("takes versions and the interface", async () => {
    const run = succeeded(
      await runKubeVip({ version: "v1.1.0", cloudProviderVersion: "v0.0.11", interface: "eth0" }),
    );
    const ds = podSpec(one(run, T.ds, "kube-vip-ds").inputs).containers[0];
    expect(ds.image).to.equal("ghcr.io/kube-vip/kube-vip:v1.1.0");
    expect(envOf(ds).vip_interface).to.equal("eth0");
    expect(podSpec(one(run, T.deployment, "kube-vip-cloud-provider").inputs).containers[0].image).to.equal(
      "ghcr.io/kube-vip/kube-vip-cloud-provider:v0.0.11",
    );
  });

  const refusals: [string, Partial<KubeVipArgs>, RegExp][] = [
    ["no ranges", { serviceRanges: {} }, /args\.serviceRanges: has no range/],
    [
      "a range over a node of the cluster",
      { serviceRanges: ["10.0.0.11-10.0.0.20"] },
      /args\.serviceRanges\.global\[0\]: "10\.0\.0\.11-10\.0\.0\.20" contains 10\.0\.0\.11, which is node cp-1's address\./,
    ],
    [
      "a range outside the cluster's network",
      { serviceRanges: { apps: ["192.168.1.0/28"] } },
      /args\.serviceRanges\.apps\[0\]: .*is not inside the node network 10\.0\.0\.0\/24/,
    ],
    ["a reversed range", { serviceRanges: { global: ["10.0.0.209-10.0.0.200"] } }, /ends before it starts/],
    [
      "ranges that overlap across namespaces",
      { serviceRanges: { global: ["10.0.0.200-10.0.0.209"], apps: ["10.0.0.208/29"] } },
      /args\.serviceRanges\.apps\[0\]: .*overlaps "10\.0\.0\.200-10\.0\.0\.209"/,
    ],
    [
      "a scope that is no namespace",
      { serviceRanges: { Apps: ["10.0.0.200/30"] } },
      /args\.serviceRanges\.Apps: .*DNS label/,
    ],
    ["latest", { version: "latest" }, /args\.version: "latest" is not a release tag/],
    [
      "a scope that is no list",
      { serviceRanges: { global: "10.0.0.200-10.0.0.209" } as never },
      /args\.serviceRanges\.global: must be a list of ranges or CIDRs \(got "10\.0\.0\.200-10\.0\.0\.209"\)/,
    ],
  ];
  for (const [what, args, message] of refusals) {
    it(`refuses ${what}`, async () => {
      const run = await runKubeVip(args);
      expect(run.error).to.be.instanceOf(ValidationError);
      expect((run.error as Error).message).to.match(message);
      expect(ofType(run, T.ds)).to.be.empty;
    });
  }

  it("refuses to run without an explicit Kubernetes provider, which would use this machine's kubeconfig", async () => {
    const run = await runComponents(
      () =>
        new KubeVip("kube-vip", {
          cluster: clusterAddresses(),
          serviceRanges: { global: ["10.0.0.200-10.0.0.209"] },
        }),
    );
    expect(run.error).to.be.instanceOf(ValidationError);
    expect((run.error as Error).message).to.match(/opts\.provider: is no Kubernetes provider/);
    expect(run.resources.map((r) => r.type)).to.deep.equal(["pulumi:pulumi:Stack"]);
  });
});
