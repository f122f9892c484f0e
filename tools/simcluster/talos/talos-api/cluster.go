package main

import (
	"context"
	"crypto/rand"
	stdx509 "crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/siderolabs/crypto/x509"
	clientconfig "github.com/siderolabs/talos/pkg/machinery/client/config"
	"github.com/siderolabs/talos/pkg/machinery/config/generate/secrets"
	"github.com/siderolabs/talos/pkg/machinery/role"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
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
	ctx        context.Context //nolint:containedctx
	mu         sync.Mutex
	nodes      map[string]*Node // by IP
	kube       kubernetes.Interface
	kubeconfig []byte
	ca         *x509.CertificateAuthority
	timeline   *Timeline
	faults     map[string]string // "<kind>/<ip>" -> detail
	wg         sync.WaitGroup
	// controllers serialises updateControllers: its status writes read, then update, the objects, and
	// two at once (a kubelet's report and a fault from the control API) conflict on the same version.
	controllers sync.Mutex
}

// NewCluster issues the PKI, writes the talosconfig and boots every node.
func NewCluster(ctx context.Context, kubeconfigPath, talosconfigPath string, specs []NodeSpec) (*Cluster, error) {
	kubeconfig, err := os.ReadFile(kubeconfigPath)
	if err != nil {
		return nil, err
	}

	restConfig, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}

	kube, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return nil, err
	}

	// The Talos PKI exactly as machinery generates a cluster's secrets (config/generate/secrets/ca.go):
	// the Talos CA and an admin client certificate with the os:admin role.
	now := time.Now()

	ca, err := secrets.NewTalosCA(now)
	if err != nil {
		return nil, err
	}

	admin, err := secrets.NewAdminCertificateAndKey(now, x509.NewCertificateAndKeyFromCertificateAuthority(ca), role.MakeSet(role.Admin), 24*time.Hour)
	if err != nil {
		return nil, err
	}

	c := &Cluster{
		ctx:        ctx,
		nodes:      map[string]*Node{},
		kube:       kube,
		kubeconfig: kubeconfig,
		ca:         ca,
		timeline:   NewTimeline(),
		faults:     map[string]string{},
	}

	endpoints := []string{}

	for _, spec := range specs {
		if spec.Role == "controlplane" {
			endpoints = append(endpoints, spec.IP)
		}
	}

	// clientconfig.NewConfig is what talosctl gen config and the Talos provider write (client/config/config.go).
	talosconfig := clientconfig.NewConfig("simulated", endpoints, ca.CrtPEM, admin)
	if err = os.MkdirAll(filepath.Dir(talosconfigPath), 0o700); err != nil {
		return nil, err
	}

	if err = talosconfig.Save(talosconfigPath); err != nil {
		return nil, err
	}

	if err = c.startWorkloads(); err != nil {
		return nil, err
	}

	for _, spec := range specs {
		if err = c.AddNode(spec); err != nil {
			return nil, err
		}
	}

	return c, nil
}

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

// Shutdown stops every node's listener and waits for the background work.
func (c *Cluster) Shutdown() {
	c.mu.Lock()
	nodes := c.sortedNodes()
	c.mu.Unlock()

	for _, n := range nodes {
		n.stopServing()
	}

	c.wg.Wait()
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

// serverCertificate issues a node's apid certificate for its IP from the Talos CA, as Talos's
// trustd/apid do (a server certificate with the node's addresses as SANs).
func (c *Cluster) serverCertificate(ip string) (*x509.PEMEncodedCertificateAndKey, error) {
	keyPair, err := x509.NewKeyPair(c.ca,
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
