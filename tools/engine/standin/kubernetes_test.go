package main

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func deployment(name string) map[string]any {
	md := map[string]any{"namespace": "kube-system"}
	if name != "" {
		md["name"] = name
	}
	return map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment", "metadata": md,
		"spec": map[string]any{
			"selector": map[string]any{"matchLabels": map[string]any{"app": "kvcp"}},
			"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"image": "a:1"}}}},
		},
	}
}

func TestKubernetesAutonamingAndIDs(t *testing.T) {
	const typ = "kubernetes:apps/v1:Deployment"
	h := newHarness(t, kubernetesPlugin)
	checked, failures := h.check(typ, "kvcp", nil, props(deployment("")))
	if len(failures) != 0 {
		t.Fatal(failures)
	}
	name := stringAt(t, checked, "metadata.name")
	if !strings.HasPrefix(name, "kvcp-") || len(name) != len("kvcp-")+8 {
		t.Fatalf("autoname %q", name)
	}
	if stringAt(t, checked, `metadata.annotations["pulumi.com/autonamed"]`) != "true" {
		t.Error("autonamed annotation")
	}
	// Server-side apply (the default): no managed-by label.
	if labels := getPath(checked, "metadata.labels"); !labels.IsNull() {
		t.Errorf("labels %v", labels)
	}
	// A later Check keeps the name (old inputs adopted), even with another random seed.
	again, _ := h.check(typ, "kvcp", checked, props(deployment("")))
	if stringAt(t, again, "metadata.name") != name {
		t.Error("autoname not stable across Checks")
	}

	id, outs := h.create(typ, "kvcp", checked, false)
	if id != "kube-system/"+name {
		t.Errorf("id = %q", id)
	}
	// An autonamed object that must be replaced is created before the old one is deleted.
	changed := props(deployment(""))
	changed["metadata"].ObjectValue()["name"] = resource.NewProperty(name)
	changed["metadata"].ObjectValue()["annotations"] = checked["metadata"].ObjectValue()["annotations"]
	changed["spec"].ObjectValue()["selector"] = resource.NewPropertyValue(map[string]any{"matchLabels": map[string]any{"app": "other"}})
	resp := h.diff(typ, "kvcp", outs, checked, changed)
	expectReplace(t, resp, "spec")
	expectKind(t, resp, "spec.selector.matchLabels.app", pulumirpc.PropertyDiff_UPDATE_REPLACE)
	if resp.GetDeleteBeforeReplace() {
		t.Error("autonamed: not delete-before-replace")
	}

	// Named objects: cluster-scoped ids, namespaced defaults, delete-before-replace on same name.
	const crb = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
	binding := props(map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
		"metadata": map[string]any{"name": "system:kube-vip-binding"},
		"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "a"},
		"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": "kube-vip", "namespace": "kube-system"}},
	})
	id, outs = h.create(crb, "binding", binding, false)
	if id != "system:kube-vip-binding" {
		t.Errorf("cluster-scoped id = %q", id)
	}
	newRole := binding.Copy()
	newRole["roleRef"] = resource.NewPropertyValue(map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "b"})
	resp = h.diff(crb, "binding", outs, binding, newRole)
	expectReplace(t, resp, "roleRef")
	if !resp.GetDeleteBeforeReplace() {
		t.Error("a user-named object replaced under the same name is deleted first")
	}
	newSubjects := binding.Copy()
	newSubjects["subjects"] = resource.NewPropertyValue([]any{})
	expectReplace(t, h.diff(crb, "binding", outs, binding, newSubjects))

	sa := props(map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": "kube-vip"}})
	if id, _ := h.create("kubernetes:core/v1:ServiceAccount", "sa", sa, false); id != "default/kube-vip" {
		t.Errorf("namespaced without namespace: id = %q", id)
	}
	// An explicit "default" namespace is the same as none.
	saNS := props(map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": "kube-vip", "namespace": "default"}})
	if resp := h.diff("kubernetes:core/v1:ServiceAccount", "sa", sa, sa, saNS); resp.GetChanges() != pulumirpc.DiffResponse_DIFF_NONE {
		t.Errorf("default namespace diff: %v", resp.GetDetailedDiff())
	}
	cr := props(map[string]any{
		"apiVersion": "cilium.io/v2alpha1", "kind": "CiliumL2AnnouncementPolicy",
		"metadata": map[string]any{"name": "l2"}, "spec": map[string]any{"loadBalancerIPs": true},
	})
	if id, _ := h.create("kubernetes:cilium.io/v2alpha1:CiliumL2AnnouncementPolicy", "l2", cr, false); id != "l2" {
		t.Errorf("custom resource id = %q", id)
	}
	if _, _, err := h.tryCreate("kubernetes:core/v1:ConfigMapList", "x", props(map[string]any{}), false); err == nil {
		t.Error("List kinds are refused")
	}
}

func TestKubernetesConfigMapImmutableByDefault(t *testing.T) {
	const typ = "kubernetes:core/v1:ConfigMap"
	cm := props(map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "kubevip", "namespace": "kube-system"},
		"data":     map[string]any{"range-global": "10.0.0.100-10.0.0.120"},
	})
	changed := cm.Copy()
	changed["data"] = resource.NewPropertyValue(map[string]any{"range-global": "10.0.0.100-10.0.0.130"})
	relabelled := cm.Copy()
	relabelled["metadata"] = resource.NewPropertyValue(map[string]any{"name": "kubevip", "namespace": "kube-system", "labels": map[string]any{"a": "b"}})

	h := newHarness(t, kubernetesPlugin)
	expectReplace(t, h.diff(typ, "cm", cm, cm, changed), "data")
	expectReplace(t, h.diff(typ, "cm", cm, cm, relabelled))
	renamed := cm.Copy()
	renamed["metadata"] = resource.NewPropertyValue(map[string]any{"name": "kubevip2", "namespace": "kube-system"})
	expectReplace(t, h.diff(typ, "cm", cm, cm, renamed), "metadata")

	mutable := newHarness(t, kubernetesPlugin)
	mutable.configure(props(map[string]any{"enableConfigMapMutable": true}))
	expectReplace(t, mutable.diff(typ, "cm", cm, cm, changed))
}

func TestKubernetesDiffConfig(t *testing.T) {
	h := newHarness(t, kubernetesPlugin)
	kubeconfig := func(server string) string {
		return "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: " + server +
			"\ncontexts:\n- name: ctx\n  context:\n    cluster: c\n    user: u\ncurrent-context: ctx\nusers:\n- name: u\n  user: {}\n"
	}
	diffConfig := func(olds, news resource.PropertyMap) *pulumirpc.DiffResponse {
		resp, err := h.p.DiffConfig(t.Context(), &pulumirpc.DiffRequest{Olds: h.pack(olds), News: h.pack(news)})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	old := resource.PropertyMap{"kubeconfig": resource.MakeSecret(resource.NewProperty(kubeconfig("https://10.0.0.10:6443")))}
	same := resource.PropertyMap{"kubeconfig": resource.MakeSecret(resource.NewProperty(kubeconfig("https://10.0.0.10:6443")))}
	if resp := diffConfig(old, same); resp.GetChanges() != pulumirpc.DiffResponse_DIFF_NONE {
		t.Errorf("same config: %v", resp)
	}
	// An unknown kubeconfig (a preview before the cluster exists) replaces the provider...
	unknownKC := resource.PropertyMap{"kubeconfig": unknown()}
	if resp := diffConfig(old, unknownKC); len(resp.GetReplaces()) != 1 || resp.GetReplaces()[0] != "kubeconfig" {
		t.Errorf("unknown kubeconfig: %v", resp)
	}
	// ... unless an unchanged clusterIdentifier says it is the same cluster.
	withID := func(kc resource.PropertyValue) resource.PropertyMap {
		return resource.PropertyMap{"kubeconfig": kc, "clusterIdentifier": resource.NewProperty("homelab")}
	}
	if resp := diffConfig(withID(old["kubeconfig"]), withID(unknown())); len(resp.GetReplaces()) != 0 {
		t.Errorf("clusterIdentifier kept: %v", resp)
	}
	// Another active cluster replaces; other changes are updates.
	moved := resource.PropertyMap{"kubeconfig": resource.NewProperty(kubeconfig("https://10.0.0.20:6443"))}
	if resp := diffConfig(old, moved); len(resp.GetReplaces()) != 1 {
		t.Errorf("new cluster: %v", resp)
	}
	ns := resource.PropertyMap{"kubeconfig": same["kubeconfig"], "namespace": resource.NewProperty("x")}
	if resp := diffConfig(old, ns); resp.GetChanges() != pulumirpc.DiffResponse_DIFF_SOME || len(resp.GetReplaces()) != 0 {
		t.Errorf("namespace: %v", resp)
	}
}

func TestHelmRelease(t *testing.T) {
	const typ = "kubernetes:helm.sh/v3:Release"
	h := newHarness(t, kubernetesPlugin)
	in := props(map[string]any{
		"chart": "cilium", "version": "1.18.4", "namespace": "kube-system",
		"repositoryOpts": map[string]any{"repo": "https://helm.cilium.io/"},
		"values":         map[string]any{"kubeProxyReplacement": true},
	})
	checked, failures := h.check(typ, "cilium", nil, in)
	if len(failures) != 0 {
		t.Fatal(failures)
	}
	name := stringAt(t, checked, "name")
	if !strings.HasPrefix(name, "cilium-") || checked["timeout"].NumberValue() != 300 {
		t.Errorf("check: %v", checked)
	}
	again, _ := h.check(typ, "cilium", checked, in)
	if stringAt(t, again, "name") != name {
		t.Error("release name not stable")
	}
	id, outs := h.create(typ, "cilium", checked, false)
	if id != "kube-system/"+name {
		t.Errorf("id = %q", id)
	}
	if stringAt(t, outs, "status.status") != "deployed" || at(t, outs, "status.revision").NumberValue() != 1 ||
		stringAt(t, outs, "status.chart") != "cilium" || stringAt(t, outs, "status.version") != "1.18.4" {
		t.Errorf("status: %v", outs["status"])
	}
	_, preview := h.create(typ, "cilium", checked, true)
	expectUnknown(t, preview, "status")

	newValues := checked.Copy()
	newValues["values"] = resource.NewPropertyValue(map[string]any{"kubeProxyReplacement": false})
	expectReplace(t, h.diff(typ, "cilium", outs, checked, newValues))
	upgraded := h.update(typ, "cilium", id, outs, checked, newValues, false)
	if at(t, upgraded, "status.revision").NumberValue() != 2 {
		t.Error("revision")
	}
	newNS := checked.Copy()
	newNS["namespace"] = resource.NewProperty("cilium")
	expectReplace(t, h.diff(typ, "cilium", outs, checked, newNS), "namespace")
	if _, failures := h.check(typ, "x", nil, props(map[string]any{})); len(failures) != 1 {
		t.Errorf("chart is required: %v", failures)
	}
}
