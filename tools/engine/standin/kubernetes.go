// The kubernetes 4.34.2 stand-in: github.com/pulumi/pulumi-kubernetes, a native provider. The snapshot has
// tags up to v4.32.0; the rules below were read at its newest commit 94977969 (2026-07-01, after v4.32.0,
// "Unreleased" in CHANGELOG.md), the closest to 4.34.2 available. Sources (cited below):
//
//	[provider] provider/pkg/provider/provider.go: CheckConfig, DiffConfig, Configure, Check, Diff, Create,
//	           canonicalNamespace
//	[diff]     provider/pkg/provider/diff.go: forceNewProperties and the forceNew table
//	[util]     provider/pkg/provider/util.go: fqName, parseKubeconfigPropertyValue,
//	           getActiveClusterFromConfig
//	[naming]   provider/pkg/metadata/naming.go (AssignNameIfAutonamable, AdoptOldAutonameIfUnnamed),
//	           annotations.go (pulumi.com/autonamed), labels.go (app.kubernetes.io/managed-by)
//	[kinds]    provider/pkg/kinds/kinds.go Kind.Namespaced; provider/pkg/clients/clients.go IsNamespacedKind
//	[helm]     provider/pkg/provider/helm_release.go: Check, setDefaults, adoptOldNameIfUnnamed,
//	           assignNameIfAutonameable, Diff, Create, checkpointRelease, setReleaseAttributes
//
// The real provider talks to the cluster in Check (OpenAPI validation), Diff (namespace scope via
// discovery), Create/Update (server-side apply and await) and Read; its Helm Release Check downloads the
// chart. The stand-in does none of that, but on a simulated cluster it applies and deletes the objects
// (kubernetes_sim.go).
package main

import (
	"fmt"
	"os"
	"path"
	"reflect"
	"strings"

	yaml "go.yaml.in/yaml/v4"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const (
	annotationAutonamed = "pulumi.com/autonamed"         // [naming] AnnotationAutonamed
	labelManagedBy      = "app.kubernetes.io/managed-by" // [naming] LabelManagedBy
)

func kubernetesPlugin() *Plugin {
	return &Plugin{
		Name:    "kubernetes",
		Version: "4.34.2",
		// [provider] Configure returns SupportsAutonamingConfiguration: true.
		SupportsAutonaming: true,
		DiffConfig:         kubernetesDiffConfig,
		Resources: map[string]*Resource{
			"kubernetes:helm.sh/v3:Release": helmRelease(),
		},
		Generic: kubernetesObject,
	}
}

// configFlag reads a boolean provider setting: the provider config, else the environment variable, else
// the default ([provider] Configure: enableServerSideApply, enableConfigMapMutable, enableSecretMutable).
func configFlag(p *Provider, key, env string, def bool) bool {
	if v := p.ConfigString(key); v != "" {
		return v == "true"
	}
	if v, ok := os.LookupEnv(env); ok {
		return v == "true"
	}
	return def
}

// --- provider configuration ---------------------------------------------------------------------------------

// kubernetesDiffConfig is [provider] DiffConfig: every changed key is a diff; an unknown kubeconfig,
// context or cluster replaces the provider (and so every resource it manages); a change of the active
// cluster (the current context's cluster entry in the kubeconfig, with the context/cluster overrides)
// replaces the changed ones among kubeconfig/context/cluster; renderYamlToDirectory changes replace;
// clusterIdentifier changes replace, and an unchanged, set clusterIdentifier cancels every replacement.
func kubernetesDiffConfig(olds, news resource.PropertyMap) (*pulumirpc.DiffResponse, error) {
	olds, news = plainMap(olds), plainMap(news)
	diff := olds.Diff(news)
	if diff == nil {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
	}
	var diffs, replaces []string
	if diff.Updated("clusterIdentifier") {
		replaces = append(replaces, "clusterIdentifier")
	}
	keepIdentity := diff.Same("clusterIdentifier") && news.HasValue("clusterIdentifier")
	respond := func(r *pulumirpc.DiffResponse) (*pulumirpc.DiffResponse, error) {
		if keepIdentity {
			r.Replaces = nil
		}
		return r, nil
	}
	for _, key := range []string{"kubeconfig", "context", "cluster"} {
		if news[resource.PropertyKey(key)].IsComputed() {
			return respond(&pulumirpc.DiffResponse{
				Changes:  pulumirpc.DiffResponse_DIFF_SOME,
				Diffs:    []string{key},
				Replaces: append(replaces, key),
			})
		}
	}
	for _, k := range diff.ChangedKeys() {
		diffs = append(diffs, string(k))
		if k == "renderYamlToDirectory" {
			replaces = append(replaces, "renderYamlToDirectory")
		}
	}
	oldCluster, oldFound := activeCluster(olds)
	newCluster, newFound := activeCluster(news)
	if oldFound && newFound && !reflect.DeepEqual(oldCluster, newCluster) {
		for _, key := range []string{"kubeconfig", "context", "cluster"} {
			if contains(diffs, key) {
				replaces = append(replaces, key)
			}
		}
	}
	return respond(&pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_SOME, Diffs: diffs, Replaces: replaces})
}

// activeCluster is [util] getActiveClusterFromConfig over a kubeconfig given as contents (YAML/JSON), an
// object, or a path to a file ([util] parseKubeconfigString): the current context's cluster entry.
func activeCluster(config resource.PropertyMap) (map[string]any, bool) {
	var doc map[string]any
	switch v := config["kubeconfig"]; {
	case v.IsString():
		text := v.StringValue()
		if !strings.Contains(text, "\n") {
			if b, err := os.ReadFile(text); err == nil {
				text = string(b)
			}
		}
		if yaml.Unmarshal([]byte(text), &doc) != nil {
			return nil, false
		}
	case v.IsObject():
		doc = v.ObjectValue().Mappable()
	default:
		return nil, false
	}
	named := func(list any, name string, field string) map[string]any {
		entries, _ := list.([]any)
		for _, e := range entries {
			m, _ := e.(map[string]any)
			if m["name"] == name {
				inner, _ := m[field].(map[string]any)
				if inner == nil {
					inner = map[string]any{}
				}
				return inner
			}
		}
		return nil
	}
	current, _ := doc["current-context"].(string)
	if s, ok := str(config["context"]); ok {
		current = s
	}
	ctx := named(doc["contexts"], current, "context")
	if ctx == nil {
		return nil, false
	}
	clusterName, _ := ctx["cluster"].(string)
	if s, ok := str(config["cluster"]); ok {
		clusterName = s
	}
	cluster := named(doc["clusters"], clusterName, "cluster")
	return cluster, cluster != nil
}

// --- Kubernetes objects -------------------------------------------------------------------------------------

type gvk struct{ group, version, kind string }

// parseGVK reads kubernetes:<group>/<version>:<Kind> (group "core" is the legacy "").
func parseGVK(token string) (gvk, error) {
	rest, ok := strings.CutPrefix(token, "kubernetes:")
	gv, kind, ok2 := strings.Cut(rest, ":")
	group, version, ok3 := strings.Cut(gv, "/")
	if !ok || !ok2 || !ok3 || kind == "" {
		return gvk{}, fmt.Errorf("stand-in kubernetes: %q is not a kubernetes:<group>/<version>:<Kind> type", token)
	}
	if group == "core" {
		group = ""
	}
	return gvk{group, version, kind}, nil
}

// scope is [kinds] Kind.Namespaced for the built-in kinds: known, namespaced.
func scope(kind string) (known, namespaced bool) {
	switch strings.TrimSuffix(kind, "List") {
	case "Binding", "ConfigMap", "ControllerRevision", "CronJob", "CSIStorageCapacity", "DaemonSet",
		"Deployment", "Endpoints", "EndpointSlice", "Event", "HorizontalPodAutoscaler", "Ingress", "Job",
		"Lease", "LimitRange", "NetworkPolicy", "PersistentVolumeClaim", "Pod", "PodDisruptionBudget",
		"PodTemplate", "ReplicaSet", "ReplicationController", "ResourceQuota", "Role", "RoleBinding",
		"Secret", "Service", "ServiceAccount", "StatefulSet":
		return true, true
	case "APIService", "CertificateSigningRequest", "ClusterRole", "ClusterRoleBinding", "CSIDriver",
		"CSINode", "CustomResourceDefinition", "FlowSchema", "IngressClass", "MutatingWebhookConfiguration",
		"Namespace", "Node", "PersistentVolume", "PodSecurityPolicy", "PriorityClass",
		"PriorityLevelConfiguration", "RuntimeClass", "StorageClass", "ValidatingWebhookConfiguration",
		"VolumeAttachment":
		return true, false
	}
	return false, false
}

// kubernetesObject returns the rules of any Kubernetes object type.
func kubernetesObject(token string) (*Resource, error) {
	g, err := parseGVK(token)
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(g.kind, "List") {
		// [provider] Check: kinds.IsListURN.
		return nil, fmt.Errorf("list resources exist for compatibility with YAML manifests and Helm charts, " +
			"and cannot be created directly. Use the underlying resource type instead")
	}
	return &Resource{
		Check:               func(c *CheckCall) (resource.PropertyMap, []*pulumirpc.CheckFailure, error) { return objectCheck(c, g) },
		Canonical:           func(_ *Provider, m resource.PropertyMap) resource.PropertyMap { return canonicalNamespaceOf(m, g) },
		ReplaceFor:          func(p *Provider, news resource.PropertyMap) []ReplaceRule { return forceNewRules(p, g, news) },
		DeleteBeforeReplace: objectDeleteBeforeReplace,
		Create:              func(c *Call) (string, resource.PropertyMap, error) { return objectCreate(c, g) },
		Update:              func(c *Call) (resource.PropertyMap, error) { _, outs, err := objectCreate(c, g); return outs, err },
		Delete: func(c *Call) error {
			if !simulated() {
				return nil
			}
			return simDeleteObject(c, g)
		},
		Read: "the real Read gets the live object from the API server (a missing object leaves the state) and " +
			"returns it with the old inputs.",
	}, nil
}

func metadataOf(m resource.PropertyMap) resource.PropertyMap {
	if md := m["metadata"]; md.IsObject() {
		return md.ObjectValue()
	}
	return nil
}

// isNamed is [naming] IsNamed: metadata.name is set, or unknown.
func isNamed(m resource.PropertyMap) bool {
	name := getPath(m, "metadata.name")
	if name.IsComputed() {
		return true
	}
	s, _ := str(name)
	return s != ""
}

func isAutonamed(m resource.PropertyMap) bool {
	s, _ := str(getPath(m, fmt.Sprintf("metadata.annotations[%q]", annotationAutonamed)))
	return s == "true"
}

// setMetadata sets metadata.<field>[key] = value (field "" sets metadata.<key>).
func setMetadata(m resource.PropertyMap, field, key string, value resource.PropertyValue) {
	md := metadataOf(m)
	if md == nil {
		md = resource.PropertyMap{}
		m["metadata"] = resource.NewProperty(md)
	}
	if field == "" {
		md[resource.PropertyKey(key)] = value
		return
	}
	inner := md[resource.PropertyKey(field)]
	if !inner.IsObject() {
		inner = resource.NewProperty(resource.PropertyMap{})
		md[resource.PropertyKey(field)] = inner
	}
	inner.ObjectValue()[resource.PropertyKey(key)] = value
}

// objectCheck is [provider] Check without the cluster: with old inputs, adopt their autoname when the new
// inputs have no name ([naming] AdoptOldAutonameIfUnnamed) and keep a managed-by label only if it was
// there; without, autoname ([naming] AssignNameIfAutonamable: the engine's proposed name when it sends
// one, else "<resource name>-" + 8 characters from the engine's random seed, annotated
// pulumi.com/autonamed=true) and, in client-side-apply mode only, label app.kubernetes.io/managed-by=pulumi.
// The provider's default namespace is set on namespaced objects without one. generateName is refused in
// server-side-apply mode (the default).
func objectCheck(c *CheckCall, g gvk) (resource.PropertyMap, []*pulumirpc.CheckFailure, error) {
	news := copyMap(c.News)
	ssa := configFlag(c.P, "enableServerSideApply", "PULUMI_K8S_ENABLE_SERVER_SIDE_APPLY", true)
	if md := metadataOf(news); md != nil {
		news["metadata"] = resource.NewProperty(md.Copy())
	}
	if len(c.Olds) > 0 {
		if !isNamed(news) && isAutonamed(c.Olds) {
			name, _ := str(getPath(c.Olds, "metadata.name"))
			setMetadata(news, "", "name", resource.NewProperty(name))
			setMetadata(news, "annotations", annotationAutonamed, resource.NewProperty("true"))
		}
		if label, ok := str(getPath(c.Olds, fmt.Sprintf("metadata.labels[%q]", labelManagedBy))); ok {
			setMetadata(news, "labels", labelManagedBy, resource.NewProperty(label))
		}
	} else if !isNamed(news) && getPath(news, "metadata.generateName").IsNull() {
		name, err := resource.NewUniqueName(c.RandomSeed, c.Name+"-", 0, 0, nil)
		if err != nil {
			return nil, nil, err
		}
		if a := c.Autonaming; a != nil {
			switch a.GetMode() {
			case pulumirpc.CheckRequest_AutonamingOptions_DISABLE:
				return nil, nil, fmt.Errorf("autonaming is disabled, resource requires the .metadata.name field to be set")
			default:
				if a.GetProposedName() != "" {
					name = a.GetProposedName()
				}
			}
		}
		setMetadata(news, "", "name", resource.NewProperty(name))
		setMetadata(news, "annotations", annotationAutonamed, resource.NewProperty("true"))
		if !ssa {
			setMetadata(news, "labels", labelManagedBy, resource.NewProperty("pulumi"))
		}
	}
	if !getPath(news, "metadata.generateName").IsNull() && !isNamed(news) && ssa {
		return nil, nil, fmt.Errorf("the `.metadata.generateName` field is not supported in Server-Side Apply mode")
	}
	if ns := c.P.ConfigString("namespace"); ns != "" {
		if known, namespaced := scope(g.kind); (!known || namespaced) && namespaceOf(news) == "" {
			setMetadata(news, "", "namespace", resource.NewProperty(ns))
		}
	}
	return news, nil, nil
}

func namespaceOf(m resource.PropertyMap) string {
	s, _ := str(getPath(m, "metadata.namespace"))
	return s
}

// canonicalNamespaceOf is [provider] Diff's namespace handling: a namespaced kind without a namespace is in
// "default" (canonicalNamespace); a cluster-scoped kind has none. A kind the provider cannot place
// (custom resources; it asks the CRD cache or discovery, which the stand-in has not) is assumed namespaced,
// as Diff does on NoNamespaceInfoErr.
func canonicalNamespaceOf(m resource.PropertyMap, g gvk) resource.PropertyMap {
	out := copyMap(m)
	md := metadataOf(out)
	if md == nil {
		return out
	}
	md = md.Copy()
	out["metadata"] = resource.NewProperty(md)
	if known, namespaced := scope(g.kind); known && !namespaced {
		delete(md, "namespace")
	} else if namespaceOf(out) == "" && !md["namespace"].IsComputed() {
		md["namespace"] = resource.NewProperty("default")
	}
	return out
}

// forceNewRules is [diff] forceNewProperties for the object: metadata.name and metadata.namespace always;
// for a Secret (unless enableSecretMutable and not immutable) type/stringData/data; else the kind's entry in
// the forceNew table; else for a ConfigMap (unless enableConfigMapMutable and not immutable)
// data/binaryData.
func forceNewRules(p *Provider, g gvk, news resource.PropertyMap) []ReplaceRule {
	paths := []string{"metadata.name", "metadata.namespace"}
	immutable := getPath(news, "immutable")
	isImmutable := immutable.IsBool() && immutable.BoolValue()
	groupKey := g.group
	if groupKey == "" {
		groupKey = "core"
	}
	if versions, ok := forceNewTable[groupKey]; ok {
		if kinds, ok := versions[g.version]; ok {
			switch {
			case groupKey == "core" && g.kind == "Secret" &&
				(!configFlag(p, "enableSecretMutable", "PULUMI_K8S_ENABLE_SECRET_MUTABLE", false) || isImmutable):
				paths = append(paths, "type", "stringData", "data")
			case kinds[g.kind] != nil:
				paths = append(paths, kinds[g.kind]...)
			case groupKey == "core" && g.kind == "ConfigMap" &&
				(!configFlag(p, "enableConfigMapMutable", "PULUMI_K8S_ENABLE_CONFIGMAP_MUTABLE", false) || isImmutable):
				paths = append(paths, "binaryData", "data")
			}
		}
	}
	rules := make([]ReplaceRule, len(paths))
	for i, p := range paths {
		rules[i] = ReplaceRule{Path: p}
	}
	return rules
}

// labelSelector is [diff] labelSelectorForceNewProperties (its nested paths are inside the selector).
func labelSelector(prefix string) []string {
	return []string{prefix, prefix + ".matchExpressions", prefix + ".matchLabels"}
}

func containerFields(prefixes ...string) []string {
	var out []string
	for _, prefix := range prefixes {
		for _, f := range []string{"args", "command", "env", "image", "imagePullPolicy", "lifecycle", "livenessProbe",
			"ports", "readinessProbe", "resources", "securityContext", "stdin", "stdinOnce",
			"terminationMessagePath", "terminationMessagePolicy", "tty", "volumeDevices", "volumeMounts", "workingDir"} {
			out = append(out, prefix+"."+f)
		}
	}
	return out
}

// forceNewTable is [diff] forceNew (group -> version -> kind -> paths), leading dots dropped.
var forceNewTable = func() map[string]map[string]map[string][]string {
	statefulSet := append([]string{"spec.podManagementPolicy", "spec.revisionHistoryLimit", "spec.serviceName",
		"spec.volumeClaimTemplates"}, labelSelector("spec.selector")...)
	workload := labelSelector("spec.selector") // Deployment, DaemonSet
	job := append([]string{"spec.completions", "spec.parallelism", "spec.template"}, labelSelector("spec.selector")...)
	roleBinding := []string{"roleRef"}
	pod := append([]string{"spec.affinity", "spec.automountServiceAccountToken", "spec.dnsConfig", "spec.dnsPolicy",
		"spec.enableServiceLinks", "spec.hostAliases", "spec.hostIPC", "spec.hostNetwork", "spec.hostPID",
		"spec.hostname", "spec.imagePullSecrets", "spec.nodeName", "spec.nodeSelector", "spec.overhead",
		"spec.preemptionPolicy", "spec.priority", "spec.priorityClassName", "spec.readinessGates",
		"spec.restartPolicy", "spec.runtimeClassName", "spec.schedulerName", "spec.securityContext",
		"spec.serviceAccount", "spec.serviceAccountName", "spec.shareProcessNamespace", "spec.subdomain",
		"spec.terminationGracePeriodSeconds", "spec.volumes"},
		containerFields("spec.containers[*]", "spec.initContainers[*]")...)
	pv := []string{}
	for _, v := range []string{"awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "csi", "fc",
		"flexVolume", "flocker", "gcePersistentDisk", "glusterfs", "hostPath", "iscsi", "local", "nfs",
		"photonPersistentDisk", "portworxVolume", "quobyte", "rbd", "scaleIO", "storageos", "vsphereVolume"} {
		pv = append(pv, "spec."+v)
	}
	return map[string]map[string]map[string][]string{
		"apps": {
			// .spec.selector replaces Deployment/DaemonSet only after v1beta1.
			"v1beta1": {"StatefulSet": statefulSet},
			"v1beta2": {"DaemonSet": workload, "Deployment": workload, "StatefulSet": statefulSet},
			"v1":      {"DaemonSet": workload, "Deployment": workload, "StatefulSet": statefulSet},
		},
		"core": {"v1": {
			"PersistentVolume": pv,
			"PersistentVolumeClaim": append([]string{"spec.accessModes", "spec.storageClassName", "spec.volumeName"},
				labelSelector("spec.selector")...),
			"Pod":           pod,
			"ResourceQuota": {"spec.scopes"},
			"Secret":        {"type"},
			"Service":       {"spec.clusterIP"},
		}},
		"policy": {"v1beta1": {"PodDisruptionBudget": {"spec"}}},
		"rbac.authorization.k8s.io": {
			"v1alpha1": {"ClusterRoleBinding": roleBinding, "RoleBinding": roleBinding},
			"v1beta1":  {"ClusterRoleBinding": roleBinding, "RoleBinding": roleBinding},
			"v1":       {"ClusterRoleBinding": roleBinding, "RoleBinding": roleBinding},
		},
		"storage.k8s.io": {"v1": {"StorageClass": {"spec.parameters", "spec.provisioner"}}},
		"batch": {
			"v1beta1":  {"Job": job},
			"v1":       {"Job": job},
			"v2alpha1": {"Job": job},
		},
	}
}()

// objectDeleteBeforeReplace is [provider] Diff: delete first when the object must be replaced, is named
// by the user (not autonamed, not generateName) and keeps its name and namespace.
func objectDeleteBeforeReplace(c *DiffCall) bool {
	if !isNamed(c.News) || isAutonamed(c.News) {
		return false
	}
	newName, _ := str(getPath(c.News, "metadata.name"))
	oldName, _ := str(getPath(c.Olds, "metadata.name"))
	return newName == oldName && canonicalNS(c.News) == canonicalNS(c.Olds)
}

func canonicalNS(m resource.PropertyMap) string {
	if ns := namespaceOf(m); ns != "" {
		return ns
	}
	return "default"
}

// objectCreate: the id is fqName(namespace, name) of the created object ([util] fqName: "<ns>/<name>", or
// "<name>" for a cluster-scoped object); the API server puts a namespaced object without a namespace in
// "default". The stand-in places custom-resource kinds by their inputs: namespaced iff a namespace is
// given (the real provider asks the CRD or discovery; Cilium's CiliumL2AnnouncementPolicy, for one, is
// cluster-scoped). Outputs are the inputs with that namespace (the real outputs are the live object, with
// server-set fields such as uid and status, plus "__inputs"). In a preview the real provider dry-runs
// against the cluster, or returns the inputs with an empty id when it cannot: the stand-in does the latter.
func objectCreate(c *Call, g gvk) (string, resource.PropertyMap, error) {
	outs := copyMap(c.News)
	if c.Preview {
		return "", outs, nil
	}
	name, _ := str(getPath(outs, "metadata.name"))
	if name == "" {
		return "", nil, fmt.Errorf("stand-in kubernetes: %s has no metadata.name", c.URN)
	}
	known, namespaced := scope(g.kind)
	ns := namespaceOf(outs)
	switch {
	case known && namespaced && ns == "":
		ns = "default"
		md := metadataOf(outs).Copy()
		md["namespace"] = resource.NewProperty(ns)
		outs["metadata"] = resource.NewProperty(md)
	case known && !namespaced:
		ns = ""
	}
	if simulated() {
		if err := simApplyObject(c, g, outs); err != nil {
			return "", nil, err
		}
	}
	if ns == "" {
		return name, outs, nil
	}
	return ns + "/" + name, outs, nil
}

// --- Helm Release ------------------------------------------------------------------------------------------

// helmRelease is kubernetes:helm.sh/v3:Release ([helm]).
//   - Check: keeps the old name when none is given, else autonames "<resource name>-<8 random hex>"
//     (NewUniqueHex, not seeded); defaults namespace to the provider's namespace ("default"), timeout to
//     300 unless skipAwait, keyring when verify. The real Check also loads the chart (downloading it) and
//     pins `version` to the chart's resolved version, with a check failure when it cannot; the stand-in
//     keeps the given version and downloads nothing.
//   - Diff: a three-way patch of old inputs, new inputs and state; name and namespace force a new release;
//     DeleteBeforeReplace false.
//   - Create: id "<namespace>/<name>" ("" in a preview); outputs are the release with `status`
//     {name, namespace, chart, version, revision, status: "deployed", appVersion}; in a preview status and
//     resourceNames are unknown. The stand-in installs nothing: chart is the given chart's name, version the
//     given version, appVersion and resourceNames (from the chart and its rendered manifest) are absent.
//   - Update: the real upgrade increments the revision.
func helmRelease() *Resource {
	return &Resource{
		Required: []string{"chart"},
		Check:    releaseCheck,
		Replace:  []ReplaceRule{{Path: "name"}, {Path: "namespace"}},
		Create:   releaseCreate,
		Update: func(c *Call) (resource.PropertyMap, error) {
			revision := 1.0
			if r := getPath(c.Olds, "status.revision"); r.IsNumber() {
				revision = r.NumberValue() + 1
			}
			outs := releaseOutputs(c, revision)
			if simulated() && !c.Preview {
				return outs, simInstallRelease(c, outs)
			}
			return outs, nil
		},
		Delete: func(c *Call) error {
			if !simulated() {
				return nil
			}
			return simUninstallRelease(c)
		},
		Read: "the real Read looks the release up in the cluster's Helm storage (its values, chart version and " +
			"status).",
	}
}

func releaseCheck(c *CheckCall) (resource.PropertyMap, []*pulumirpc.CheckFailure, error) {
	news := copyMap(c.News)
	if _, ok := news["name"]; !ok && len(c.Olds) > 0 {
		news["name"] = c.Olds["name"]
	}
	if name, ok := news["name"]; !ok || (name.IsString() && name.StringValue() == "") {
		autoname, err := resource.NewUniqueHex(c.Name+"-", 0, 0)
		if err != nil {
			return nil, nil, err
		}
		news["name"] = resource.NewProperty(autoname)
	}
	if ns, ok := news["namespace"]; !ok || (ns.IsString() && ns.StringValue() == "") {
		def := c.P.ConfigString("namespace")
		if def == "" {
			def = "default"
		}
		news["namespace"] = resource.NewProperty(def)
	}
	if skip := news["skipAwait"]; !skip.IsBool() || !skip.BoolValue() {
		if _, has := news["timeout"]; !has {
			news["timeout"] = resource.NewProperty(300.0)
		}
	}
	if verify := news["verify"]; verify.IsBool() && verify.BoolValue() {
		if k, ok := str(news["keyring"]); !ok || k == "" {
			news["keyring"] = resource.NewProperty(os.ExpandEnv("$HOME/.gnupg/pubring.gpg"))
		}
	}
	return news, nil, nil
}

func releaseOutputs(c *Call, revision float64) resource.PropertyMap {
	outs := copyMap(c.News)
	if c.Preview {
		outs["status"], outs["resourceNames"] = unknown(), unknown()
		return outs
	}
	name, _ := str(outs["name"])
	namespace, _ := str(outs["namespace"])
	chart, _ := str(outs["chart"])
	status := resource.PropertyMap{
		"name":      resource.NewProperty(name),
		"namespace": resource.NewProperty(namespace),
		"chart":     resource.NewProperty(strings.TrimSuffix(path.Base(chart), ".tgz")),
		"revision":  resource.NewProperty(revision),
		"status":    resource.NewProperty("deployed"),
	}
	if version, ok := str(outs["version"]); ok {
		status["version"] = resource.NewProperty(version)
	}
	outs["status"] = resource.NewProperty(status)
	return outs
}

func releaseCreate(c *Call) (string, resource.PropertyMap, error) {
	outs := releaseOutputs(c, 1)
	if c.Preview {
		return "", outs, nil
	}
	name, _ := str(outs["name"])
	namespace, _ := str(outs["namespace"])
	if simulated() {
		if err := simInstallRelease(c, outs); err != nil {
			return "", nil, err
		}
	}
	return namespace + "/" + name, outs, nil
}
