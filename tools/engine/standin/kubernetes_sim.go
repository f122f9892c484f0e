package main

// What the kubernetes stand-in does on a simulated cluster (envSim): it puts the objects into the
// cluster's real apiserver, at the provider's kubeconfig, as [provider] Create and Update do with
// server-side apply (enableServerSideApply, on by default in v4: a Patch of type apply with the field
// manager "pulumi-kubernetes", forced), and Delete deletes them. Not simulated: the await logic (the real
// provider waits for a Deployment's rollout, a DaemonSet's and so on; no kubelet here runs their pods, so
// the stand-in returns once the apiserver has the object), and Helm: the chart cannot be downloaded here,
// so a Release of a chart the stand-in knows makes the chart's workloads (helmWorkloads), and any other
// chart is refused.

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"path"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

const fieldManager = "pulumi-kubernetes"

// simKube is a client of the simulated cluster's apiserver from the provider's kubeconfig.
type simKube struct {
	client dynamic.Interface
	mapper meta.RESTMapper
}

func newSimKube(p *Provider) (*simKube, error) {
	kubeconfig := p.ConfigString("kubeconfig")
	if kubeconfig == "" {
		return nil, fmt.Errorf("stand-in kubernetes: the provider has no kubeconfig; on a simulated cluster it needs one")
	}
	config, err := clientcmd.RESTConfigFromKubeConfig([]byte(kubeconfig))
	if err != nil {
		return nil, fmt.Errorf("stand-in kubernetes: the provider's kubeconfig: %w", err)
	}
	server, err := url.Parse(config.Host)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(server.Hostname()); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("stand-in kubernetes: the kubeconfig's server %s is not on loopback; on a simulated cluster the apiserver listens on 127.0.0.0/8 only", config.Host)
	}
	client, err := dynamic.NewForConfig(config)
	if err != nil {
		return nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(config)
	if err != nil {
		return nil, err
	}
	return &simKube{client: client, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))}, nil
}

func (k *simKube) resourceFor(obj *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := obj.GroupVersionKind()
	mapping, err := k.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, err
	}
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		return k.client.Resource(mapping.Resource).Namespace(obj.GetNamespace()), nil
	}
	return k.client.Resource(mapping.Resource), nil
}

// apply is a forced server-side apply of the object.
func (k *simKube) apply(obj *unstructured.Unstructured) error {
	r, err := k.resourceFor(obj)
	if err != nil {
		return err
	}
	_, err = r.Apply(context.Background(), obj.GetName(), obj, metav1.ApplyOptions{FieldManager: fieldManager, Force: true})
	return err
}

func (k *simKube) delete(obj *unstructured.Unstructured) error {
	r, err := k.resourceFor(obj)
	if err != nil {
		return err
	}
	err = r.Delete(context.Background(), obj.GetName(), metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// objectOf is the object a resource's properties describe: apiVersion and kind from its type token.
func objectOf(g gvk, props resource.PropertyMap) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{Object: plainMap(props).Mappable()}
	delete(obj.Object, "__inputs")
	apiVersion := g.version
	if g.group != "" {
		apiVersion = g.group + "/" + g.version
	}
	obj.SetAPIVersion(apiVersion)
	obj.SetKind(g.kind)
	return obj
}

// simApplyObject applies an object on a simulated cluster.
func simApplyObject(c *Call, g gvk, outs resource.PropertyMap) error {
	kube, err := newSimKube(c.P)
	if err != nil {
		return err
	}
	if err := kube.apply(objectOf(g, outs)); err != nil {
		return fmt.Errorf("stand-in kubernetes: %s: %w", c.URN, err)
	}
	return nil
}

// simDeleteObject deletes an object from a simulated cluster.
func simDeleteObject(c *Call, g gvk) error {
	kube, err := newSimKube(c.P)
	if err != nil {
		return err
	}
	return kube.delete(objectOf(g, c.Olds))
}

// helmWorkloads are the workloads a chart makes, of the charts the stand-in knows: cilium's agent
// DaemonSet "cilium" and its operator Deployment "cilium-operator" (cilium/cilium v1.18 install/kubernetes/
// cilium/templates/cilium-agent/daemonset.yaml and cilium-operator/deployment.yaml), labelled as Helm
// labels what it installs (app.kubernetes.io/managed-by: Helm, meta.helm.sh/release-name and -namespace
// annotations). Their pods and the rest of the chart (its ConfigMap, RBAC, CRDs) are not simulated.
func helmWorkloads(chart, release, namespace string) ([]*unstructured.Unstructured, error) {
	if strings.TrimSuffix(path.Base(chart), ".tgz") != "cilium" {
		return nil, fmt.Errorf("stand-in kubernetes: the chart %q cannot be downloaded here, and the stand-in knows only cilium's workloads", chart)
	}
	workload := func(kind, name, app string) *unstructured.Unstructured {
		labels := map[string]any{"k8s-app": app, "app.kubernetes.io/managed-by": "Helm"}
		spec := map[string]any{
			"selector": map[string]any{"matchLabels": map[string]any{"k8s-app": app}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"k8s-app": app}},
				"spec":     map[string]any{"containers": []any{map[string]any{"name": app, "image": "quay.io/cilium/" + app}}},
			},
		}
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apps/v1", "kind": kind,
			"metadata": map[string]any{
				"name": name, "namespace": namespace, "labels": labels,
				"annotations": map[string]any{"meta.helm.sh/release-name": release, "meta.helm.sh/release-namespace": namespace},
			},
			"spec": spec,
		}}
		return obj
	}
	return []*unstructured.Unstructured{
		workload("DaemonSet", "cilium", "cilium"),
		workload("Deployment", "cilium-operator", "cilium-operator"),
	}, nil
}

func releaseWorkloads(props resource.PropertyMap) ([]*unstructured.Unstructured, error) {
	chart, _ := str(props["chart"])
	name, _ := str(props["name"])
	namespace, _ := str(props["namespace"])
	return helmWorkloads(chart, name, namespace)
}

// simInstallRelease installs (or upgrades) a release on a simulated cluster: its chart's workloads.
func simInstallRelease(c *Call, outs resource.PropertyMap) error {
	return eachWorkload(c, outs, func(kube *simKube, obj *unstructured.Unstructured) error {
		if err := kube.apply(obj); err != nil {
			return fmt.Errorf("stand-in kubernetes: %s: %w", c.URN, err)
		}
		return nil
	})
}

// simUninstallRelease deletes a release's workloads from a simulated cluster.
func simUninstallRelease(c *Call) error {
	return eachWorkload(c, c.Olds, (*simKube).delete)
}

// eachWorkload runs op on each workload of the release these properties describe.
func eachWorkload(c *Call, props resource.PropertyMap, op func(*simKube, *unstructured.Unstructured) error) error {
	objects, err := releaseWorkloads(props)
	if err != nil {
		return err
	}
	kube, err := newSimKube(c.P)
	if err != nil {
		return err
	}
	for _, obj := range objects {
		if err := op(kube, obj); err != nil {
			return err
		}
	}
	return nil
}
