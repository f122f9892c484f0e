// pulumi-resource-standin: one binary that stands in for the talos, proxmoxve, command and kubernetes
// provider plugins in the engine tests (the real plugins cannot be had here: see core.go for the generic
// behaviour and each provider's file for its rules and their upstream citations).
//
// It is installed four times (`pulumi plugin install resource <name> <version> --file <binary>`); the
// engine starts it as .../resource-<name>-v<version>/pulumi-resource-<name>, and the basename of
// os.Args[0] says which provider to be.
//
// Serving follows the plugin protocol as sdk/v3 go/pulumi/provider MainContext (v3.276.0) implements it
// (that package itself is not used: it pulls OpenTelemetry modules tools/engine/go.sum does not have):
// the engine passes its flags (--logtostderr, -v=N, --tracing <endpoint>: pkg/v3 v3.276.0
// resource/plugin/plugin.go buildPluginArguments) and then its own address; the plugin health-checks that
// address (rpcutil.Healthcheck, stopping when the engine goes away), serves gRPC on a loopback port
// (rpcutil.ServeWithOptions listens on 127.0.0.1), prints the port on stdout and serves until the engine
// stops it (SIGINT). Without an address it serves in attach mode (PULUMI_DEBUG_PROVIDERS).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// plugins are the providers this binary can be, by plugin name.
var plugins = map[string]func() *Plugin{
	"proxmoxve":  proxmoxvePlugin,
	"talos":      talosPlugin,
	"command":    commandPlugin,
	"kubernetes": kubernetesPlugin,
}

// pluginFor returns the rules table for an executable path such as .../pulumi-resource-talos.
func pluginFor(executable string) (*Plugin, error) {
	base := strings.TrimSuffix(filepath.Base(executable), ".exe")
	name, ok := strings.CutPrefix(base, "pulumi-resource-")
	if !ok {
		return nil, fmt.Errorf("stand-in: started as %q: the executable must be named pulumi-resource-<provider>", base)
	}
	newPlugin, ok := plugins[name]
	if !ok {
		known := make([]string, 0, len(plugins))
		for k := range plugins {
			known = append(known, k)
		}
		sort.Strings(known)
		return nil, fmt.Errorf("stand-in: no stand-in for provider %q (known: %s)", name, strings.Join(known, ", "))
	}
	return newPlugin(), nil
}

func main() {
	if err := run(os.Args, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	p, err := pluginFor(args[0])
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.Bool("logtostderr", false, "log to stderr (accepted, unused)")
	fs.Bool("logflow", false, "flow logging settings (accepted, unused)")
	fs.Int("v", 0, "log verbosity (accepted, unused)")
	fs.String("tracing", "", "tracing endpoint (accepted, unused)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	switch rest := fs.Args(); len(rest) {
	case 0: // attach mode: the engine calls Attach later.
	case 1:
		ctx, stop = context.WithCancel(ctx)
		defer stop()
		if err := rpcutil.Healthcheck(ctx, rest[0], 5*time.Minute, stop); err != nil {
			return fmt.Errorf("stand-in: could not start the health check of the engine at %s: %w", rest[0], err)
		}
	default:
		return fmt.Errorf("stand-in: expected at most one argument (the engine's address), got %q", rest)
	}

	cancel := make(chan bool)
	go func() {
		<-ctx.Done()
		close(cancel)
	}()
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterResourceProviderServer(srv, NewProvider(p))
			return nil
		},
	})
	if err != nil {
		return fmt.Errorf("stand-in %s: %w", p.Name, err)
	}
	// The plugin protocol: the first line on stdout is the port.
	fmt.Fprintf(stdout, "%d\n", handle.Port)
	return <-handle.Done
}
