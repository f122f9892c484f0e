package main

// What the talos stand-in does on a simulated cluster (envSim): it talks to the nodes as
// terraform-provider-talos v0.11.0 does, with Talos's own client (machinery v1.13.0, the provider's).
// Sources, cited as in talos.go: [tf:util.go] talosClientOp and talosClientTFConfigToTalosClientConfig;
// [tf:talos_machine_configuration_apply_resource.go] Create, Update, handleRebootPrevention and
// dryRunNeedsReboot; [tf:talos_machine_bootstrap_resource.go] Create; [tf:talos_cluster_kubeconfig_resource.go]
// Create. Each retries for its timeout (10 minutes by default), but not on InvalidArgument
// (terraform-plugin-sdk helper/retry.RetryContext, with a RetryableError for every other error).

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/cosi-project/runtime/pkg/safe"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/siderolabs/crypto/x509"
	clusterapi "github.com/siderolabs/talos/pkg/machinery/api/cluster"
	"github.com/siderolabs/talos/pkg/machinery/api/machine"
	"github.com/siderolabs/talos/pkg/machinery/client"
	clientconfig "github.com/siderolabs/talos/pkg/machinery/client/config"
	runtimeres "github.com/siderolabs/talos/pkg/machinery/resources/runtime"
)

// simTimeout is the provider's default timeout of create and update (timeouts.Create(ctx, 10*time.Minute)).
const simTimeout = 10 * time.Minute

// simRetryInterval: helper/retry.RetryContext polls through a StateChangeConf (MinTimeout 500 ms, its wait
// doubling up to 10 s); the stand-in polls every second.
const simRetryInterval = time.Second

// talosClientConfig is [tf:util.go] talosClientTFConfigToTalosClientConfig: a talosconfig of one context,
// "dynamic", with the client configuration's CA, certificate and key (base64 PEM).
func talosClientConfig(props resource.PropertyMap) (*clientconfig.Config, error) {
	decode := func(key string) ([]byte, error) {
		v, ok := str(getPath(props, "clientConfiguration."+key))
		if !ok {
			return nil, fmt.Errorf("stand-in talos: clientConfiguration.%s is not known", key)
		}
		return base64.StdEncoding.DecodeString(v)
	}
	ca, err := decode("caCertificate")
	if err != nil {
		return nil, err
	}
	crt, err := decode("clientCertificate")
	if err != nil {
		return nil, err
	}
	key, err := decode("clientKey")
	if err != nil {
		return nil, err
	}
	return clientconfig.NewConfig("dynamic", nil, ca, &x509.PEMEncodedCertificateAndKey{Crt: crt, Key: key}), nil
}

// loopbackOnly: the stand-in reaches nothing but loopback (the simulated nodes listen on 127.0.0.0/8).
func loopbackOnly(addresses ...string) error {
	for _, address := range addresses {
		if ip := net.ParseIP(address); ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("stand-in talos: %q is not a loopback address; on a simulated cluster the nodes listen on 127.0.0.0/8 only", address)
		}
	}
	return nil
}

// talosClientOp is [tf:util.go] talosClientOp: first a client that skips TLS verification, which only a
// node in maintenance mode lets through (its API asks for no client certificate), probed with Disks;
// else a client of the talosconfig. The call goes to node through endpoint.
func talosClientOp(ctx context.Context, endpoint, node string, tc *clientconfig.Config, op func(context.Context, *client.Client) error) error {
	if err := loopbackOnly(endpoint, node); err != nil {
		return err
	}
	nodeCtx := client.WithNode(ctx, node)
	c, err := client.New(ctx, client.WithTLSConfig(&tls.Config{InsecureSkipVerify: true}), client.WithEndpoints(endpoint)) //nolint:gosec // the provider's probe
	if err != nil {
		return err
	}
	if _, err = c.Disks(nodeCtx); err != nil {
		c.Close() //nolint:errcheck
		if c, err = client.New(ctx, client.WithConfig(tc), client.WithEndpoints(endpoint)); err != nil {
			return err
		}
	}
	defer c.Close() //nolint:errcheck
	return op(nodeCtx, c)
}

// withRetry runs op until it succeeds, fails with InvalidArgument, or the timeout passes.
func withRetry(timeout time.Duration, op func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		err := op(ctx)
		if err == nil || status.Code(err) == codes.InvalidArgument {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timeout while waiting for state to become 'success' (last error: %w)", err)
		case <-time.After(simRetryInterval):
		}
	}
}

// nodeAndEndpoint: the node, and the endpoint the call goes through (the node when unset).
func nodeAndEndpoint(outs resource.PropertyMap) (string, string) {
	node, _ := str(outs["node"])
	endpoint, ok := str(outs["endpoint"])
	if !ok || endpoint == "" {
		endpoint = node
	}
	return node, endpoint
}

// simApply applies the rendered machine configuration ([tf] Create and Update: the effective mode is
// the resolved one). With staged_if_needing_reboot the mode is resolved first by an AUTO dry run
// (handleRebootPrevention, which runs in the plan; here in the update it precedes): REBOOT -> staged,
// else auto; a dry run that fails falls back to auto; an unchanged configuration keeps its resolved mode.
func simApply(c *Call, outs resource.PropertyMap) error {
	cfg, ok := str(outs["machineConfiguration"])
	if !ok {
		return fmt.Errorf("stand-in talos: %s: the stand-in applies only a stored machineConfiguration (not a write-only input)", c.URN)
	}
	tc, err := talosClientConfig(outs)
	if err != nil {
		return err
	}
	node, endpoint := nodeAndEndpoint(outs)
	mode, _ := str(outs["applyMode"])
	if mode == "staged_if_needing_reboot" {
		previous, _ := str(c.Olds["machineConfiguration"])
		resolved, _ := str(c.Olds["resolvedApplyMode"])
		if c.Olds == nil || previous != cfg || resolved == "" {
			resolved = "auto"
			_ = talosClientOp(context.Background(), endpoint, node, tc, func(ctx context.Context, cl *client.Client) error {
				resp, err := cl.ApplyConfiguration(ctx, &machine.ApplyConfigurationRequest{Mode: machine.ApplyConfigurationRequest_AUTO, Data: []byte(cfg), DryRun: true})
				if err == nil && len(resp.GetMessages()) > 0 && resp.GetMessages()[0].GetMode() == machine.ApplyConfigurationRequest_REBOOT {
					resolved = "staged"
				}
				return err
			})
		}
		mode = resolved
	}
	outs["resolvedApplyMode"] = resource.NewProperty(mode)
	request := &machine.ApplyConfigurationRequest{
		Mode: machine.ApplyConfigurationRequest_Mode(machine.ApplyConfigurationRequest_Mode_value[strings.ToUpper(mode)]),
		Data: []byte(cfg),
	}
	err = withRetry(simTimeout, func(ctx context.Context) error {
		return talosClientOp(ctx, endpoint, node, tc, func(ctx context.Context, cl *client.Client) error {
			_, err := cl.ApplyConfiguration(ctx, request)
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("error applying configuration: %w", err)
	}
	return nil
}

// simBootstrap: [tf:talos_machine_bootstrap_resource.go] Create bootstraps etcd on the node, retrying
// every error but InvalidArgument (a node that is still installing, and "etcd data directory is not
// empty" too) until its timeout.
func simBootstrap(outs resource.PropertyMap) error {
	tc, err := talosClientConfig(outs)
	if err != nil {
		return err
	}
	node, endpoint := nodeAndEndpoint(outs)
	return withRetry(simTimeout, func(ctx context.Context) error {
		return talosClientOp(ctx, endpoint, node, tc, func(ctx context.Context, cl *client.Client) error {
			return cl.Bootstrap(ctx, &machine.BootstrapRequest{})
		})
	})
}

// simKubeconfig: [tf:talos_cluster_kubeconfig_resource.go] Create asks the node for the admin kubeconfig
// (retrying), and takes the client configuration from its current context; the id is its cluster's name.
func simKubeconfig(outs resource.PropertyMap) (string, error) {
	tc, err := talosClientConfig(outs)
	if err != nil {
		return "", err
	}
	node, endpoint := nodeAndEndpoint(outs)
	var raw []byte
	err = withRetry(simTimeout, func(ctx context.Context) error {
		return talosClientOp(ctx, endpoint, node, tc, func(ctx context.Context, cl *client.Client) error {
			raw, err = cl.Kubeconfig(ctx)
			return err
		})
	})
	if err != nil {
		return "", fmt.Errorf("failed to retrieve kubeconfig: %w", err)
	}
	kubeconfig, err := clientcmd.Load(raw)
	if err != nil {
		return "", fmt.Errorf("failed to parse kubeconfig: %w", err)
	}
	current := kubeconfig.Contexts[kubeconfig.CurrentContext]
	if current == nil || kubeconfig.Clusters[current.Cluster] == nil || kubeconfig.AuthInfos[current.AuthInfo] == nil {
		return "", fmt.Errorf("failed to parse kubeconfig: no current context with a cluster and a user")
	}
	cluster, user := kubeconfig.Clusters[current.Cluster], kubeconfig.AuthInfos[current.AuthInfo]
	outs["kubeconfigRaw"] = resource.NewProperty(string(raw))
	outs["kubernetesClientConfiguration"] = resource.NewProperty(resource.PropertyMap{
		"host":              resource.NewProperty(cluster.Server),
		"caCertificate":     b64(cluster.CertificateAuthorityData),
		"clientCertificate": b64(user.ClientCertificateData),
		"clientKey":         b64(user.ClientKeyData),
	})
	return current.Cluster, nil
}

// simHealth is [tf:talos_cluster_health_data_source.go] Read on a simulated cluster: it waits, up to its
// read timeout (10 minutes by default), for Talos's checks (talos v1.13.9 pkg/cluster/check/default.go):
// with skipKubernetesChecks the pre-boot ones (PreBootSequenceChecks), which the stand-in asks of the nodes
// as they answer them: every control plane's etcd healthy (EtcdStatus without errors) and its members the
// control planes (EtcdMemberList), every node's apid ready (Version) and its boot sequence finished
// (MachineStatus running). Without it, DefaultClusterChecks, which a control plane runs
// (ClusterService.HealthCheck: talos-api runs Talos's checks by name). The real data source runs the
// checks client side (check.Wait); the memory, disk and diagnostics checks are not simulated.
func simHealth(args resource.PropertyMap) error {
	tc, err := talosClientConfig(args)
	if err != nil {
		return err
	}
	controlPlanes, workers, endpoints := stringList(args["controlPlaneNodes"]), stringList(args["workerNodes"]), stringList(args["endpoints"])
	if err := loopbackOnly(append(append(append([]string{}, controlPlanes...), workers...), endpoints...)...); err != nil {
		return err
	}
	timeout := simTimeout
	if t, ok := str(getPath(args, "timeouts.read")); ok {
		if timeout, err = time.ParseDuration(t); err != nil {
			return fmt.Errorf("stand-in talos: timeouts.read %q: %w", t, err)
		}
	}
	skip := getPath(args, "skipKubernetesChecks")
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := client.New(ctx, client.WithConfig(tc), client.WithEndpoints(endpoints...))
	if err != nil {
		return err
	}
	defer c.Close() //nolint:errcheck
	check := func() error {
		if !skip.IsBool() || !skip.BoolValue() {
			stream, err := c.ClusterHealthCheck(client.WithNode(ctx, controlPlanes[0]), timeout, &clusterapi.ClusterInfo{
				ControlPlaneNodes: controlPlanes, WorkerNodes: workers,
			})
			if err != nil {
				return err
			}
			for {
				if _, err := stream.Recv(); err != nil {
					if errors.Is(err, io.EOF) {
						return nil
					}
					return err
				}
			}
		}
		for _, node := range controlPlanes {
			nodeCtx := client.WithNode(ctx, node)
			etcd, err := c.EtcdStatus(nodeCtx)
			if err != nil {
				return fmt.Errorf("etcd to be healthy: %w", err)
			}
			for _, m := range etcd.GetMessages() {
				if errs := m.GetMemberStatus().GetErrors(); len(errs) > 0 {
					return fmt.Errorf("etcd to be healthy: %s: %s", node, strings.Join(errs, "; "))
				}
			}
			members, err := c.EtcdMemberList(nodeCtx, &machine.EtcdMemberListRequest{})
			if err != nil {
				return fmt.Errorf("etcd members to be consistent: %w", err)
			}
			for _, m := range members.GetMessages() {
				if len(m.GetMembers()) != len(controlPlanes) {
					return fmt.Errorf("etcd members to be control plane nodes: %s lists %d members for %d control planes", node, len(m.GetMembers()), len(controlPlanes))
				}
			}
		}
		for _, node := range append(append([]string{}, controlPlanes...), workers...) {
			nodeCtx := client.WithNode(ctx, node)
			if _, err := c.Version(nodeCtx); err != nil {
				return fmt.Errorf("apid to be ready: %w", err)
			}
			status, err := safe.StateGetByID[*runtimeres.MachineStatus](nodeCtx, c.COSI, runtimeres.MachineStatusID)
			if err != nil {
				return fmt.Errorf("all nodes to finish boot sequence: %w", err)
			}
			if status.TypedSpec().Stage != runtimeres.MachineStageRunning {
				return fmt.Errorf("all nodes to finish boot sequence: %s is %s", node, status.TypedSpec().Stage)
			}
		}
		return nil
	}
	for {
		err := check()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stand-in talos: the cluster is not healthy: %w", err)
		case <-time.After(simRetryInterval):
		}
	}
}
