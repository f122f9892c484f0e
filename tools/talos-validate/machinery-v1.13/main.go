// Command talos-validate checks machine configs the way a Talos node would get and judge them, with
// Talos's own machinery (github.com/siderolabs/talos/pkg/machinery, the version in go.mod).
//
// It reads, on stdin, the nodes of a plan: for each, what the Talos provider's getConfiguration renders
// (cluster name, endpoint, machine type, config contract, Kubernetes version) and the patches its
// ConfigurationApply applies, in order. For each node it:
//   - generates the base config as terraform-provider-talos v0.11.0 does (pkg/talos/util.go,
//     machineConfigGenerateOptions.generate: bundle.NewBundle with cluster discovery, the default DNS
//     domain, install disk /dev/sda, a secrets bundle and the version contract), with a throwaway
//     secrets bundle;
//   - applies the patches as its ConfigurationApply does (talos_machine_configuration_apply_resource.go:
//     configpatcher.LoadPatches, then configpatcher.Apply(WithBytes(base), patches));
//   - loads the result and validates it as `talosctl validate --mode metal` does
//     (cmd/talosctl/cmd/mgmt/validate.go: configloader, then Validate(mode, WithLocal())), returning
//     the warnings, which --strict would turn into errors (config/types/v1alpha1/v1alpha1_validation.go).
//
// It prints one JSON object per node on stdout and exits 1 when any node is invalid.
//
// With -render it stops before loading: it prints each node's patched config ({"name", "config"}), which
// a node of a newer minor judges with its own machinery (../machinery-v1.14): the provider renders and
// patches with its v1.13 machinery whatever minor the node runs.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/siderolabs/talos/pkg/machinery/config"
	"github.com/siderolabs/talos/pkg/machinery/config/bundle"
	"github.com/siderolabs/talos/pkg/machinery/config/configloader"
	"github.com/siderolabs/talos/pkg/machinery/config/configpatcher"
	"github.com/siderolabs/talos/pkg/machinery/config/encoder"
	"github.com/siderolabs/talos/pkg/machinery/config/generate"
	"github.com/siderolabs/talos/pkg/machinery/config/generate/secrets"
	"github.com/siderolabs/talos/pkg/machinery/config/machine"
	"github.com/siderolabs/talos/pkg/machinery/config/validation"
	"github.com/siderolabs/talos/pkg/machinery/constants"
)

type node struct {
	Name              string   `json:"name"`
	MachineType       string   `json:"machineType"`
	ClusterName       string   `json:"clusterName"`
	ClusterEndpoint   string   `json:"clusterEndpoint"`
	TalosVersion      string   `json:"talosVersion"`
	KubernetesVersion string   `json:"kubernetesVersion"`
	Patches           []string `json:"patches"`
}

type result struct {
	Name     string   `json:"name"`
	Valid    bool     `json:"valid"`
	Warnings []string `json:"warnings"`
	Error    string   `json:"error,omitempty"`
}

type rendered struct {
	Name   string `json:"name"`
	Config string `json:"config"`
}

// metal is Talos's metal runtime mode as the validator sees it (internal/app/machined/pkg/runtime/mode.go:
// metal requires an install and is not a container).
type metal struct{}

func (metal) String() string        { return "metal" }
func (metal) RequiresInstall() bool { return true }
func (metal) InContainer() bool     { return false }

func main() {
	renderOnly := flag.Bool("render", false, "print each node's patched config instead of validating it")
	flag.Parse()
	var input struct {
		Nodes []node `json:"nodes"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&input); err != nil {
		fmt.Fprintf(os.Stderr, "talos-validate: reading the nodes on stdin: %v\n", err)
		os.Exit(2)
	}
	if len(input.Nodes) == 0 {
		fmt.Fprintln(os.Stderr, "talos-validate: no nodes on stdin")
		os.Exit(2)
	}

	out := json.NewEncoder(os.Stdout)
	if *renderOnly {
		for _, n := range input.Nodes {
			data, err := patchedConfig(n)
			if err != nil {
				fmt.Fprintf(os.Stderr, "talos-validate: %s: %v\n", n.Name, err)
				os.Exit(2)
			}
			if err := out.Encode(rendered{Name: n.Name, Config: string(data)}); err != nil {
				fmt.Fprintf(os.Stderr, "talos-validate: %v\n", err)
				os.Exit(2)
			}
		}
		return
	}

	invalid := false
	for _, n := range input.Nodes {
		warnings, err := validate(n)
		r := result{Name: n.Name, Valid: err == nil, Warnings: warnings}
		if err != nil {
			r.Error = err.Error()
			invalid = true
		}
		if r.Warnings == nil {
			r.Warnings = []string{}
		}
		if err := out.Encode(r); err != nil {
			fmt.Fprintf(os.Stderr, "talos-validate: %v\n", err)
			os.Exit(2)
		}
	}
	if invalid {
		os.Exit(1)
	}
}

func validate(n node) ([]string, error) {
	data, err := patchedConfig(n)
	if err != nil {
		return nil, err
	}
	cfg, err := configloader.NewFromBytes(data)
	if err != nil {
		return nil, fmt.Errorf("loading the patched config: %w", err)
	}
	return cfg.Validate(metal{}, validation.WithLocal())
}

// patchedConfig is the config the provider's ConfigurationApply sends: the render, patched.
func patchedConfig(n node) ([]byte, error) {
	base, err := render(n)
	if err != nil {
		return nil, fmt.Errorf("rendering the base config: %w", err)
	}
	patches, err := configpatcher.LoadPatches(n.Patches)
	if err != nil {
		return nil, fmt.Errorf("loading the patches: %w", err)
	}
	patched, err := configpatcher.Apply(configpatcher.WithBytes(base), patches)
	if err != nil {
		return nil, fmt.Errorf("applying the patches: %w", err)
	}
	data, err := patched.Bytes()
	if err != nil {
		return nil, fmt.Errorf("encoding the patched config: %w", err)
	}
	return data, nil
}

// render is the provider's getConfiguration, with a throwaway secrets bundle.
func render(n node) ([]byte, error) {
	contract, err := config.ParseContractFromVersion(n.TalosVersion)
	if err != nil {
		return nil, err
	}
	machineType, err := machine.ParseType(n.MachineType)
	if err != nil {
		return nil, err
	}
	if machineType != machine.TypeControlPlane && machineType != machine.TypeWorker {
		return nil, errors.New("machineType must be controlplane or worker")
	}
	secretsBundle, err := throwawaySecrets(contract)
	if err != nil {
		return nil, err
	}
	configBundle, err := bundle.NewBundle(
		bundle.WithInputOptions(&bundle.InputOptions{
			ClusterName: n.ClusterName,
			Endpoint:    n.ClusterEndpoint,
			KubeVersion: strings.TrimPrefix(n.KubernetesVersion, "v"),
			GenOptions: []generate.Option{
				generate.WithClusterDiscovery(true),
				generate.WithDNSDomain(constants.DefaultDNSDomain),
				generate.WithInstallDisk("/dev/sda"),
				generate.WithSecretsBundle(secretsBundle),
				generate.WithVersionContract(contract),
			},
		}),
		bundle.WithVerbose(false),
	)
	if err != nil {
		return nil, err
	}
	return configBundle.Serialize(encoder.CommentsDisabled, machineType)
}

// One throwaway secrets bundle for every node: generating one takes most of a node's validation, and
// nodes rendered with different contracts share it, so their configs differ only where the contract
// makes them (secrets.NewBundle varies by contract only before v1.3: bundle.go populate, ca.go).
var sharedBundle *secrets.Bundle

func throwawaySecrets(contract *config.VersionContract) (*secrets.Bundle, error) {
	if sharedBundle != nil {
		return sharedBundle, nil
	}
	b, err := secrets.NewBundle(secrets.NewFixedClock(time.Now()), contract)
	if err != nil {
		return nil, err
	}
	sharedBundle = b
	return b, nil
}
