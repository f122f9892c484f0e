package main

// A cluster provisioned as a real one is (Options without Nodes): a VM booted from the Talos ISO comes up
// in maintenance mode, takes its machine config over the API without credentials, installs and reboots
// into it; its apid then serves with the Talos CA of that config; a control plane's bootstrap starts etcd
// and Kubernetes, with the Kubernetes CA and service account key of its config. Sources: talos v1.13.9
// (v1.14.1 the same where cited for both).

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/siderolabs/crypto/x509"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	cosiapi "github.com/cosi-project/runtime/api/v1alpha1"
	"github.com/siderolabs/talos/pkg/machinery/api/cluster"
	"github.com/siderolabs/talos/pkg/machinery/api/machine"
	"github.com/siderolabs/talos/pkg/machinery/api/storage"
	talosconfig "github.com/siderolabs/talos/pkg/machinery/config/config"
	"github.com/siderolabs/talos/pkg/machinery/config/configloader"
	"github.com/siderolabs/talos/pkg/machinery/resources/runtime"
)

// MachineSpec is a VM booted from the Talos ISO: its name, the address its cloud-init network config
// gives it, and the ISO: one downloaded to Proxmox (ISO, its file id), or its Talos version and Image
// Factory schematic.
type MachineSpec struct {
	Name      string `json:"name"`
	IP        string `json:"ip"`
	ISO       string `json:"iso,omitempty"`
	Version   string `json:"version,omitempty"`
	Schematic string `json:"schematic,omitempty"`
	DiskGiB   int    `json:"diskGiB,omitempty"` // the install disk's size
}

// ISO is an image downloaded to a Proxmox datastore: its file id and the URL it came from.
type ISO struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

// factoryISO: an Image Factory ISO URL, <factory>/image/<schematic id>/<version>/<platform>-<arch>.iso
// (siderolabs/image-factory v1.1.0 internal/frontend/http: the image route).
var factoryISO = regexp.MustCompile(`^https://[^/]+/image/([0-9a-f]{64})/(v\d+\.\d+\.\d+[^/]*)/[a-z0-9]+-(amd64|arm64)\.iso$`)

// AddISO records an ISO a Proxmox datastore downloaded.
func (c *Cluster) AddISO(iso ISO) error {
	match := factoryISO.FindStringSubmatch(iso.URL)
	if match == nil || iso.ID == "" {
		return fmt.Errorf("ISO %q from %q: the stand-in boots only Image Factory ISOs (<factory>/image/<schematic>/<version>/<platform>-<arch>.iso)", iso.ID, iso.URL)
	}

	c.mu.Lock()
	c.isos[iso.ID] = MachineSpec{Schematic: match[1], Version: match[2]}
	c.mu.Unlock()
	c.timeline.Add("", "iso-downloaded", iso.ID+" "+match[2]+" "+match[1])

	return nil
}

// AddMachine boots a VM from the ISO: a node in maintenance mode at its address. An address whose node
// was deleted or reset may be taken again (a replaced VM).
func (c *Cluster) AddMachine(spec MachineSpec) error {
	ip := net.ParseIP(spec.IP)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("machine %s: %q is not a loopback address; the stand-in listens on 127.0.0.0/8 only", spec.Name, spec.IP)
	}

	if spec.ISO != "" {
		c.mu.Lock()
		iso, known := c.isos[spec.ISO]
		c.mu.Unlock()

		if !known {
			return fmt.Errorf("machine %s: its CD-ROM holds %s, which no datastore downloaded", spec.Name, spec.ISO)
		}

		spec.Version, spec.Schematic = iso.Version, iso.Schematic
	}

	if c.talosCA != nil {
		return fmt.Errorf("machine %s: this cluster runs given nodes; machines boot only into a cluster started without them", spec.Name)
	}

	n := &Node{
		cluster: c, Name: spec.Name, IP: spec.IP,
		version: spec.Version, schematic: spec.Schematic, nextVersion: spec.Version, nextSchematic: spec.Schematic,
		diskGiB: spec.DiskGiB, events: newEventLog(),
	}

	c.mu.Lock()
	if old, taken := c.nodes[spec.IP]; taken && !old.gone {
		c.mu.Unlock()

		return fmt.Errorf("machine %s: %s is taken by %s", spec.Name, spec.IP, old.Name)
	}

	c.nodes[spec.IP] = n
	c.mu.Unlock()

	return n.boot()
}

// DeleteMachine stops a VM and deletes it: the node goes down for good.
func (c *Cluster) DeleteMachine(ip string) error {
	n := c.node(ip)
	if n == nil {
		return fmt.Errorf("no machine at %s", ip)
	}

	c.mu.Lock()
	deleted, up := n.vmDeleted, n.up
	n.gone, n.vmDeleted = true, true
	c.mu.Unlock()

	if deleted {
		return nil
	}

	if up {
		n.shutdown("vm-deleted")
	}

	c.timeline.Add(n.Name, "vm-deleted", "")

	return nil
}

// RebootMachine reboots a VM as Proxmox does after an update that needs it (bpg v0.111.1
// proxmoxtf/resource/vm/vm.go vmUpdate: rebootRequired and reboot_after_update reboot the VM through the
// API): the guest's own reboot sequence, which drains nothing (v1alpha1_sequencer.go Reboot). A node in
// maintenance mode boots from the ISO again.
func (c *Cluster) RebootMachine(ip string) error {
	n := c.node(ip)
	if n == nil {
		return fmt.Errorf("no machine at %s", ip)
	}

	c.mu.Lock()
	gone, up := n.gone, n.up
	c.mu.Unlock()

	if gone || !up {
		return fmt.Errorf("the machine at %s is not running", ip)
	}

	if err := n.lock("reboot"); err != nil {
		return err
	}

	c.timeline.Add(n.Name, "vm-reboot", "")
	n.reboot(newID())

	return nil
}

// enterMaintenance: with no config, the boot stops in maintenance mode and waits for one
// (v1alpha1_sequencer.go Initialize: the config is acquired from the maintenance service).
func (n *Node) enterMaintenance() error {
	if err := n.setStage(runtime.MachineStageMaintenance); err != nil {
		return err
	}

	n.emit("", &machine.MachineStatusEvent{Stage: machine.MachineStatusEvent_MAINTENANCE, Status: &machine.MachineStatusEvent_MachineStatus{Ready: true}})
	n.cluster.timeline.Add(n.Name, "maintenance", n.version+" "+n.schematic)

	return nil
}

// maintenanceCredentials: the maintenance API serves a certificate of its own maintenance root CA and
// verifies no client certificate (controllers/secrets/api.go reconcileMaintenance;
// controllers/runtime/api_service_config.go: SkipVerifyingClientCert), so talosctl --insecure reaches it.
func maintenanceCredentials(ip string) (grpc.ServerOption, error) {
	root, err := x509.NewSelfSignedCertificateAuthority(x509.ECDSA(true))
	if err != nil {
		return nil, err
	}

	cert, err := serverCertificate(ip, x509.NewCertificateAndKeyFromCertificateAuthority(root))
	if err != nil {
		return nil, err
	}

	pair, err := tls.X509KeyPair(cert.Crt, cert.Key)
	if err != nil {
		return nil, err
	}

	return grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12})), nil
}

// maintenanceMethods: what a client without credentials may call in maintenance mode, of what the
// stand-in serves. apid gives it the reader role there (api_service_config.go: ReadonlyRoleMode;
// apid/service.go: authz.ReadOnlyWithAdminOnSiderolink), and machined's rules let a reader call these,
// ApplyConfiguration "for maintenance only" (machined/pkg/system/services/machined.go rules).
var maintenanceMethods = map[string]bool{
	machine.MachineService_Version_FullMethodName:            true,
	machine.MachineService_ApplyConfiguration_FullMethodName: true,
	machine.MachineService_Events_FullMethodName:             true,
	machine.MachineService_EtcdMemberList_FullMethodName:     true,
	machine.MachineService_EtcdStatus_FullMethodName:         true,
	cluster.ClusterService_HealthCheck_FullMethodName:        true,
	storage.StorageService_Disks_FullMethodName:              true,
	cosiapi.State_Get_FullMethodName:                         true,
	cosiapi.State_List_FullMethodName:                        true,
	cosiapi.State_Watch_FullMethodName:                       true,
}

// errNotAuthorized is Talos's authorizer's refusal (pkg/grpc/middleware/authz/authorizer.go).
var errNotAuthorized = status.Error(codes.PermissionDenied, "not authorized")

func maintenanceUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if !maintenanceMethods[info.FullMethod] {
		return nil, errNotAuthorized
	}

	return handler(ctx, req)
}

func maintenanceStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if !maintenanceMethods[info.FullMethod] {
		return errNotAuthorized
	}

	return handler(srv, ss)
}

// applyInMaintenance takes a node's first config: REBOOT is NO_REBOOT there; STAGED only persists it;
// every other mode makes it the node's config, and the boot goes on: it installs to disk and reboots into
// it (v1alpha1_server.go ApplyConfiguration with inMaintenance; v1alpha1_sequencer.go Install). The
// provider's and talosctl's apply return before the node has installed.
func (n *Node) applyInMaintenance(req *machine.ApplyConfigurationRequest) (*machine.ApplyConfigurationResponse, error) {
	cfg, err := configloader.NewFromBytes(req.GetData())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}

	if cfg.RawV1Alpha1() == nil || cfg.Machine() == nil {
		return nil, status.Error(codes.InvalidArgument, "the stand-in installs only from a v1alpha1 machine config")
	}

	mode := req.GetMode()
	if mode == machine.ApplyConfigurationRequest_REBOOT {
		mode = machine.ApplyConfigurationRequest_NO_REBOOT
	}

	details := "Applied configuration without a reboot"
	if mode == machine.ApplyConfigurationRequest_STAGED {
		details = "Staged configuration to be applied after the next reboot"
	}

	reply := &machine.ApplyConfigurationResponse{Messages: []*machine.ApplyConfiguration{{Metadata: hostMeta(n), Mode: mode, ModeDetails: details}}}
	if req.GetDryRun() {
		reply.Messages[0].ModeDetails = "Dry run: " + details

		return reply, nil
	}

	installVersion, installSchematic, err := installedBy(cfg.Machine().Install().Image())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}

	if err = n.lock("install"); err != nil {
		return nil, err
	}

	c := n.cluster
	c.mu.Lock()
	n.persisted = req.GetData()

	if installVersion != "" {
		n.nextVersion, n.nextSchematic = installVersion, installSchematic
	}
	c.mu.Unlock()

	if mode == machine.ApplyConfigurationRequest_STAGED {
		c.mu.Lock()
		n.busy = ""
		c.mu.Unlock()
		c.timeline.Add(n.Name, "config-staged", "")

		return reply, nil
	}

	c.timeline.Add(n.Name, "config-applied", "maintenance")
	c.wg.Add(1)

	go func() {
		defer c.wg.Done()

		n.setStage(runtime.MachineStageInstalling) //nolint:errcheck // the state is in memory
		n.emit("", &machine.MachineStatusEvent{Stage: machine.MachineStatusEvent_INSTALLING, Status: &machine.MachineStatusEvent_MachineStatus{}})
		c.timeline.Add(n.Name, "installing", n.nextVersion+" "+n.nextSchematic)
		time.Sleep(shutdownDelay)
		n.shutdown("install")

		select {
		case <-time.After(downTime):
		case <-c.ctx.Done():
			return
		}

		n.boot() //nolint:errcheck // a failed boot is on the timeline
	}()

	return reply, nil
}

// officialInstaller: Sidero's own installer image, <registry>/siderolabs/installer:<version>, the image
// of the empty schematic (talosctl gen config's default, pkg/machinery/gendata and pkg/images).
var officialInstaller = regexp.MustCompile(`^[^/]+/siderolabs/installer:(v[0-9][^@]*)$`)

// emptySchematic: the Image Factory id of the schematic without customizations, whose images are
// Sidero's own (siderolabs/image-factory: the id of an empty schematic's canonical YAML).
const emptySchematic = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba"

// installedBy: the Talos version and schematic an install from maintenance mode puts on disk. Talos runs
// the installer of the config's machine.install.image, whatever the ISO booted (talos v1.14.1
// internal/app/machined/pkg/runtime/v1alpha1/v1alpha1_sequencer_tasks.go Install: RunInstallerContainer
// with Install().Image()); without one, its own version's installer, which keeps the ISO's ("" here).
func installedBy(image string) (version, schematic string, err error) {
	if image == "" {
		return "", "", nil
	}

	if match := installerImage.FindStringSubmatch(image); match != nil {
		return match[2], match[1], nil
	}

	if match := officialInstaller.FindStringSubmatch(image); match != nil {
		return match[1], emptySchematic, nil
	}

	return "", "", fmt.Errorf("machine.install.image %q: the stand-in installs only Image Factory installers (<registry>/<platform>-installer/<schematic>:<version>) and Sidero's (<registry>/siderolabs/installer:<version>)", image)
}

// identify: a node booting into its config takes from it its role, its hostname (hostname below), its
// kubelet's version (machine.kubelet.image's tag) and its Talos CA. A control plane's config holds the
// CA's key; a worker's only its certificate, and its apid certificate comes from trustd on a control
// plane (apid's remote certificate provider), so it waits until a control plane of that CA has booted.
func (n *Node) identify() error {
	c := n.cluster

	c.mu.Lock()
	running := n.running
	c.mu.Unlock()

	cfg, err := configloader.NewFromBytes(running)
	if err != nil {
		return err
	}

	role := "worker"
	if cfg.Machine().Type().IsControlPlane() {
		role = "controlplane"
	}

	name := n.Name
	if h := hostname(cfg); h != "" {
		name = h
	}

	kubelet := n.kubelet
	if image := cfg.Machine().Kubelet().Image(); strings.Contains(image, ":") {
		kubelet = image[strings.LastIndex(image, ":")+1:]
	}

	ca := cfg.Machine().Security().IssuingCA()
	if ca == nil || len(ca.Crt) == 0 {
		return fmt.Errorf("its config has no machine.ca")
	}

	key := ca.Key
	for waited := false; len(key) == 0; waited = true {
		c.mu.Lock()
		key = c.caKeys[string(ca.Crt)]
		c.mu.Unlock()

		if len(key) > 0 {
			break
		}

		if !waited {
			c.timeline.Add(name, "waiting-for-trustd", "")
		}

		select {
		case <-c.ctx.Done():
			return c.ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}

	c.mu.Lock()
	defer c.mu.Unlock()

	if len(ca.Key) > 0 {
		c.caKeys[string(ca.Crt)] = ca.Key
	}

	n.Name, n.Role, n.kubelet = name, role, kubelet
	n.talosCA = &x509.PEMEncodedCertificateAndKey{Crt: ca.Crt, Key: key}

	c.kubeMu.RLock()
	n.etcdMember = role == "controlplane" && c.bootstrapped // a control plane joins a running etcd
	c.kubeMu.RUnlock()

	return nil
}

// hostname: the HostnameConfig document's, else the v1alpha1 machine.network.hostname (machinery
// v1.13.9 config/container/container.go NetworkHostnameConfig falls back to it).
func hostname(cfg talosconfig.Config) string {
	if h := cfg.NetworkHostnameConfig(); h != nil {
		return h.Hostname()
	}

	return ""
}

// Bootstrap starts etcd on this control plane and with it Kubernetes (v1alpha1_server.go Bootstrap:
// control planes only; refused once etcd has data). The stand-in's Kubernetes is the cluster's
// apiserver at the config's endpoint, with the config's Kubernetes CA and service account key; once it
// is ready every node that has booted registers, and every booted control plane joins etcd.
func (a machineService) Bootstrap(ctx context.Context, _ *machine.BootstrapRequest) (*machine.BootstrapResponse, error) {
	n, err := a.target(ctx)
	if err != nil {
		return nil, err
	}

	c := a.cluster

	if n.Role != "controlplane" {
		return nil, status.Errorf(codes.Unimplemented, "bootstrap is only available on control plane nodes")
	}

	pki, err := n.configPKI()
	if err != nil {
		return nil, err
	}

	if len(pki.saKey) == 0 {
		return nil, status.Error(codes.FailedPrecondition, "the config has no cluster.serviceAccount key")
	}

	c.kubeMu.Lock()
	if c.bootstrapped {
		c.kubeMu.Unlock()

		return nil, status.Error(codes.AlreadyExists, "etcd data directory is not empty")
	}

	c.bootstrapped = true
	c.kubeMu.Unlock()

	c.mu.Lock()
	n.etcdMember = true
	c.mu.Unlock()
	c.timeline.Add(n.Name, "bootstrap", "via "+a.endpoint.IP)
	c.wg.Add(1)

	go func() {
		defer c.wg.Done()

		if err := c.runKubernetes(pki); err != nil {
			c.timeline.Add(n.Name, "bootstrap-failed", err.Error())

			return
		}

		c.mu.Lock()
		nodes := c.sortedNodes()
		c.mu.Unlock()

		for _, node := range nodes {
			c.mu.Lock()
			booted := node.booted && !node.gone
			if booted && node.Role == "controlplane" {
				node.etcdMember = true
			}
			c.mu.Unlock()

			if booted {
				if err := node.kubeletUp(); err != nil {
					c.timeline.Add(node.Name, "kubelet-error", err.Error())
				}
			}
		}

		c.timeline.Add(n.Name, "kubernetes-up", pki.endpoint.String())
	}()

	return &machine.BootstrapResponse{Messages: []*machine.Bootstrap{{Metadata: hostMeta(n)}}}, nil
}

// adminKubeconfig is what the Kubeconfig API of node n serves: for a cluster of given nodes, the one of
// its apiserver; else generated from n's config, as machined does.
func (c *Cluster) adminKubeconfig(n *Node) ([]byte, error) {
	if c.talosCA != nil {
		c.kubeMu.RLock()
		defer c.kubeMu.RUnlock()

		return c.kubeconfig, nil
	}

	pki, err := n.configPKI()
	if err != nil {
		return nil, err
	}

	return pki.kubeconfig, nil
}

// configPKI is the Kubernetes PKI of the config node n runs: its cluster endpoint, Kubernetes CA and
// service account key.
func (n *Node) configPKI() (*kubernetesPKI, error) {
	n.cluster.mu.Lock()
	running := n.running
	n.cluster.mu.Unlock()

	cfg, err := configloader.NewFromBytes(running)
	if err != nil {
		return nil, err
	}

	spec := cfg.Cluster()

	var saKey []byte
	if sa := spec.ServiceAccount(); sa != nil {
		saKey = sa.Key
	}

	pki, err := newKubernetesPKI(spec.Endpoint(), spec.Name(), spec.IssuingCA(), saKey)
	if err != nil {
		return nil, status.Error(codes.FailedPrecondition, err.Error())
	}

	return pki, nil
}
