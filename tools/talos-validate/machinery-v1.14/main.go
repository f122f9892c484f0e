// Command talos-validate (v1.14) judges machine configs as a Talos v1.14 node would, with Talos's own
// machinery of that minor (github.com/siderolabs/talos/pkg/machinery, the version in go.mod).
//
// It reads, on stdin, nodes with the config their apply sends ({"nodes": [{"name", "config"}]}): the
// Talos provider renders and patches with its own machinery (v1.13 for pulumi-talos 0.8.1), which
// ../machinery-v1.13 -render reproduces. For each node it loads the config and validates it as
// `talosctl validate --mode metal` of v1.14 does (cmd/talosctl/cmd/mgmt/validate.go: configloader, then
// Validate(mode, WithLocal())), returning the warnings, which --strict would turn into errors
// (config/types/v1alpha1/v1alpha1_validation.go).
//
// It prints one JSON object per node on stdout, as ../machinery-v1.13 does, and exits 1 when any node is
// invalid.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/siderolabs/talos/pkg/machinery/config/configloader"
	"github.com/siderolabs/talos/pkg/machinery/config/validation"
)

type node struct {
	Name   string `json:"name"`
	Config string `json:"config"`
}

type result struct {
	Name     string   `json:"name"`
	Valid    bool     `json:"valid"`
	Warnings []string `json:"warnings"`
	Error    string   `json:"error,omitempty"`
}

// metal is Talos's metal runtime mode as the validator sees it (v1.14
// internal/app/machined/pkg/runtime/mode.go: metal requires an install and is not a container).
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
		r := result{Name: n.Name, Warnings: []string{}}
		warnings, err := validate(n.Config)
		if warnings != nil {
			r.Warnings = warnings
		}
		r.Valid = err == nil
		if err != nil {
			r.Error = err.Error()
			invalid = true
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

func validate(config string) ([]string, error) {
	cfg, err := configloader.NewFromBytes([]byte(config))
	if err != nil {
		return nil, fmt.Errorf("loading the config: %w", err)
	}
	return cfg.Validate(metal{}, validation.WithLocal())
}
