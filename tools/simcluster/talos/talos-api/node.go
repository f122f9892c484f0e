package main

import (
	"context"
	"crypto/tls"
	stdx509 "crypto/x509"
	"errors"
	"fmt"
	"net"
	"regexp"
	"sync"
	"time"

	"github.com/rs/xid"
	"golang.org/x/mod/semver"

	"github.com/cosi-project/runtime/pkg/resource"
	"github.com/cosi-project/runtime/pkg/resource/meta"
	"github.com/cosi-project/runtime/pkg/state"
	"github.com/cosi-project/runtime/pkg/state/impl/inmem"
	"github.com/cosi-project/runtime/pkg/state/impl/namespaced"
	"github.com/cosi-project/runtime/pkg/state/registry"
	"github.com/siderolabs/crypto/x509"
	"github.com/siderolabs/talos/pkg/machinery/api/machine"
	"github.com/siderolabs/talos/pkg/machinery/config/configloader"
	"github.com/siderolabs/talos/pkg/machinery/resources/config"
	"github.com/siderolabs/talos/pkg/machinery/resources/k8s"
	"github.com/siderolabs/talos/pkg/machinery/resources/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// Node is one simulated Talos node. Fields below mu are guarded by the cluster's mutex.
type Node struct {
	cluster *Cluster
	Name    string
	IP      string
	Role    string

	// What runs now, and what the next boot takes: the installed image (LifecycleService.Upgrade writes
	// the new version to disk, internal/app/machined/internal/server/v1alpha1/v1alpha1_lifecycle_server.go)
	// and the persisted config (a STAGED apply only persists, v1alpha1_server.go ApplyConfiguration).
	version, schematic, kubelet string
	nextVersion, nextSchematic  string
	running, persisted          []byte
	bootedWith                  []byte // the config the node last booted into: what its services run with
	bootID                      string
	up, booted, gone            bool   // gone: reset out of the cluster, or its VM deleted
	vmDeleted                   bool   // a reset node's VM stays until Proxmox deletes it
	busy                        string // the sequence that runs, Talos's sequencer lock
	etcdMember                  bool
	talosCA                     *x509.PEMEncodedCertificateAndKey // its apid's CA; nil in maintenance mode
	diskGiB                     int                               // its install disk's size

	resources state.State
	server    *grpc.Server
	events    *eventLog
	mu        sync.Mutex // serialises boots and shutdowns of this node
}

func newNode(c *Cluster, spec NodeSpec) (*Node, error) {
	if spec.Role != "controlplane" && spec.Role != "worker" {
		return nil, fmt.Errorf("node %s: role %q is neither controlplane nor worker", spec.Name, spec.Role)
	}

	if _, err := configloader.NewFromBytes([]byte(spec.Config)); err != nil {
		return nil, fmt.Errorf("node %s: its config does not load: %w", spec.Name, err)
	}

	return &Node{
		cluster:       c,
		Name:          spec.Name,
		IP:            spec.IP,
		Role:          spec.Role,
		version:       spec.Version,
		schematic:     spec.Schematic,
		kubelet:       spec.Kubelet,
		nextVersion:   spec.Version,
		nextSchematic: spec.Schematic,
		running:       []byte(spec.Config),
		persisted:     []byte(spec.Config),
		bootedWith:    []byte(spec.Config),
		etcdMember:    spec.Role == "controlplane",
		talosCA:       c.talosCA,
		events:        newEventLog(),
	}, nil
}

// appliesEverythingLive: the node runs Talos v1.14 or later, whose ApplyConfiguration applies every
// change to the running node (talos v1.14.1 internal/app/machined/internal/server/v1alpha1/
// v1alpha1_server.go: AUTO becomes NO_REBOOT, REBOOT is refused, CanApplyImmediate is gone). What only
// a boot picks up (etcd's settings, machine.files...) then waits in the running config until the next
// boot, which bootedWith tells apart.
func (n *Node) appliesEverythingLive() bool {
	return semver.Compare(semver.MajorMinor(n.version), "v1.14") >= 0
}

// installerImage: an Image Factory installer reference, <registry>/<kind>-installer/<schematic>:<version>
// (siderolabs/image-factory, the installer image path), the image talosctl upgrade --image names.
var installerImage = regexp.MustCompile(`^[^/]+/[a-z0-9-]*installer(?:-secureboot)?/([0-9a-f]+):(v[0-9][^@]*)$`)

// boot brings the node up: a new boot id, what was installed and persisted becomes what runs, the
// resources are rebuilt, the API answers and the kubelet reports Ready (Talos's boot sequence,
// internal/app/machined/pkg/runtime/v1alpha1/v1alpha1_sequencer.go Boot; the boot id is the kernel's
// /proc/sys/kernel/random/boot_id, new at every boot).
func (n *Node) boot() error {
	n.mu.Lock()
	defer n.mu.Unlock()

	c := n.cluster
	keepStaged := c.fault("keep-staged", n)

	c.mu.Lock()
	n.bootID = newID()
	n.version, n.schematic = n.nextVersion, n.nextSchematic

	if !keepStaged {
		n.running = n.persisted
	}
	n.bootedWith = n.running
	n.busy = ""
	n.events = newEventLog()
	provisioned := c.talosCA == nil && n.running != nil
	c.mu.Unlock()

	if provisioned {
		if err := n.identify(); err != nil {
			c.timeline.Add(n.Name, "boot-failed", err.Error())

			return err
		}
	}

	if err := n.buildResources(); err != nil {
		return err
	}

	if err := n.serve(); err != nil {
		return err
	}

	c.mu.Lock()
	n.up = true
	c.mu.Unlock()

	if n.maintenance() {
		return n.enterMaintenance()
	}

	if err := n.setStage(runtime.MachineStageBooting); err != nil {
		return err
	}

	n.emit("", &machine.MachineStatusEvent{Stage: machine.MachineStatusEvent_BOOTING, Status: &machine.MachineStatusEvent_MachineStatus{}})
	n.emit("", &machine.SequenceEvent{Sequence: "boot", Action: machine.SequenceEvent_START})
	n.emit("", &machine.SequenceEvent{Sequence: "boot", Action: machine.SequenceEvent_STOP})

	c.timeline.Add(n.Name, "up", n.version+" "+n.schematic)

	if err := n.kubeletUp(); err != nil {
		c.timeline.Add(n.Name, "kubelet-error", err.Error())
	}

	c.mu.Lock()
	n.booted = true
	c.mu.Unlock()

	// machined reports the machine ready once the boot sequence is done and every service is up
	// (controllers/runtime/machine_status.go); talosctl's --wait looks for exactly this event.
	if err := n.setStage(runtime.MachineStageRunning); err != nil {
		return err
	}

	n.emit("", &machine.MachineStatusEvent{Stage: machine.MachineStatusEvent_RUNNING, Status: &machine.MachineStatusEvent_MachineStatus{Ready: true}})

	return nil
}

// shutdown takes the node down: its API stops answering (open streams end with Unavailable, as
// apid's do when a node goes away), and its kubelet stops posting status, so Kubernetes sees it NotReady.
func (n *Node) shutdown(why string) {
	n.mu.Lock()
	defer n.mu.Unlock()

	c := n.cluster

	// On the timeline before it stops answering, so that whoever sees it not answer finds it there.
	c.timeline.Add(n.Name, "down", why)
	c.mu.Lock()
	n.up, n.booted = false, false
	c.mu.Unlock()

	n.stopServing()
	n.kubeletDown()
}

func (n *Node) stopServing() {
	n.events.close()

	if n.server != nil {
		n.server.Stop()
		n.server = nil
	}
}

// serve starts the node's apid: mTLS with a certificate from its Talos CA, client certificates required
// and checked against that CA (apid's TLS config, internal/app/apid/main.go); in maintenance mode a
// self-signed certificate and no client certificate (provision.go).
func (n *Node) serve() error {
	var (
		creds grpc.ServerOption
		err   error
	)

	if n.maintenance() {
		creds, err = maintenanceCredentials(n.IP)
	} else {
		creds, err = n.credentials()
	}

	if err != nil {
		return err
	}

	var listener net.Listener

	// A port stays in TIME_WAIT briefly after a reboot's Stop; retry the bind for a moment.
	for attempt := 0; ; attempt++ {
		listener, err = net.Listen("tcp", net.JoinHostPort(n.IP, "50000"))
		if err == nil || attempt == 50 {
			break
		}

		time.Sleep(100 * time.Millisecond)
	}

	if err != nil {
		return fmt.Errorf("node %s: %w", n.Name, err)
	}

	options := []grpc.ServerOption{creds}
	if n.maintenance() {
		options = append(options, grpc.UnaryInterceptor(maintenanceUnary), grpc.StreamInterceptor(maintenanceStream))
	}

	n.server = grpc.NewServer(options...)
	registerServices(n.server, n.cluster, n)

	go n.server.Serve(listener) //nolint:errcheck

	return nil
}

func (n *Node) credentials() (grpc.ServerOption, error) {
	cert, err := serverCertificate(n.IP, n.talosCA)
	if err != nil {
		return nil, err
	}

	pair, err := tls.X509KeyPair(cert.Crt, cert.Key)
	if err != nil {
		return nil, err
	}

	pool := stdx509.NewCertPool()
	pool.AppendCertsFromPEM(n.talosCA.Crt)

	return grpc.Creds(credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{pair},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS13,
	})), nil
}

// maintenance: the node booted from the ISO and has no config yet.
func (n *Node) maintenance() bool {
	n.cluster.mu.Lock()
	defer n.cluster.mu.Unlock()

	return n.running == nil
}

// buildResources fills the node's COSI state with the resources talosctl reads, typed as Talos's own
// (pkg/machinery/resources), their definitions registered as machined registers them.
func (n *Node) buildResources() error {
	n.cluster.mu.Lock()
	running, persisted, version, schematicID := n.running, n.persisted, n.version, n.schematic
	n.cluster.mu.Unlock()

	ctx := context.Background()
	st := state.WrapCore(namespaced.NewState(inmem.Build))
	reg := registry.NewResourceRegistry(st)

	for _, r := range []meta.ResourceWithRD{
		&runtime.Version{}, &runtime.ExtensionStatus{}, &runtime.MachineStatus{},
		&config.MachineConfig{}, &k8s.Nodename{},
	} {
		if err := reg.Register(ctx, r); err != nil {
			return err
		}
	}

	versionRes := runtime.NewVersion()
	versionRes.TypedSpec().Version = version
	versionRes.TypedSpec().Name = "Talos"

	// Image Factory's schematic extension: name "schematic", version the schematic id
	// (siderolabs/image-factory internal/schematic, the extension it adds to every image).
	schematic := runtime.NewExtensionStatus(runtime.NamespaceName, "0")
	schematic.TypedSpec().Image = "schematic.sqsh"
	schematic.TypedSpec().Metadata.Name = "schematic"
	schematic.TypedSpec().Metadata.Version = schematicID

	nodename := k8s.NewNodename(k8s.NamespaceName, k8s.NodenameID)
	nodename.TypedSpec().Nodename = n.Name

	list := []resource.Resource{versionRes, schematic}

	// In maintenance mode there is no config, and no node name.
	if running != nil {
		cfg, err := configloader.NewFromBytes(running)
		if err != nil {
			return err
		}

		// The running config is MachineConfig "v1alpha1"; the persisted one only exists while it differs
		// (resources/config/machine_config.go; controllers/config/acquire.go after a boot from disk).
		list = append(list, nodename, config.NewMachineConfigWithID(cfg, config.ActiveID))
	}

	if running != nil && string(persisted) != string(running) {
		staged, err := configloader.NewFromBytes(persisted)
		if err != nil {
			return err
		}

		list = append(list, config.NewMachineConfigWithID(staged, config.PersistentID))
	}

	for _, r := range list {
		if err := st.Create(ctx, r); err != nil {
			return err
		}
	}

	n.resources = st

	return nil
}

// setStage records the node's MachineStatus as machined's MachineStatusController does (v1.13.9
// internal/app/machined/pkg/controllers/runtime/machine_status.go): the stage the running sequence
// implies; readiness checked only while booting or running, where a kubelet that is not Ready is the
// unmet "nodeReady" condition (the "stay-notready" fault); every other stage reports ready.
func (n *Node) setStage(stage runtime.MachineStage) error {
	c := n.cluster
	c.mu.Lock()
	st := n.resources
	c.mu.Unlock()

	status := runtime.NewMachineStatus()
	status.TypedSpec().Stage = stage
	status.TypedSpec().Status.Ready = true

	if (stage == runtime.MachineStageBooting || stage == runtime.MachineStageRunning) && c.fault("stay-notready", n) {
		status.TypedSpec().Status.Ready = false
		status.TypedSpec().Status.UnmetConditions = []runtime.UnmetCondition{
			{Name: "nodeReady", Reason: fmt.Sprintf("node %q is not ready", n.Name)},
		}
	}

	return put(st, status)
}

// persist writes a config to disk: the persisted MachineConfig resource, next boot's config.
func (n *Node) persist(data []byte) error {
	cfg, err := configloader.NewFromBytes(data)
	if err != nil {
		return err
	}

	n.cluster.mu.Lock()
	n.persisted = data
	st := n.resources
	n.cluster.mu.Unlock()

	return put(st, config.NewMachineConfigWithID(cfg, config.PersistentID))
}

// applyLive makes a config the running one without a reboot (NO_REBOOT / AUTO applied immediately).
func (n *Node) applyLive(data []byte) error {
	cfg, err := configloader.NewFromBytes(data)
	if err != nil {
		return err
	}

	n.cluster.mu.Lock()
	n.running, n.persisted = data, data
	st := n.resources
	n.cluster.mu.Unlock()

	if err = put(st, config.NewMachineConfigWithID(cfg, config.ActiveID)); err != nil {
		return err
	}

	err = st.Destroy(context.Background(), config.NewMachineConfigWithID(cfg, config.PersistentID).Metadata())
	if err != nil && !state.IsNotFoundError(err) {
		return err
	}

	return nil
}

// put creates a resource, or updates it over the version the state holds.
func put(st state.State, res resource.Resource) error {
	ctx := context.Background()

	err := st.Create(ctx, res)
	if !state.IsConflictError(err) {
		return err
	}

	current, err := st.Get(ctx, res.Metadata())
	if err != nil {
		return err
	}

	res.Metadata().SetVersion(current.Metadata().Version())

	return st.Update(ctx, res)
}

// lock takes Talos's sequencer lock: one sequence at a time ("locked" in
// internal/app/machined/pkg/runtime/v1alpha1/v1alpha1_controller.go runs a sequence only if none runs).
func (n *Node) lock(sequence string) error {
	n.cluster.mu.Lock()
	defer n.cluster.mu.Unlock()

	if n.busy != "" {
		return status.Errorf(codes.Unavailable, "%s: another sequence (%s) is running", n.Name, n.busy)
	}

	n.busy = sequence

	return nil
}

// reboot runs the reboot sequence in the background: stop services, go down, boot
// (v1alpha1_sequencer.go Reboot: no drain, no etcd step).
func (n *Node) reboot(actor string) {
	c := n.cluster
	c.wg.Add(1)

	go func() {
		defer c.wg.Done()

		n.emit(actor, &machine.SequenceEvent{Sequence: "reboot", Action: machine.SequenceEvent_START})
		n.setStage(runtime.MachineStageRebooting) //nolint:errcheck // the state is in memory
		n.emit(actor, &machine.MachineStatusEvent{Stage: machine.MachineStatusEvent_REBOOTING, Status: &machine.MachineStatusEvent_MachineStatus{}})
		n.emit(actor, &machine.TaskEvent{Task: "stopAllServices", Action: machine.TaskEvent_START})
		time.Sleep(shutdownDelay)

		if c.fault("fail-reboot", n) {
			// The sequence fails before the node goes down (a task error ends the sequence with its error).
			n.emit(actor, &machine.SequenceEvent{Sequence: "reboot", Action: machine.SequenceEvent_STOP, Error: sequenceError("injected reboot failure")})
			c.mu.Lock()
			n.busy = ""
			c.mu.Unlock()
			c.timeline.Add(n.Name, "reboot-failed", "")

			return
		}

		n.shutdown("reboot")

		select {
		case <-time.After(downTime):
		case <-c.ctx.Done():
			return
		}

		n.boot() //nolint:errcheck
	}()
}

// emit appends an event to the node's log, as machined's event stream does
// (internal/app/machined/pkg/runtime/v1alpha1/v1alpha1_events.go), with the payload's type URL
// "talos/runtime/<message full name>" (client/events.go reads it back by that name).
func (n *Node) emit(actor string, payload proto.Message) {
	value, err := proto.Marshal(payload)
	if err != nil {
		panic(err)
	}

	n.events.add(&machine.Event{
		Id:      xid.New().String(), // machined's event ids: xid.New() (pkg/runtime/events.go), ordered across boots
		ActorId: actor,
		Data: &anypb.Any{
			TypeUrl: "talos/runtime/" + string(payload.ProtoReflect().Descriptor().FullName()),
			Value:   value,
		},
	})
}

// unavailable is what the endpoint's apid answers for a node that does not answer.
func unavailable(n *Node) error {
	return status.Errorf(codes.Unavailable, "connection error: desc = \"transport: Error while dialing: dial tcp %s:50000: connect: connection refused\"", n.IP)
}

var errGone = errors.New("the node was reset")
