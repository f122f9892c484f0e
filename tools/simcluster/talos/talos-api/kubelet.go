package main

import (
	"context"
	"fmt"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
)

// No kubelet, scheduler or controller-manager runs in the lane. The stand-in does their part of the
// work the day-2 scripts observe: each node's kubelet registers its Node object and reports Ready with
// its kubelet version (pkg/kubelet/kubelet_node_status.go), stops reporting while the node is down
// (the node lifecycle controller then marks Ready Unknown), runs one workload pod per node that a drain
// must evict, and finishes a pod's graceful deletion once its containers would have stopped. The
// DaemonSet and Deployment controllers' status for cilium and coredns follows the Ready nodes.

const workloadNamespace = "default"

func workloadName(n *Node) string { return "workload-" + n.Name }

// startWorkloads creates the coredns Deployment in kube-system (Talos deploys CoreDNS itself at the
// bootstrap: controllers/k8s/internal/k8stemplates/coredns.go) and, in a cluster of given nodes, the
// cilium DaemonSet the program's Helm release would have made; in a provisioned cluster that release
// makes it (the kubernetes stand-in, tools/engine/standin). Then it starts the watches that record
// cordons, finish evictions and keep the controllers' status.
func (c *Cluster) startWorkloads(withCilium bool) error {
	ctx := c.ctx
	labels := map[string]string{"k8s-app": "cilium"}

	// The service account controller's "default" account: the ServiceAccount admission plugin refuses pods
	// in a namespace without it (plugin/pkg/admission/serviceaccount).
	_, err := c.kubernetes().CoreV1().ServiceAccounts(workloadNamespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("default ServiceAccount: %w", err)
	}

	if withCilium {
		_, err = c.kubernetes().AppsV1().DaemonSets("kube-system").Create(ctx, &appsv1.DaemonSet{
			ObjectMeta: metav1.ObjectMeta{Name: "cilium"},
			Spec: appsv1.DaemonSetSpec{
				Selector:       &metav1.LabelSelector{MatchLabels: labels},
				UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType},
				Template:       podTemplate(labels),
			},
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("cilium DaemonSet: %w", err)
		}
	}

	replicas := int32(2)
	dnsLabels := map[string]string{"k8s-app": "kube-dns"}

	_, err = c.kubernetes().AppsV1().Deployments("kube-system").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "coredns"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: dnsLabels},
			Template: podTemplate(dnsLabels),
		},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("coredns Deployment: %w", err)
	}

	if err = c.updateControllers(); err != nil {
		return err
	}

	c.wg.Add(3)

	go c.watchLoop(c.watchNodes)
	go c.watchLoop(c.watchPods)
	go c.watchLoop(c.watchDaemonSets)

	return nil
}

// watchDaemonSets sets the status of a DaemonSet of kube-system as its controller would once it is
// created or changed (the cilium agents a Helm release makes).
func (c *Cluster) watchDaemonSets() error {
	w, err := c.kubernetes().AppsV1().DaemonSets("kube-system").Watch(c.ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	defer w.Stop()

	for event := range w.ResultChan() {
		ds, ok := event.Object.(*appsv1.DaemonSet)
		if ok && event.Type != watch.Deleted && ds.Status.ObservedGeneration != ds.Generation {
			if err := c.updateControllers(); err != nil {
				c.timeline.Add("", "controllers-error", err.Error())
			}
		}
	}

	return nil
}

func podTemplate(labels map[string]string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "registry.k8s.io/pause:3.10"}}},
	}
}

// updateControllers sets the cilium DaemonSet's (once there is one) and the coredns Deployment's status
// as their controllers would: cilium is available on each Ready node but those with the
// "cilium-unavailable" fault, coredns while any node is Ready.
func (c *Cluster) updateControllers() error {
	if c.kubernetes() == nil {
		return nil // no controllers before the bootstrap
	}

	c.controllers.Lock()
	defer c.controllers.Unlock()

	ctx := c.ctx

	nodes, err := c.kubernetes().CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}

	desired, ready := int32(len(nodes.Items)), int32(0)

	for _, node := range nodes.Items {
		c.mu.Lock()
		_, held := c.faults["cilium-unavailable/"+node.Name]
		c.mu.Unlock()

		if nodeReady(&node) && !held {
			ready++
		}
	}

	ds, err := c.kubernetes().AppsV1().DaemonSets("kube-system").Get(ctx, "cilium", metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}

	if err == nil {
		ds.Status = appsv1.DaemonSetStatus{
			ObservedGeneration: ds.Generation, DesiredNumberScheduled: desired, CurrentNumberScheduled: desired,
			UpdatedNumberScheduled: desired, NumberReady: ready, NumberAvailable: ready, NumberUnavailable: desired - ready,
		}

		if _, err = c.kubernetes().AppsV1().DaemonSets("kube-system").UpdateStatus(ctx, ds, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}

	deploy, err := c.kubernetes().AppsV1().Deployments("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	if err != nil {
		return err
	}

	available := *deploy.Spec.Replicas
	if ready == 0 {
		available = 0
	}

	deploy.Status = appsv1.DeploymentStatus{
		ObservedGeneration: deploy.Generation, Replicas: *deploy.Spec.Replicas, UpdatedReplicas: *deploy.Spec.Replicas,
		ReadyReplicas: available, AvailableReplicas: available, UnavailableReplicas: *deploy.Spec.Replicas - available,
	}

	_, err = c.kubernetes().AppsV1().Deployments("kube-system").UpdateStatus(ctx, deploy, metav1.UpdateOptions{})

	return err
}

func nodeReady(node *corev1.Node) bool {
	for _, cond := range node.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Status == corev1.ConditionTrue
		}
	}

	return false
}

// kubeletUp registers the node (first boot) and reports it Ready with its kubelet version, and starts
// its workload pod.
func (n *Node) kubeletUp() error {
	if n.cluster.kubernetes() == nil {
		return nil // the kubelet registers once the apiserver runs (runKubernetes registers every booted node)
	}

	c := n.cluster
	ctx := c.ctx
	nodes := c.kubernetes().CoreV1().Nodes()

	_, err := nodes.Get(ctx, n.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		labels := map[string]string{"kubernetes.io/hostname": n.Name, "kubernetes.io/os": "linux"}
		if n.Role == "controlplane" {
			labels["node-role.kubernetes.io/control-plane"] = ""
		}

		_, err = nodes.Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: labels}}, metav1.CreateOptions{})
		if err == nil {
			c.timeline.Add(n.Name, "registered", "")
		}
	}

	if err != nil {
		return err
	}

	if err = n.reportStatus(); err != nil {
		return err
	}

	pods := c.kubernetes().CoreV1().Pods(workloadNamespace)

	pod, err := pods.Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: workloadName(n), Labels: map[string]string{"app": workloadName(n)}},
		Spec:       corev1.PodSpec{NodeName: n.Name, Containers: []corev1.Container{{Name: "main", Image: "registry.k8s.io/pause:3.10"}}},
	}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}

	if err != nil {
		return err
	}

	// Running and Ready, as the kubelet reports a started pod: the Eviction API checks a
	// PodDisruptionBudget only for such a pod, never for a Pending one (canIgnorePDB,
	// pkg/registry/core/pod/storage/eviction.go).
	now := metav1.NewTime(time.Now())
	pod.Status = corev1.PodStatus{
		Phase:      corev1.PodRunning,
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}},
		HostIP:     n.IP,
		StartTime:  &now,
	}
	_, err = pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{})

	return err
}

// kubeletDown: the kubelet stopped posting status; the node lifecycle controller marks the node's Ready
// condition Unknown (pkg/controller/nodelifecycle, "Kubelet stopped posting node status").
func (n *Node) kubeletDown() {
	if err := n.reportStatus(); err != nil {
		n.cluster.timeline.Add(n.Name, "kubelet-error", err.Error())
	}
}

// reportStatus writes the Node's status as its kubelet reports it (pkg/kubelet/kubelet_node_status.go):
// addresses, kubelet version and Ready, False with the "stay-notready" fault; Unknown while the node is
// down. Then the controllers' status follows.
func (n *Node) reportStatus() error {
	if n.cluster.kubernetes() == nil {
		return nil
	}

	c := n.cluster
	nodes := c.kubernetes().CoreV1().Nodes()

	node, err := nodes.Get(c.ctx, n.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}

	notReady := c.fault("stay-notready", n)

	c.mu.Lock()
	kubeletVersion, version, up := n.kubelet, n.version, n.up
	c.mu.Unlock()

	condition := corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady"}

	switch {
	case !up:
		condition = corev1.NodeCondition{
			Type: corev1.NodeReady, Status: corev1.ConditionUnknown, Reason: "NodeStatusUnknown",
			Message: "Kubelet stopped posting node status.",
		}
	case notReady:
		condition.Status, condition.Reason = corev1.ConditionFalse, "KubeletNotReady"
	}

	now := metav1.NewTime(time.Now())
	condition.LastHeartbeatTime, condition.LastTransitionTime = now, now
	node.Status.Conditions = []corev1.NodeCondition{condition}
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: n.IP}, {Type: corev1.NodeHostName, Address: n.Name}}
	node.Status.NodeInfo.KubeletVersion = kubeletVersion
	node.Status.NodeInfo.OSImage = "Talos (" + version + ")"

	if _, err = nodes.UpdateStatus(c.ctx, node, metav1.UpdateOptions{}); err != nil {
		return err
	}

	return c.updateControllers()
}

// setKubelet moves every node's kubelet to a version, as talosctl upgrade-k8s does node by node. Like
// upgrade-k8s, it re-applies each node's running config (patched with the new images, which this
// stand-in's configs do not name) with mode NO_REBOOT, so a config staged for the next boot is
// overwritten (talos v1.13.9 pkg/cluster/kubernetes/patch.go patchNodeConfig reads MachineConfig
// "v1alpha1"; v1alpha1_server.go ApplyConfiguration NO_REBOOT persists it and makes it the running one).
func (c *Cluster) setKubelet(version string) error {
	c.mu.Lock()
	nodes := c.sortedNodes()
	c.mu.Unlock()

	for _, n := range nodes {
		// upgrade-k8s works on the Kubernetes nodes (talos v1.14.1 pkg/cluster/kubernetes/talos_managed.go
		// lists them through the API server); a node still in maintenance mode or installing has no running
		// config yet, registers only once it boots into one, and takes its kubelet's version from that.
		c.mu.Lock()
		running := n.running
		member := !n.gone && len(running) > 0
		if member {
			n.kubelet = version
		}
		c.mu.Unlock()

		if !member {
			continue
		}

		if err := n.applyLive(running); err != nil {
			return err
		}

		if err := n.kubeletUp(); err != nil {
			return err
		}

		c.timeline.Add(n.Name, "kubelet-upgraded", version)
	}

	return nil
}

// cordonAndDrain is Talos's own CordonAndDrainNode task of a graceful reset: cordon, then evict the
// node's pods through the Eviction API (internal/pkg/cri/... and the sequencer task).
func (n *Node) cordonAndDrain() error {
	if n.cluster.kubernetes() == nil {
		return errNoKubernetes
	}

	c := n.cluster
	ctx := c.ctx

	node, err := c.kubernetes().CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}

	node.Spec.Unschedulable = true

	if _, err = c.kubernetes().CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{}); err != nil {
		return err
	}

	pods, err := c.kubernetes().CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.nodeName", n.Name).String()})
	if err != nil {
		return err
	}

	for _, pod := range pods.Items {
		err = c.kubernetes().PolicyV1().Evictions(pod.Namespace).Evict(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace}})
		if err != nil {
			return fmt.Errorf("evicting %s/%s: %w", pod.Namespace, pod.Name, err)
		}
	}

	return nil
}

func (c *Cluster) watchLoop(watchOnce func() error) {
	defer c.wg.Done()

	for c.ctx.Err() == nil {
		if err := watchOnce(); err != nil && c.ctx.Err() == nil {
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// watchNodes records cordons and uncordons (spec.unschedulable) in the timeline.
func (c *Cluster) watchNodes() error {
	w, err := c.kubernetes().CoreV1().Nodes().Watch(c.ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	defer w.Stop()

	cordoned := map[string]bool{}

	for event := range w.ResultChan() {
		node, ok := event.Object.(*corev1.Node)
		if !ok || event.Type == watch.Deleted {
			continue
		}

		if was, seen := cordoned[node.Name]; (seen || node.Spec.Unschedulable) && was != node.Spec.Unschedulable {
			what := "uncordoned"
			if node.Spec.Unschedulable {
				what = "cordoned"
			}

			c.timeline.Add(node.Name, what, "")
		}

		cordoned[node.Name] = node.Spec.Unschedulable
	}

	return nil
}

// watchPods finishes the graceful deletion of a pod on a node (an eviction sets its deletion timestamp;
// the kubelet stops its containers and deletes it with grace period 0) and records it as evicted.
func (c *Cluster) watchPods() error {
	w, err := c.kubernetes().CoreV1().Pods(workloadNamespace).Watch(c.ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	defer w.Stop()

	for event := range w.ResultChan() {
		pod, ok := event.Object.(*corev1.Pod)
		if !ok || event.Type == watch.Deleted || pod.DeletionTimestamp == nil {
			continue
		}

		zero := int64(0)

		err = c.kubernetes().CoreV1().Pods(pod.Namespace).Delete(c.ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
		if err == nil {
			c.timeline.Add(pod.Spec.NodeName, "evicted", pod.Namespace+"/"+pod.Name)
		}
	}

	return nil
}

// kubernetesNodesReport is Talos's "all k8s nodes to report" check (pkg/cluster/check/kubernetes.go
// K8sAllNodesReportedAssertion): the Kubernetes nodes' internal IPs are exactly the expected ones.
func (a *api) kubernetesNodesReport(ctx context.Context, ips []string) error {
	if a.cluster.kubernetes() == nil {
		return errNoKubernetes
	}

	nodes, err := a.cluster.kubernetes().CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}

	var reported []string

	for _, node := range nodes.Items {
		for _, addr := range node.Status.Addresses {
			if addr.Type == corev1.NodeInternalIP {
				reported = append(reported, addr.Address)
			}
		}
	}

	sort.Strings(reported)

	if fmt.Sprint(reported) != fmt.Sprint(sortedCopy(ips)) {
		return fmt.Errorf("expected nodes with IPs %v, Kubernetes reports %v", sortedCopy(ips), reported)
	}

	return nil
}

func sortedCopy(list []string) []string {
	out := append([]string{}, list...)
	sort.Strings(out)

	return out
}

// blockDrain creates a PodDisruptionBudget that forbids evicting the node's workload pod, its status set
// as the disruption controller would (pkg/controller/disruption: one healthy pod, one desired, none
// allowed to go), so the Eviction API answers 429 (pkg/registry/core/pod/storage/eviction.go) and a drain
// retries until its timeout. Clearing the fault deletes it.
func (c *Cluster) blockDrain(n *Node, block bool) error {
	if c.kubernetes() == nil {
		return errNoKubernetes
	}

	pdbs := c.kubernetes().PolicyV1().PodDisruptionBudgets(workloadNamespace)
	name := workloadName(n)

	if !block {
		err := pdbs.Delete(c.ctx, name, metav1.DeleteOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}

		return err
	}

	one := intstr.FromInt32(1)

	pdb, err := pdbs.Create(c.ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: &one,
			Selector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return err
	}

	pdb.Status = policyv1.PodDisruptionBudgetStatus{
		ObservedGeneration: pdb.Generation, CurrentHealthy: 1, DesiredHealthy: 1, ExpectedPods: 1, DisruptionsAllowed: 0,
	}

	_, err = pdbs.UpdateStatus(c.ctx, pdb, metav1.UpdateOptions{})

	return err
}
