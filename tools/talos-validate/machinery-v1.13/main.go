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
//   - loads the result and validates it as `talosctl validate --mode metal --strict` does
//     (cmd/talosctl/cmd/mgmt/validate.go: configloader, then Validate(mode, WithLocal(), WithStrict())).
//
// It prints one JSON object per node on stdout and exits 1 when any node is invalid.
package main

import (
	"encoding/json"
	"errors"
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

// metal is Talos's metal runtime mode as the validator sees it (internal/app/machined/pkg/runtime/mode.go:
// metal requires an install and is not a container).
type metal struct{}

func (metal) String() string        { return "metal" }
func (metal) RequiresInstall() bool { return true }
func (metal) InContainer() bool     { return false }

func main() {
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

	invalid := false
	out := json.NewEncoder(os.Stdout)
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
	cfg, err := configloader.NewFromBytes(data)
	if err != nil {
		return nil, fmt.Errorf("loading the patched config: %w", err)
	}
	return cfg.Validate(metal{}, validation.WithLocal(), validation.WithStrict())
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
	secretsBundle, err := throwawaySecrets(n.TalosVersion, contract)
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

// Throwaway secrets bundles, one per contract: generating one takes most of a node's validation.
var bundles = map[string]*secrets.Bundle{}

func throwawaySecrets(version string, contract *config.VersionContract) (*secrets.Bundle, error) {
	if b, ok := bundles[version]; ok {
		return b, nil
	}
	b, err := secrets.NewBundle(secrets.NewFixedClock(time.Now()), contract)
	if err != nil {
		return nil, err
	}
	bundles[version] = b
	return b, nil
}
