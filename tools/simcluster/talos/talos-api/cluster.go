package main

import (
	"context"
	"crypto/rand"
	stdx509 "crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/siderolabs/crypto/x509"
	clientconfig "github.com/siderolabs/talos/pkg/machinery/client/config"
	"github.com/siderolabs/talos/pkg/machinery/config"
	"github.com/siderolabs/talos/pkg/machinery/config/generate/secrets"
	"github.com/siderolabs/talos/pkg/machinery/role"
	"k8s.io/client-go/kubernetes"
)

// NodeSpec is one node as the harness describes it.
type NodeSpec struct {
	Name      string `json:"name"`
	IP        string `json:"ip"`
	Role      string `json:"role"`      // controlplane | worker
	Version   string `json:"version"`   // Talos version it runs, v1.13.9
	Schematic string `json:"schematic"` // Image Factory schematic id it runs
	Kubelet   string `json:"kubelet"`   // kubelet version, v1.36.1
	Config    string `json:"config"`    // its running machine config (YAML)
	// RegisterAfterMs: the node is still installing for this long: its Talos API does not answer and its
	// kubelet has not registered its Node object (a config apply returns before the node reboots into
	// Talos; terraform-provider-talos v0.11.0 talos_machine_configuration_apply_resource.go).
	RegisterAfterMs int `json:"registerAfterMs"`
}

// Timings of a simulated boot, short so that the lane is quick; talosctl's waits poll, so they only
// shorten the waits.
const (
	shutdownDelay = 300 * time.Millisecond
	downTime      = 1500 * time.Millisecond
)

// Cluster holds every simulated node. One mutex guards all node state.
type Cluster struct {
	ctx      context.Context //nolint:containedctx
	mu       sync.Mutex
	nodes    map[string]*Node // by IP
	dir      string
	bin      Binaries
	timeline *Timeline
	faults   map[string]string // "<kind>/<ip>" -> detail
	wg       sync.WaitGroup
	// caKeys are the Talos CAs' keys by certificate, from the control planes' configs: a worker's config
	// holds only the CA's certificate, and its apid certificate comes from trustd on a control plane.
	caKeys map[string][]byte
	isos   map[string]MachineSpec // the ISOs Proxmox downloaded, by file id: their version and schematic
	// talosCA: the Talos CA of a cluster of given nodes, which their apids use whatever their configs say.
	talosCA *x509.PEMEncodedCertificateAndKey
	// controllers serialises updateControllers: its status writes read, then update, the objects, and
	// two at once (a kubelet's report and a fault from the control API) conflict on the same version.
	controllers sync.Mutex

	// Kubernetes, once it runs: from the start for a cluster of given nodes, from its bootstrap for one
	// provisioned through the API. Guarded by kubeMu.
	kubeMu         sync.RWMutex
	kube           kubernetes.Interface
	kubeconfig     []byte // the admin kubeconfig
	processes      *kubernetesProcesses
	bootstrapped   bool
	kubeconfigPath string
}

// Options of a simulated cluster.
type Options struct {
	Dir         string // logs, etcd's data, the apiserver's PKI
	Bin         Binaries
	Kubeconfig  string // where to write the admin kubeconfig once Kubernetes runs
	Talosconfig string // with Nodes: where to write the talosconfig of the cluster's Talos CA
	// Nodes: a cluster that runs from the start, these nodes configured, etcd bootstrapped and Kubernetes
	// up. Without them, the cluster is provisioned as a real one is: machines booted from the ISO come up
	// in maintenance mode (POST /machines), take a config and install, and a control plane's bootstrap
	// starts etcd and Kubernetes (provision.go).
	Nodes []NodeSpec
}

// NewCluster starts a simulated cluster.
func NewCluster(ctx context.Context, opts Options) (*Cluster, error) {
	c := &Cluster{
		ctx:            ctx,
		nodes:          map[string]*Node{},
		dir:            opts.Dir,
		bin:            opts.Bin,
		timeline:       NewTimeline(),
		faults:         map[string]string{},
		caKeys:         map[string][]byte{},
		isos:           map[string]MachineSpec{},
		kubeconfigPath: opts.Kubeconfig,
	}

	if len(opts.Nodes) == 0 {
		return c, nil
	}

	// The cluster's secrets exactly as machinery generates them (config/generate/secrets NewBundle): the
	// Talos CA, the Kubernetes CA and service account key; an admin client certificate with the os:admin
	// role (NewAdminCertificateAndKey).
	bundle, err := secrets.NewBundle(secrets.NewClock(), config.TalosVersionCurrent)
	if err != nil {
		return nil, err
	}

	admin, err := secrets.NewAdminCertificateAndKey(time.Now(), bundle.Certs.OS, role.MakeSet(role.Admin), 24*time.Hour)
	if err != nil {
		return nil, err
	}

	endpoints := []string{}

	for _, spec := range opts.Nodes {
		if spec.Role == "controlplane" {
			endpoints = append(endpoints, spec.IP)
		}
	}

	// clientconfig.NewConfig is what talosctl gen config and the Talos provider write (client/config/config.go).
	talosconfig := clientconfig.NewConfig("simulated", endpoints, bundle.Certs.OS.Crt, admin)
	if err = os.MkdirAll(filepath.Dir(opts.Talosconfig), 0o700); err != nil {
		return nil, err
	}

	if err = talosconfig.Save(opts.Talosconfig); err != nil {
		return nil, err
	}

	port := freePort()
	if port == 0 {
		return nil, fmt.Errorf("no free loopback port for the apiserver")
	}

	pki, err := newKubernetesPKI(&url.URL{Scheme: "https", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}, "lab", bundle.Certs.K8s, bundle.Certs.K8sServiceAccount.Key)
	if err != nil {
		return nil, err
	}

	c.talosCA = bundle.Certs.OS

	if err = c.runKubernetes(pki); err != nil {
		return nil, err
	}

	for _, spec := range opts.Nodes {
		if err = c.AddNode(spec); err != nil {
			return nil, err
		}
	}

	return c, nil
}

// runKubernetes starts etcd and the apiserver, writes the admin kubeconfig and starts the workloads and
// the controllers' part of the stand-in (kubelet.go).
func (c *Cluster) runKubernetes(pki *kubernetesPKI) error {
	processes, kube, err := startKubernetes(c.ctx, c.dir, c.bin, pki)
	if err != nil {
		return err
	}

	// The apiserver creates kube-system itself (its system namespaces controller, a post-start hook) a
	// moment after it reports ready; Kubernetes runs once it has. On a real control plane that happens
	// long before Talos's checks of the node pass.
	if err = waitForNamespace(c.ctx, kube, "kube-system"); err != nil {
		processes.stop()

		return err
	}

	c.kubeMu.Lock()
	c.processes, c.kube, c.kubeconfig, c.bootstrapped = processes, kube, pki.kubeconfig, true
	c.kubeMu.Unlock()

	if err = os.WriteFile(c.kubeconfigPath, pki.kubeconfig, 0o600); err != nil {
		return err
	}

	return c.startWorkloads(c.talosCA != nil)
}

// kubernetes is the client of the cluster's apiserver, nil until Kubernetes runs.
func (c *Cluster) kubernetes() kubernetes.Interface {
	c.kubeMu.RLock()
	defer c.kubeMu.RUnlock()

	return c.kube
}

// errNoKubernetes is what a step that needs the apiserver meets before the cluster's bootstrap.
var errNoKubernetes = errors.New("Kubernetes does not run yet: the cluster is not bootstrapped")

// AddNode creates a node: it boots at once, or after RegisterAfterMs while it installs.
func (c *Cluster) AddNode(spec NodeSpec) error {
	if net.ParseIP(spec.IP) == nil || !net.ParseIP(spec.IP).IsLoopback() {
		return fmt.Errorf("node %s: %q is not a loopback address; the stand-in listens on 127.0.0.0/8 only", spec.Name, spec.IP)
	}

	node, err := newNode(c, spec)
	if err != nil {
		return err
	}

	c.mu.Lock()
	c.nodes[spec.IP] = node
	c.mu.Unlock()

	if spec.RegisterAfterMs == 0 {
		return node.boot()
	}

	c.timeline.Add(spec.Name, "installing", "")
	c.wg.Add(1)

	go func() {
		defer c.wg.Done()

		select {
		case <-time.After(time.Duration(spec.RegisterAfterMs) * time.Millisecond):
			node.boot() //nolint:errcheck
		case <-c.ctx.Done():
		}
	}()

	return nil
}

// Shutdown stops every node's listener, waits for the background work, then stops Kubernetes.
func (c *Cluster) Shutdown() {
	c.mu.Lock()
	nodes := c.sortedNodes()
	c.mu.Unlock()

	for _, n := range nodes {
		n.stopServing()
	}

	c.wg.Wait()

	c.kubeMu.RLock()
	processes := c.processes
	c.kubeMu.RUnlock()

	if processes != nil {
		processes.stop()
	}
}

func (c *Cluster) sortedNodes() []*Node {
	list := make([]*Node, 0, len(c.nodes))
	for _, n := range c.nodes {
		list = append(list, n)
	}

	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })

	return list
}

func (c *Cluster) node(ip string) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()

	return c.nodes[ip]
}

// answers: the node is up and its API is not cut off by the "unreachable" fault.
func (c *Cluster) answers(n *Node) bool {
	c.mu.Lock()
	up := n.up
	c.mu.Unlock()

	return up && !c.fault("unreachable", n)
}

// fault returns whether a fault of this kind is set on the node (by name or IP).
func (c *Cluster) fault(kind string, n *Node) bool {
	c.mu.Lock()
	defer c.mu.Unlock()

	_, byIP := c.faults[kind+"/"+n.IP]
	_, byName := c.faults[kind+"/"+n.Name]

	return byIP || byName
}

// serverCertificate issues a node's apid certificate for its IP from its Talos CA, as Talos's trustd/apid
// do (a server certificate with the node's addresses as SANs).
func serverCertificate(ip string, ca *x509.PEMEncodedCertificateAndKey) (*x509.PEMEncodedCertificateAndKey, error) {
	issuer, err := x509.NewCertificateAuthorityFromCertificateAndKey(ca)
	if err != nil {
		return nil, err
	}

	keyPair, err := x509.NewKeyPair(issuer,
		x509.IPAddresses([]net.IP{net.ParseIP(ip)}),
		x509.CommonName(ip),
		x509.NotAfter(time.Now().Add(24*time.Hour)),
		x509.KeyUsage(stdx509.KeyUsageDigitalSignature),
		x509.ExtKeyUsage([]stdx509.ExtKeyUsage{stdx509.ExtKeyUsageServerAuth}),
	)
	if err != nil {
		return nil, err
	}

	return x509.NewCertificateAndKeyFromKeyPair(keyPair), nil
}

// etcdMembers are the control planes that hold an etcd member, by name.
func (c *Cluster) etcdMembers() []*Node {
	c.mu.Lock()
	defer c.mu.Unlock()

	var members []*Node

	for _, n := range c.sortedNodes() {
		if n.etcdMember {
			members = append(members, n)
		}
	}

	return members
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b) //nolint:errcheck

	s := hex.EncodeToString(b)

	return strings.Join([]string{s[0:8], s[8:12], s[12:16], s[16:20], s[20:]}, "-")
}
