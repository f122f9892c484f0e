/**
 * The library's kube-vip manifests against what kube-vip's own generator prints for the same settings
 * (test/fixtures/upstream/kube-vip, written by tools/upstream/kube-vip-manifests.sh from the real
 * generator, kube-vip v1.2.3's `pkg/kubevip/config_generator.go`). Every difference is named here, with
 * the reason; anything else that differs fails.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { kubeVipStaticPod } from "../components/internal/kube-vip-manifests";
import { one, runKubeVip, succeeded } from "./harness";

type Doc = Record<string, unknown>;
type Container = Doc & { env: Doc[]; resources?: Doc };
type PodSpec = Doc & { containers: Container[] };

const FIXTURES = join(__dirname, "fixtures", "upstream", "kube-vip");

function generated(name: string): Doc[] {
  return parseAllDocuments(readFileSync(join(FIXTURES, `${name}.yaml`), "utf8"))
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null);
}

/** Drops what the generator prints but carries no setting: empty `resources` and `status`. */
function withoutEmpty<T extends Doc>(doc: T): T {
  const copy = structuredClone(doc);
  delete copy.status;
  const spec = (copy.spec as Doc & { template?: { spec: PodSpec } }).template?.spec ?? (copy.spec as PodSpec);
  for (const container of spec.containers) {
    delete container.resources;
  }
  return copy;
}

describe("kube-vip manifests, against kube-vip's own generator", () => {
  it("the control-plane static pod is the generator's pod plus a label, a read-only mount and a File hostPath", () => {
    const [upstream] = generated("control-plane-pod").map(withoutEmpty);
    const expected = structuredClone(upstream) as Doc & { metadata: Doc; spec: PodSpec & { volumes: Doc[] } };
    expected.metadata.labels = { "app.kubernetes.io/name": "kube-vip" };
    (expected.spec.containers[0].volumeMounts as Doc[])[0].readOnly = true;
    (expected.spec.volumes[0].hostPath as Doc).type = "File";
    expect(kubeVipStaticPod({ version: "v1.2.3", vip: "192.168.10.10" })).to.deep.equal(expected);
  });

  describe("services mode", () => {
    const upstream = withoutEmpty(generated("services-daemonset")[0]) as Doc & {
      spec: { template: { spec: PodSpec } };
    };
    const upstreamPod = upstream.spec.template.spec;

    async function daemonSet() {
      const run = succeeded(await runKubeVip());
      const ds = one(run, "kubernetes:apps/v1:DaemonSet", "kube-vip-ds").inputs as Doc & {
        metadata: Doc;
        spec: { template: { spec: PodSpec } };
      };
      return { ds, pod: ds.spec.template.spec };
    }

    it("runs the generator's container, plus KubePrism as the API address", async () => {
      const { pod } = await daemonSet();
      const container = structuredClone(pod.containers[0]);
      expect(container.env.slice(-2)).to.deep.equal([
        { name: "KUBERNETES_SERVICE_HOST", value: "localhost" },
        { name: "KUBERNETES_SERVICE_PORT", value: "7445" },
      ]);
      container.env = container.env.slice(0, -2);
      // The generator prints `vip_address` with an empty value as a bare name.
      const env = upstreamPod.containers[0].env.map((e) =>
        "value" in e || "valueFrom" in e ? e : { ...e, value: "" },
      );
      expect(container).to.deep.equal({ ...upstreamPod.containers[0], env });
    });

    it("has the generator's host network, account and --taint tolerations, on every node rather than control planes only", async () => {
      const { ds, pod } = await daemonSet();
      expect(ds.metadata.name).to.equal((upstream.metadata as Doc).name);
      expect(pod.hostNetwork).to.equal(upstreamPod.hostNetwork);
      expect(pod.serviceAccountName).to.equal(upstreamPod.serviceAccountName);
      expect(pod.tolerations).to.deep.equal(upstreamPod.tolerations);
      // The generator's --taint also pins the pods to control planes; Service VIPs may live on any node.
      expect(upstreamPod).to.have.property("affinity");
      expect(pod).to.not.have.property("affinity");
    });

    it("grants the generator's RBAC", async () => {
      const [account, role, binding] = generated("rbac");
      const run = succeeded(await runKubeVip());
      expect(one(run, "kubernetes:core/v1:ServiceAccount", "kube-vip-sa").inputs.metadata).to.deep.equal(
        account.metadata,
      );
      const ours = one(run, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "kube-vip-role").inputs;
      expect(ours.metadata).to.deep.equal(role.metadata);
      expect(ours.rules).to.deep.equal(role.rules);
      const ourBinding = one(
        run,
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
        "kube-vip-binding",
      ).inputs;
      expect(ourBinding.metadata).to.deep.equal(binding.metadata);
      expect(ourBinding.roleRef).to.deep.equal(binding.roleRef);
      expect(ourBinding.subjects).to.deep.equal(binding.subjects);
    });
  });
});
