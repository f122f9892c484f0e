package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"hash/fnv"
	"net"
	"reflect"
	"strings"
	"time"

	cosiapi "github.com/cosi-project/runtime/api/v1alpha1"
	cosiserver "github.com/cosi-project/runtime/pkg/state/protobuf/server"
	"github.com/rs/xid"
	"github.com/siderolabs/talos/pkg/machinery/api/cluster"
	"github.com/siderolabs/talos/pkg/machinery/api/common"
	"github.com/siderolabs/talos/pkg/machinery/api/machine"
	"github.com/siderolabs/talos/pkg/machinery/api/storage"
	"github.com/siderolabs/talos/pkg/machinery/config/configloader"
	"github.com/siderolabs/talos/pkg/machinery/resources/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// api serves one node's listener. Calls go to the node the "node" or "nodes" gRPC metadata names, or to
// the listener's own node without it: apid's routing (internal/app/apid/pkg/director/director.go).
type api struct {
	cluster  *Cluster
	endpoint *Node
}

// One type per service: their method names overlap (List, Upgrade).
type (
	machineService struct {
		machine.UnimplementedMachineServiceServer
		*api
	}
	imageService struct {
		machine.UnimplementedImageServiceServer
		*api
	}
	lifecycleService struct {
		machine.UnimplementedLifecycleServiceServer
		*api
	}
	clusterService struct {
		cluster.UnimplementedClusterServiceServer
		*api
	}
	stateService struct {
		cosiapi.UnimplementedStateServer
		*api
	}
	storageService struct {
		storage.UnimplementedStorageServiceServer
		*api
	}
)

func registerServices(s *grpc.Server, c *Cluster, n *Node) {
	a := &api{cluster: c, endpoint: n}
	machine.RegisterMachineServiceServer(s, machineService{api: a})
	machine.RegisterImageServiceServer(s, imageService{api: a})
	machine.RegisterLifecycleServiceServer(s, lifecycleService{api: a})
	cluster.RegisterClusterServiceServer(s, clusterService{api: a})
	cosiapi.RegisterStateServer(s, stateService{api: a})
	storage.RegisterStorageServiceServer(s, storageService{api: a})
}

// Disks lists the VM's disks as storaged does from its block devices (talos v1.13.9
// internal/app/storaged/server.go Disks): the install disk, scsi0 (/dev/sda, an SSD; the system disk
// once Talos has installed to it) and the ISO's CD-ROM. The Talos provider calls it, without credentials,
// to tell a node in maintenance mode from a configured one (terraform-provider-talos v0.11.0
// pkg/talos/util.go talosClientOp).
func (a storageService) Disks(ctx context.Context, _ *emptypb.Empty) (*storage.DisksResponse, error) {
	n, err := a.target(ctx)
	if err != nil {
		return nil, err
	}

	a.cluster.mu.Lock()
	installed, size := n.running != nil, n.diskGiB
	a.cluster.mu.Unlock()

	return &storage.DisksResponse{Messages: []*storage.Disks{{
		Metadata: hostMeta(n),
		Disks: []*storage.Disk{
			{DeviceName: "/dev/sda", Name: "QEMU HARDDISK", Size: uint64(size) << 30, Type: storage.Disk_SSD, SystemDisk: installed},
			{DeviceName: "/dev/sr0", Name: "QEMU DVD-ROM", Type: storage.Disk_CD, Readonly: true},
		},
	}}}, nil
}

// target resolves the node a call is for, and fails as apid does when it does not answer.
func (a *api) target(ctx context.Context) (*Node, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	names := append(md.Get("node"), md.Get("nodes")...)

	var ip string

	switch len(names) {
	case 0:
		ip = a.endpoint.IP
	case 1:
		ip = names[0]
	default:
		return nil, status.Errorf(codes.InvalidArgument, "the stand-in routes a call to one node, not %v", names)
	}

	if host, _, err := net.SplitHostPort(ip); err == nil {
		ip = host
	}

	n := a.cluster.node(ip)
	if n == nil {
		return nil, status.Errorf(codes.Unavailable, "connection error: desc = \"transport: Error while dialing: dial tcp %s:50000: connect: connection refused\"", ip)
	}

	if !a.cluster.answers(n) {
		return nil, unavailable(n)
	}

	return n, nil
}

func hostMeta(n *Node) *common.Metadata { return &common.Metadata{Hostname: n.IP} }

// Version: the running Talos version (MachineService.Version, v1alpha1_server.go).
func (a machineService) Version(ctx context.Context, _ *emptypb.Empty) (*machine.VersionResponse, error) {
	n, err := a.target(ctx)
	if err != nil {
		return nil, err
	}

	a.cluster.mu.Lock()
	version := n.version
	a.cluster.mu.Unlock()

	return &machine.VersionResponse{Messages: []*machine.Version{{
		Metadata: hostMeta(n),
		Version:  &machine.VersionInfo{Tag: version, Os: "linux", Arch: "amd64"},
		Platform: &machine.PlatformInfo{Name: "nocloud", Mode: "cloud"},
	}}}, nil
}

// Kubeconfig: the admin kubeconfig as a .tar.gz holding one file, "kubeconfig"; control planes only
// (v1alpha1_server.go Kubeconfig, machinehelper.CheckControlplane). machined generates it from the
// node's config (its cluster endpoint and Kubernetes CA), bootstrapped or not.
func (a machineService) Kubeconfig(_ *emptypb.Empty, srv grpc.ServerStreamingServer[common.Data]) error {
	n, err := a.target(srv.Context())
	if err != nil {
		return err
	}

	if n.Role != "controlplane" {
		return status.Errorf(codes.Unimplemented, "kubeconfig is only available on control plane nodes")
	}

	kubeconfig, err := a.cluster.adminKubeconfig(n)
	if err != nil {
		return err
	}

	var buf bytes.Buffer

	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)

	if err = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "kubeconfig", Size: int64(len(kubeconfig)), Mode: 0o600, ModTime: time.Now()}); err != nil {
		return err
	}

	if _, err = tw.Write(kubeconfig); err != nil {
		return err
	}

	tw.Close() //nolint:errcheck
	gz.Close() //nolint:errcheck

	return srv.Send(&common.Data{Metadata: hostMeta(n), Bytes: buf.Bytes()})
}

// Read serves only the boot id, which talosctl's --wait reads before and after an action
// (cmd/talosctl/pkg/talos/action/tracker.go getBootID).
func (a machineService) Read(req *machine.ReadRequest, srv grpc.ServerStreamingServer[common.Data]) error {
	n, err := a.target(srv.Context())
	if err != nil {
		return err
	}

	if req.GetPath() != "/proc/sys/kernel/random/boot_id" {
		return status.Errorf(codes.Unimplemented, "the stand-in reads only /proc/sys/kernel/random/boot_id, not %s", req.GetPath())
	}

	a.cluster.mu.Lock()
	bootID := n.bootID
	a.cluster.mu.Unlock()

	return srv.Send(&common.Data{Metadata: hostMeta(n), Bytes: []byte(bootID + "\n")})
}

// Events streams the node's events since boot per tail_events, and ends with Unavailable when the node
// goes down, as the stream through apid does.
func (a machineService) Events(req *machine.EventsRequest, srv grpc.ServerStreamingServer[machine.Event]) error {
	n, err := a.target(srv.Context())
	if err != nil {
		return err
	}

	a.cluster.mu.Lock()
	log := n.events
	a.cluster.mu.Unlock()

	var tailID xid.ID

	if req.GetTailEvents() == 0 && req.GetTailId() != "" {
		if tailID, err = xid.FromString(req.GetTailId()); err != nil {
			return status.Errorf(codes.InvalidArgument, "error parsing tail_id: %v", err)
		}
	}

	backlog, ch, done := log.subscribe(req.GetTailEvents(), tailID)
	defer log.unsubscribe(ch)

	send := func(e *machine.Event) error {
		e = &machine.Event{Metadata: hostMeta(n), Data: e.Data, Id: e.Id, ActorId: e.ActorId}
		if req.GetWithActorId() != "" && e.ActorId != req.GetWithActorId() {
			return nil
		}

		return srv.Send(e)
	}

	for _, e := range backlog {
		if err = send(e); err != nil {
			return err
		}
	}

	for {
		select {
		case e := <-ch:
			if err = send(e); err != nil {
				return err
			}
		case <-done:
			return unavailable(n)
		case <-srv.Context().Done():
			return srv.Context().Err()
		}
	}
}

// Reboot starts the reboot sequence and returns its actor id (v1alpha1_server.go Reboot).
func (a machineService) Reboot(ctx context.Context, _ *machine.RebootRequest) (*machine.RebootResponse, error) {
	n, err := a.target(ctx)
	if err != nil {
		return nil, err
	}

	if err = n.lock("reboot"); err != nil {
		return nil, err
	}

	actor := newID()
	a.cluster.timeline.Add(n.Name, "reboot-start", "via "+a.endpoint.IP)
	n.reboot(actor)

	return &machine.RebootResponse{Messages: []*machine.Reboot{{Metadata: hostMeta(n), ActorId: actor}}}, nil
}

// Reset runs the reset sequence (v1alpha1_sequencer.go Reset). Graceful: cordon and drain, with a drain
// error only logged (taskErrorHandler(logError, CordonAndDrainNode)); a control plane leaves etcd; then
// stopAllServices, the event talosctl reset --wait ends at; then the node wipes and stays down
// (--reboot=false). It does not delete the Node object: nothing in the sequence does.
func (a machineService) Reset(ctx context.Context, req *machine.ResetRequest) (*machine.ResetResponse, error) {
	n, err := a.target(ctx)
	if err != nil {
		return nil, err
	}

	if err = n.lock("reset"); err != nil {
		return nil, err
	}

	actor := newID()
	c := a.cluster
	c.timeline.Add(n.Name, "reset-start", "via "+a.endpoint.IP)
	c.wg.Add(1)

	go func() {
		defer c.wg.Done()

		n.setStage(runtime.MachineStageResetting) //nolint:errcheck // the state is in memory
		n.emit(actor, &machine.SequenceEvent{Sequence: "reset", Action: machine.SequenceEvent_START})

		if req.GetGraceful() {
			n.emit(actor, &machine.TaskEvent{Task: "cordonAndDrainNode", Action: machine.TaskEvent_START})

			if err := n.cordonAndDrain(); err != nil {
				c.timeline.Add(n.Name, "drain-error-logged", err.Error())
			}

			n.emit(actor, &machine.TaskEvent{Task: "cordonAndDrainNode", Action: machine.TaskEvent_STOP})

			if n.Role == "controlplane" {
				n.emit(actor, &machine.TaskEvent{Task: "leaveEtcd", Action: machine.TaskEvent_START})
				c.mu.Lock()
				n.etcdMember = false
				c.mu.Unlock()
				c.timeline.Add(n.Name, "etcd-left", "")
				n.emit(actor, &machine.TaskEvent{Task: "leaveEtcd", Action: machine.TaskEvent_STOP})
			}
		}

		n.emit(actor, &machine.TaskEvent{Task: "stopAllServices", Action: machine.TaskEvent_START})
		time.Sleep(shutdownDelay)
		c.mu.Lock()
		n.gone = true
		c.mu.Unlock()
		n.shutdown("reset")
		c.timeline.Add(n.Name, "reset", "")
	}()

	return &machine.ResetResponse{Messages: []*machine.Reset{{Metadata: hostMeta(n), ActorId: actor}}}, nil
}

// EtcdMemberList lists the etcd members, asked of a control plane (v1alpha1_server.go EtcdMemberList).
func (a machineService) EtcdMemberList(ctx context.Context, _ *machine.EtcdMemberListRequest) (*machine.EtcdMemberListResponse, error) {
	n, err := a.target(ctx)
	if err != nil {
		return nil, err
	}

	if n.Role != "controlplane" {
		return nil, status.Errorf(codes.Unimplemented, "etcd members is only available on control plane nodes")
	}

	members := []*machine.EtcdMember{}

	for _, m := range a.cluster.etcdMembers() {
		members = append(members, &machine.EtcdMember{
			Id:         memberID(m),
			Hostname:   m.Name,
			PeerUrls:   []string{"https://" + m.IP + ":2380"},
			ClientUrls: []string{"https://" + m.IP + ":2379"},
		})
	}

	return &machine.EtcdMemberListResponse{Messages: []*machine.EtcdMembers{{Metadata: hostMeta(n), Members: members}}}, nil
}

// EtcdStatus: the member's status; an unhealthy member reports its error, as etcd's Status RPC does.
func (a machineService) EtcdStatus(ctx context.Context, _ *emptypb.Empty) (*machine.EtcdStatusResponse, error) {
	n, err := a.target(ctx)
	if err != nil {
		return nil, err
	}

	if !n.etcdMember {
		return nil, status.Errorf(codes.FailedPrecondition, "%s runs no etcd member", n.Name)
	}

	// Until the bootstrap's etcd runs (runKubernetes), the member is not up.
	if a.cluster.kubernetes() == nil {
		return nil, status.Errorf(codes.Unavailable, "%s: etcd is not running yet", n.Name)
	}

	memberStatus := &machine.EtcdMemberStatus{MemberId: memberID(n), ProtocolVersion: "3.6.0", StorageVersion: "3.6.0"}
	if a.cluster.fault("etcd-unhealthy", n) {
		memberStatus.Errors = []string{"etcdserver: no leader"}
	}

	return &machine.EtcdStatusResponse{Messages: []*machine.EtcdStatus{{Metadata: hostMeta(n), MemberStatus: memberStatus}}}, nil
}

func memberID(n *Node) uint64 {
	h := fnv.New64a()
	h.Write([]byte(n.Name)) //nolint:errcheck

	return h.Sum64()
}

// ApplyConfiguration with its modes (v1alpha1_server.go ApplyConfiguration; a v1.14 node as v1.14.1's,
// see appliesEverythingLive): STAGED persists only;
// NO_REBOOT applies live or fails when the change cannot be; AUTO applies live when it can and reboots
// otherwise; REBOOT persists and reboots; a dry run changes nothing and says what the mode would do.
// The stand-in does not validate the config (cfgProvider.Validate): its configs are the tests' own.
func (a machineService) ApplyConfiguration(ctx context.Context, req *machine.ApplyConfigurationRequest) (*machine.ApplyConfigurationResponse, error) {
	n, err := a.target(ctx)
	if err != nil {
		return nil, err
	}

	if n.maintenance() {
		return n.applyInMaintenance(req)
	}

	if _, err = configloader.NewFromBytes(req.GetData()); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "failed to parse config: %v", err)
	}

	a.cluster.mu.Lock()
	running := n.running
	busy := n.busy
	a.cluster.mu.Unlock()

	if busy != "" {
		return nil, status.Errorf(codes.FailedPrecondition, "another apply is in progress (%s)", busy)
	}

	mode := req.GetMode()
	details := "Applied configuration without a reboot"

	// Talos v1.14 applies every change live: no immediacy check, AUTO is NO_REBOOT, REBOOT is refused on
	// a configured node (v1.14.1 v1alpha1_server.go ApplyConfiguration).
	var immediateErr error
	if !n.appliesEverythingLive() {
		immediateErr = canApplyImmediate(running, req.GetData())
	} else if mode == machine.ApplyConfigurationRequest_REBOOT {
		return nil, status.Error(codes.Unimplemented, "the REBOOT mode is not supported, please use AUTO or NO_REBOOT modes instead")
	}

	switch mode {
	case machine.ApplyConfigurationRequest_NO_REBOOT:
		if immediateErr != nil {
			return nil, status.Errorf(codes.InvalidArgument, "%v", immediateErr)
		}
	case machine.ApplyConfigurationRequest_AUTO:
		mode = machine.ApplyConfigurationRequest_NO_REBOOT
		if immediateErr != nil {
			mode = machine.ApplyConfigurationRequest_REBOOT
		}

		details = fmt.Sprintf("%s(%s)", req.GetMode(), mode)
	case machine.ApplyConfigurationRequest_STAGED:
		details = "Staged configuration to be applied after the next reboot"
	case machine.ApplyConfigurationRequest_REBOOT:
		details = "Applied configuration with a reboot"
	default:
		return nil, status.Errorf(codes.Unimplemented, "the stand-in does not serve apply mode %s", mode)
	}

	reply := &machine.ApplyConfigurationResponse{Messages: []*machine.ApplyConfiguration{{Metadata: hostMeta(n), Mode: mode, ModeDetails: details}}}
	if req.GetDryRun() {
		reply.Messages[0].ModeDetails = "Dry run: " + details
		return reply, nil
	}

	switch mode { //nolint:exhaustive
	case machine.ApplyConfigurationRequest_NO_REBOOT:
		err = n.applyLive(req.GetData())
		a.cluster.timeline.Add(n.Name, "config-applied", "")
	case machine.ApplyConfigurationRequest_STAGED:
		err = n.persist(req.GetData())
		a.cluster.timeline.Add(n.Name, "config-staged", "")
	case machine.ApplyConfigurationRequest_REBOOT:
		if err = n.persist(req.GetData()); err == nil {
			if err = n.lock("reboot"); err == nil {
				a.cluster.timeline.Add(n.Name, "config-applied-with-reboot", "")
				n.reboot(newID())
			}
		}
	}

	if err != nil {
		return nil, err
	}

	return reply, nil
}

// canApplyImmediate: a change applies without a reboot when the configs differ only in what Talos
// applies live: .debug, .cluster and the machine fields Runtime.CanApplyImmediate copies over before
// comparing (internal/app/machined/pkg/runtime/v1alpha1/v1alpha1_runtime.go).
func canApplyImmediate(current, next []byte) error {
	cur, err := configloader.NewFromBytes(current)
	if err != nil {
		return err
	}

	nxt, err := configloader.NewFromBytes(next)
	if err != nil {
		return err
	}

	oldCfg, newCfg := cur.RawV1Alpha1(), nxt.RawV1Alpha1()
	if oldCfg == nil || newCfg == nil {
		return fmt.Errorf("the config is not v1alpha1")
	}

	newCfg = newCfg.DeepCopy()
	newCfg.ConfigDebug = oldCfg.ConfigDebug
	newCfg.ClusterConfig = oldCfg.ClusterConfig

	if o, m := oldCfg.MachineConfig, newCfg.MachineConfig; o != nil && m != nil {
		m.MachineCA, m.MachineAcceptedCAs, m.MachineCertSANs = o.MachineCA, o.MachineAcceptedCAs, o.MachineCertSANs
		m.MachineTime, m.MachineInstall, m.MachineNetwork = o.MachineTime, o.MachineInstall, o.MachineNetwork //nolint:staticcheck
		m.MachineSysfs, m.MachineSysctls, m.MachineLogging = o.MachineSysfs, o.MachineSysctls, o.MachineLogging
		m.MachineControlPlane, m.MachineKubelet, m.MachineKernel = o.MachineControlPlane, o.MachineKubelet, o.MachineKernel
		m.MachineRegistries, m.MachinePods, m.MachineSeccompProfiles = o.MachineRegistries, o.MachinePods, o.MachineSeccompProfiles //nolint:staticcheck
		m.MachineNodeAnnotations, m.MachineNodeLabels, m.MachineNodeTaints = o.MachineNodeAnnotations, o.MachineNodeLabels, o.MachineNodeTaints

		if m.MachineFeatures != nil && o.MachineFeatures != nil {
			m.MachineFeatures.KubernetesTalosAPIAccessConfig = o.MachineFeatures.KubernetesTalosAPIAccessConfig
			m.MachineFeatures.KubePrismSupport = o.MachineFeatures.KubePrismSupport
			m.MachineFeatures.HostDNSSupport = o.MachineFeatures.HostDNSSupport
			m.MachineFeatures.ImageCacheSupport = o.MachineFeatures.ImageCacheSupport
			m.MachineFeatures.FeatureNodeAddressSortAlgorithm = o.MachineFeatures.FeatureNodeAddressSortAlgorithm
		}
	}

	if !reflect.DeepEqual(oldCfg, newCfg) {
		return fmt.Errorf("this config change can't be applied in immediate mode")
	}

	return nil
}

// Pull "pulls" the installer image: it checks the reference names an Image Factory installer
// (ImageService.Pull, internal/app/machined/internal/server/v1alpha1/v1alpha1_image.go).
func (a imageService) Pull(req *machine.ImageServicePullRequest, srv grpc.ServerStreamingServer[machine.ImageServicePullResponse]) error {
	n, err := a.target(srv.Context())
	if err != nil {
		return err
	}

	if !installerImage.MatchString(req.GetImageRef()) {
		return status.Errorf(codes.NotFound, "failed to pull image %q: not found", req.GetImageRef())
	}

	a.cluster.timeline.Add(n.Name, "image-pulled", req.GetImageRef())

	return srv.Send(&machine.ImageServicePullResponse{Response: &machine.ImageServicePullResponse_Name{Name: req.GetImageRef()}})
}

// Upgrade installs the image to disk without rebooting; the next boot runs it. Progress messages, then
// an exit code, non-zero on failure (LifecycleService.Upgrade, v1alpha1_lifecycle_server.go).
func (a lifecycleService) Upgrade(req *machine.LifecycleServiceUpgradeRequest, srv grpc.ServerStreamingServer[machine.LifecycleServiceUpgradeResponse]) error {
	n, err := a.target(srv.Context())
	if err != nil {
		return err
	}

	image := req.GetSource().GetImageName()
	match := installerImage.FindStringSubmatch(image)

	if match == nil {
		return status.Errorf(codes.InvalidArgument, "%q is not an Image Factory installer image", image)
	}

	progress := func(p *machine.LifecycleServiceInstallProgress) error {
		return srv.Send(&machine.LifecycleServiceUpgradeResponse{Progress: p})
	}

	if err = progress(&machine.LifecycleServiceInstallProgress{Response: &machine.LifecycleServiceInstallProgress_Message{Message: "installing " + image}}); err != nil {
		return err
	}

	if a.cluster.fault("fail-upgrade", n) {
		a.cluster.timeline.Add(n.Name, "upgrade-failed", image)

		return progress(&machine.LifecycleServiceInstallProgress{Response: &machine.LifecycleServiceInstallProgress_ExitCode{ExitCode: 1}})
	}

	a.cluster.mu.Lock()
	n.nextSchematic, n.nextVersion = match[1], match[2]
	a.cluster.mu.Unlock()
	a.cluster.timeline.Add(n.Name, "upgrade-installed", image+" via "+a.endpoint.IP)

	return progress(&machine.LifecycleServiceInstallProgress{Response: &machine.LifecycleServiceInstallProgress_ExitCode{ExitCode: 0}})
}

// HealthCheck runs the cluster checks Talos runs server side (pkg/cluster/check/default.go
// DefaultClusterChecks), reporting "waiting for <check>" lines as the healthReporter does
// (v1alpha1_cluster.go), until each passes or the wait times out. The cluster's CNI is "none" (Cilium
// is installed by the program), so, as in Talos, the Kubernetes nodes' readiness is not checked here.
func (a clusterService) HealthCheck(req *cluster.HealthCheckRequest, srv grpc.ServerStreamingServer[cluster.HealthCheckProgress]) error {
	n, err := a.target(srv.Context())
	if err != nil {
		return err
	}

	if n.Role != "controlplane" {
		return status.Errorf(codes.Unimplemented, "cluster health check is only available on control plane nodes")
	}

	ctx, cancel := context.WithTimeout(srv.Context(), req.GetWaitTimeout().AsDuration())
	defer cancel()

	info := req.GetClusterInfo()
	all := append(append([]string{}, info.GetControlPlaneNodes()...), info.GetWorkerNodes()...)

	if err = srv.Send(&cluster.HealthCheckProgress{Message: fmt.Sprintf("discovered nodes: %q", all)}); err != nil {
		return err
	}

	checks := []struct {
		name  string
		check func() error
	}{
		{"etcd to be healthy", func() error { return a.etcdHealthy(info.GetControlPlaneNodes()) }},
		{"etcd members to be consistent across nodes", func() error { return a.etcdConsistent(info.GetControlPlaneNodes()) }},
		{"apid to be ready", func() error { return a.eachNode(all, a.answering) }},
		{"all nodes to finish boot sequence", func() error { return a.nodesBooted(all) }},
		{"all k8s nodes to report", func() error { return a.kubernetesNodesReport(srv.Context(), all) }},
	}

	for _, check := range checks {
		last := ""

		for {
			err := check.check()
			if err == nil {
				break
			}

			if line := fmt.Sprintf("waiting for %s: %v", check.name, err); line != last {
				srv.Send(&cluster.HealthCheckProgress{Message: line}) //nolint:errcheck
				last = line
			}

			select {
			case <-ctx.Done():
				return fmt.Errorf("%s: %w", check.name, err)
			case <-time.After(200 * time.Millisecond):
			}
		}

		if err = srv.Send(&cluster.HealthCheckProgress{Message: fmt.Sprintf("waiting for %s: OK", check.name)}); err != nil {
			return err
		}
	}

	return nil
}

// eachNode runs a check on the nodes of these IPs, in order, up to the first that fails it.
func (a *api) eachNode(ips []string, check func(*Node) error) error {
	for _, ip := range ips {
		n := a.cluster.node(ip)
		if n == nil {
			return fmt.Errorf("node %s is not known", ip)
		}

		if err := check(n); err != nil {
			return err
		}
	}

	return nil
}

func (a *api) answering(n *Node) error {
	if !a.cluster.answers(n) {
		return fmt.Errorf("%s: rpc error: code = Unavailable", n.IP)
	}

	return nil
}

func (a *api) etcdHealthy(controlPlanes []string) error {
	if a.cluster.kubernetes() == nil {
		return fmt.Errorf("etcd is not running: the cluster is not bootstrapped")
	}

	return a.eachNode(controlPlanes, func(n *Node) error {
		if err := a.answering(n); err != nil {
			return err
		}

		if a.cluster.fault("etcd-unhealthy", n) {
			return fmt.Errorf("%s: etcdserver: no leader", n.IP)
		}

		return nil
	})
}

func (a *api) etcdConsistent(controlPlanes []string) error {
	var names []string
	for _, m := range a.cluster.etcdMembers() {
		names = append(names, m.IP)
	}

	if strings.Join(names, ",") != strings.Join(sortedCopy(controlPlanes), ",") {
		return fmt.Errorf("etcd members %v do not match the control planes %v", names, controlPlanes)
	}

	return nil
}

func (a *api) nodesBooted(ips []string) error {
	return a.eachNode(ips, func(n *Node) error {
		a.cluster.mu.Lock()
		booted := n.booted
		a.cluster.mu.Unlock()

		if !booted {
			return fmt.Errorf("%s: boot sequence not finished", n.IP)
		}

		return nil
	})
}

// COSI State, served by COSI's own protobuf server over the target node's resources.
func (a *api) state(ctx context.Context) (*cosiserver.State, error) {
	n, err := a.target(ctx)
	if err != nil {
		return nil, err
	}

	a.cluster.mu.Lock()
	st := n.resources
	a.cluster.mu.Unlock()

	return cosiserver.NewState(st), nil
}

func (a stateService) Get(ctx context.Context, req *cosiapi.GetRequest) (*cosiapi.GetResponse, error) {
	s, err := a.state(ctx)
	if err != nil {
		return nil, err
	}

	return s.Get(ctx, req)
}

func (a stateService) List(req *cosiapi.ListRequest, srv cosiapi.State_ListServer) error {
	s, err := a.state(srv.Context())
	if err != nil {
		return err
	}

	return s.List(req, srv)
}

func (a stateService) Watch(req *cosiapi.WatchRequest, srv cosiapi.State_WatchServer) error {
	s, err := a.state(srv.Context())
	if err != nil {
		return err
	}

	return s.Watch(req, srv)
}
