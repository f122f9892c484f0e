// pulumi-language-nodejs: this project's own Pulumi Node.js language host, which the Pulumi CLI (pkg/v3 v3.276.0)
// finds on PATH and starts as a plugin. It follows Pulumi's own host, minus what a program run does not need.
//
// Sources cited:
//
//	[host]   github.com/pulumi/pulumi sdk/nodejs/cmd/pulumi-language-nodejs/main.go at commit 1b5949891b3c (master,
//	         2026-08-21; identical at tag v3.259.0; the snapshot has no v3.276.0 tag, and the sdk/v3@v3.276.0
//	         module excludes the host, which has its own go.mod). [proxy] is proxy.go next to it.
//	[plugin] github.com/pulumi/pulumi/pkg/v3@v3.276.0 resource/plugin/{plugin.go,langruntime_plugin.go}.
//	[run]    @pulumi/pulumi 3.270.0 cmd/run/index.js and run.js (sdk/v3@v3.276.0 nodejs/cmd/run/index.ts parses
//	         the same flags).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/shlex"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func main() {
	// [plugin] buildPluginArguments passes [--logtostderr] [-v=N] [--tracing URL], and buildArgsForNewPlugin the
	// engine address, last. [host] main defines -tracing, -version and -runtime (for bun; ignored here like any
	// other unknown flag, so that no flag can stop the host from starting).
	fs := flag.NewFlagSet("pulumi-language-nodejs", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	tracing := fs.String("tracing", "", "Zipkin-compatible tracing endpoint")
	showVersion := fs.Bool("version", false, "print the plugin version and exit")
	logToStderr, verbose := fs.Bool("logtostderr", false, "log to stderr"), fs.Int("v", 0, "log verbosity")
	var positional []string
	for args := os.Args[1:]; len(args) > 0; {
		err := fs.Parse(args)
		switch rest := fs.Args(); {
		case err != nil && len(rest) == len(args): // "bad flag syntax" leaves the argument in place: drop it
			args = rest[1:]
		case err == nil && len(rest) > 0: // keep a positional argument and parse on after it
			positional, args = append(positional, rest[0]), rest[1:]
		default: // an unknown flag (Parse has dropped it), or the end
			args = rest
		}
	}
	if *showVersion {
		fmt.Println(pluginVersion())
		os.Exit(0)
	}
	logging.InitLogging(*logToStderr, *verbose, false)
	cmdutil.InitTracing("pulumi-language-nodejs", "pulumi-language-nodejs", *tracing)

	host := &nodeHost{tracing: *tracing}
	host.cancelCtx, host.cancel = context.WithCancel(context.Background())
	if len(positional) > 0 {
		host.engineAddress = positional[len(positional)-1]
	}
	// As [host] main: stop serving on SIGINT or once the engine stops answering health checks.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	cancelChannel := make(chan bool)
	go func() { <-ctx.Done(); stop(); close(cancelChannel) }()
	if host.engineAddress != "" {
		if err := rpcutil.Healthcheck(ctx, host.engineAddress, 5*time.Minute, stop); err != nil {
			cmdutil.Exit(fmt.Errorf("could not start health check host RPC server: %w", err))
		}
	}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel:  cancelChannel,
		Init:    func(srv *grpc.Server) error { pulumirpc.RegisterLanguageRuntimeServer(srv, host); return nil },
		Options: rpcutil.TracingServerInterceptorOptions(nil),
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start language host RPC server: %w", err))
	}
	fmt.Printf("%d\n", handle.Port) // [plugin] newPlugin reads the port from the first line of stdout
	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host RPC stopped serving: %w", err))
	}
}

// option reads one runtime option as [host] parseOptions does, with its error message.
func option[T any](opts map[string]any, name string, into *T, message string) error {
	if v, ok := opts[name]; ok {
		if *into, ok = v.(T); !ok {
			return errors.New(message)
		}
	}
	return nil
}

// [host] reports version.Version, which only release builds set; otherwise report the sdk/v3 module's version.
func pluginVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok && version.Version == "" {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/pulumi/pulumi/sdk/v3" {
				return strings.TrimPrefix(dep.Version, "v")
			}
		}
	}
	return version.Version
}

// Every RPC not written here returns Unimplemented, which [plugin] accepts for InstallDependencies (`pulumi install`
// and `new` skip it), RuntimeOptionsPrompts and Template (`new`), and GetProgramDependencies (`pulumi about` shows an
// error). RunPlugin, Link, Pack and Generate* serve Node.js plugins and codegen, which this project does not use.
type nodeHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	mu            sync.Mutex
	engineAddress string
	tracing       string
	cancelCtx     context.Context // [host]: cancelled by the Cancel RPC
	cancel        context.CancelFunc
}

func (h *nodeHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: pluginVersion()}, nil
}

// [host] lists the plugin packages in node_modules. An empty list is allowed: the engine then loads each provider
// when the program first registers a resource with it.
func (h *nodeHost) GetRequiredPackages(context.Context, *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

// [plugin] calls this only if GetRequiredPackages is Unimplemented; [host] returns Unimplemented, empty is as safe.
func (h *nodeHost) GetRequiredPlugins(context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

// Only called when the engine attaches to a running host (PULUMI_DEBUG_LANGUAGES), which fails on Unimplemented.
func (h *nodeHost) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.engineAddress = req.EngineAddress
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

// Called beside every `pulumi up`/`preview` for update metadata (errors only logged: pkg/v3@v3.276.0
// cmd/pulumi/operations/up.go). [host] also reports the package manager and TypeScript versions.
func (h *nodeHost) About(ctx context.Context, _ *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, err
	}
	out, _ := exec.CommandContext(ctx, node, "--version").Output() // [host]: the version is optional
	return &pulumirpc.AboutResponse{Executable: node, Version: strings.TrimSpace(string(out))}, nil
}

// [plugin] sends Cancel on cancellation and on shutdown; as [host], it interrupts any running program.
func (h *nodeHost) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.cancel()
	return &emptypb.Empty{}, nil
}

func (h *nodeHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	fail := func(err error) (*pulumirpc.RunResponse, error) {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	info, opts := req.GetInfo(), req.GetInfo().GetOptions().AsMap()
	// [host] execRuntime starts an inspector and asks the engine to attach (StartDebugging); this host does not.
	if req.GetAttachDebugger() {
		return fail(errors.New("--attach-debugger is not supported by this project's Node.js language host"))
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return fail(fmt.Errorf("could not find node on the $PATH: %w", err))
	}
	// [host] Run/locateModule: resolve @pulumi/pulumi/cmd/run with Node's resolution from the program directory, so
	// a parent's node_modules works (`main: stacks/`). [host]'s test-only PULUMI_LANGUAGE_NODEJS_RUN_PATH is left out.
	resolve := exec.CommandContext(ctx, node, "-e", `try { console.log(require.resolve("@pulumi/pulumi/cmd/run")); `+
		`} catch (error) { console.error(error.code === 'MODULE_NOT_FOUND' ? "It looks like the Pulumi SDK has `+
		`not been installed. Have you run pulumi install?" : error.message); process.exit(1); }`)
	resolve.Dir = info.GetProgramDirectory()
	out, err := resolve.Output()
	if exitErr := (*exec.ExitError)(nil); errors.As(err, &exitErr) {
		return fail(errors.New(string(exitErr.Stderr)))
	} else if err != nil {
		return fail(err)
	}

	// Pulumi.yaml runtime.options arrive in info.options; [host] parseOptions (typescript defaults to true).
	// packagemanager and production only concern InstallDependencies.
	typescript, tsconfig, nodeargs := true, "", ""
	if err := errors.Join(option(opts, "typescript", &typescript, "typescript option must be a boolean"),
		option(opts, "tsconfig", &tsconfig, "tsconfigpath option must be a string"),
		option(opts, "nodeargs", &nodeargs, "nodeargs option must be a string")); err != nil {
		return fail(err)
	}
	args, err := shlex.Split(nodeargs) // [host] execRuntime: Node's own arguments go first
	if err != nil {
		return fail(err)
	}
	// [host] constructArguments, the flags [run] index.js main() parses; maybeAppendArg skips empty values.
	args = append(args, strings.TrimSpace(string(out)))
	flagIf := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	// The engine's monitor itself. [host] puts [proxy] monitorProxy in between, which only forwards and marks
	// RegisterResource "pulumi-runtime: nodejs"; the engine infers the same from Node's "grpc-node-js/" user agent
	// (pkg/v3@v3.276.0 resource/deploy/source_eval.go requestFromNodeJS).
	flagIf("monitor", req.GetMonitorAddress())
	h.mu.Lock()
	flagIf("engine", h.engineAddress)
	h.mu.Unlock()
	// No --sync: [host] serves synchronous invokes over FIFOs, but nothing in [run] (nor sdk/v3@v3.276.0 nodejs)
	// calls runtime/settings tryGetSyncInvokes, the only reader of PULUMI_NODEJS_SYNC.
	flagIf("organization", req.GetOrganization())
	flagIf("project", req.GetProject())
	flagIf("root-directory", info.GetRootDirectory())
	flagIf("stack", req.GetStack())
	flagIf("pwd", info.GetProgramDirectory()) // [host]: info's directory, not the deprecated req.Pwd
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	flagIf("parallel", strconv.Itoa(int(req.GetParallel()))) // [host]: always, even 0
	flagIf("tracing", h.tracing)                             // [run] run.js: used only if PULUMI_EXPERIMENTAL is set
	// Left out, as [host] does: req.QueryMode (deprecated; [run] has no flag), req.LoaderTarget and MapperTarget
	// (codegen only), req.ConfigPropertyMap (config goes in PULUMI_CONFIG), the deprecated req.Pwd and req.Program.
	// Entry point: "." when Pulumi.yaml's main is a directory or unset ([run] run.js then reads package.json
	// exports/main); [host]: "The engine should always pass a name for entry point". Program arguments follow it.
	args = append(append(args, info.GetEntryPoint()), req.GetArgs()...)

	// [host] constructConfig: "ns:name" keys become "ns:config:name" for older @pulumi/pulumi ([run]
	// runtime/config.js cleanKey takes both). [host] constructConfigSecretKeys passes secret keys unchanged.
	cfg := map[string]string{}
	for k, v := range req.GetConfig() {
		key, err := config.ParseKey(k)
		if err != nil {
			return fail(fmt.Errorf("failed to serialize configuration: %w", err))
		}
		cfg[key.Namespace()+":config:"+key.Name()] = v
	}
	cfgJSON, _ := json.Marshal(cfg)                                                 // cannot fail
	secretJSON, _ := json.Marshal(append([]string{}, req.GetConfigSecretKeys()...)) // "[]" if none, as [host]
	env := append(os.Environ(), "PULUMI_CONFIG="+string(cfgJSON), "PULUMI_CONFIG_SECRET_KEYS="+string(secretJSON))
	if typescript { // [host] execRuntime; [run] run.js compares with "true"
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if tsconfig != "" { // [run] run.js: otherwise "tsconfig.json" (in the --pwd directory)
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+tsconfig)
	}
	// Not set: TRACEPARENT ([host] takes it from its own OpenTelemetry span; this host has none), and
	// PULUMI_OTEL_EXPORTER_OTLP_ENDPOINT ([host] re-adds it; Node inherits it through os.Environ() anyway).

	// [host] execRuntime: on Cancel or when the request ends, SIGINT, then kill after 5s. No cmd.Dir, as [host]: Node
	// starts where the engine started the host (the program directory), and [run] run.js changes to --pwd.
	cmdCtx, cmdCancel := context.WithCancel(h.cancelCtx)
	defer cmdCancel()
	context.AfterFunc(ctx, cmdCancel)
	cmd := exec.CommandContext(cmdCtx, node, args...)
	cmd.Cancel = func() error {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
	cmd.WaitDelay, cmd.Env = 5*time.Second, env
	// [host] copies Node's output to its own stdout/stderr through non-*os.File writers (Node may change the blocking
	// mode of descriptors it is handed); [plugin] newPlugin shows them as info and info-on-stderr. [host] also
	// scans stderr for out-of-memory messages; this host does not.
	cmd.Stdout, cmd.Stderr = struct{ io.Writer }{os.Stdout}, struct{ io.Writer }{os.Stderr}
	logging.V(5).Infof("Language host launching process: %s %s", node, strings.Join(args, " "))
	err = cmd.Run()
	_, _ = os.Stdout.Sync(), os.Stderr.Sync()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case !errors.As(err, &exitErr):
		return fail(fmt.Errorf("Problem executing program (could not run language executor): %w", err))
	case exitErr.ExitCode() == 32: // [host] nodeJSProcessExitedAfterShowingUserActionableMessage, [run] index.js
		return &pulumirpc.RunResponse{Bail: true}, nil // the program has already reported its error
	case exitErr.ExitCode() == 0:
		return fail(fmt.Errorf("Program exited unexpectedly: %w", exitErr))
	default:
		return fail(fmt.Errorf("Program exited with non-zero exit code: %d", exitErr.ExitCode()))
	}
}
