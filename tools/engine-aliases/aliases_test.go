// The real Pulumi engine (github.com/pulumi/pulumi/pkg/v3, its deployment engine and step generator,
// run by its own lifecycle-test framework) given the registrations of two runs of a program, as the
// offline engine recorded them: the first is deployed, then the second updates it. It writes what the
// engine did to each resource of the second run, so that a test can check that a release which moves
// resources under a new parent, with aliases, keeps every one of them.
//
// Input (ENGINE_ALIASES_INPUT, JSON): {"project", "stack", "before": [...], "after": [...]}, each
// registration {"urn", "type", "name", "custom", "parent", "provider", "aliases"} in registration order.
// Output (ENGINE_ALIASES_OUTPUT, JSON): {"urns": {<urn the engine gave>: <urn recorded offline>},
// "steps": [{"op", "urn", "old"}]}, "old" being the URN of the state the step started from.
package engineAliases

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/blang/semver"
	"github.com/stretchr/testify/require"

	. "github.com/pulumi/pulumi/pkg/v3/engine"
	lt "github.com/pulumi/pulumi/pkg/v3/engine/lifecycletest/framework"
	"github.com/pulumi/pulumi/pkg/v3/resource/deploy"
	"github.com/pulumi/pulumi/pkg/v3/resource/deploy/deploytest"
	"github.com/pulumi/pulumi/pkg/v3/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

type alias struct {
	URN       string `json:"urn"`
	Name      string `json:"name"`
	Type      string `json:"type"`
	Project   string `json:"project"`
	Stack     string `json:"stack"`
	ParentURN string `json:"parentUrn"`
	NoParent  bool   `json:"noParent"`
}

type registration struct {
	URN      string  `json:"urn"`
	Type     string  `json:"type"`
	Name     string  `json:"name"`
	Custom   bool    `json:"custom"`
	Parent   string  `json:"parent"`
	Provider string  `json:"provider"`
	Aliases  []alias `json:"aliases"`
}

type input struct {
	Project string         `json:"project"`
	Stack   string         `json:"stack"`
	Before  []registration `json:"before"`
	After   []registration `json:"after"`
}

type step struct {
	Op  string `json:"op"`
	URN string `json:"urn"`
	// The URN of the old state the step started from, if any.
	Old string `json:"old,omitempty"`
}

type output struct {
	URNs  map[string]string `json:"urns"`
	Steps []step            `json:"steps"`
}

// The package of a custom resource's provider: "pulumi:providers:<pkg>" for a provider, else the
// first element of the type token.
func packageOf(r registration) string {
	if pkg, ok := strings.CutPrefix(r.Type, "pulumi:providers:"); ok {
		return pkg
	}
	return strings.SplitN(r.Type, ":", 2)[0]
}

// A provider that creates anything with the inputs it is given: the engine, not the providers, is what
// this checks.
func loaders(runs input) []*deploytest.ProviderLoader {
	seen := map[string]bool{}
	var result []*deploytest.ProviderLoader
	for _, r := range append(append([]registration{}, runs.Before...), runs.After...) {
		if !r.Custom || seen[packageOf(r)] {
			continue
		}
		seen[packageOf(r)] = true
		result = append(result, deploytest.NewProviderLoader(tokens.Package(packageOf(r)), semver.MustParse("1.0.0"),
			func() (plugin.Provider, error) {
				return &deploytest.Provider{
					CreateF: func(_ context.Context, req plugin.CreateRequest) (plugin.CreateResponse, error) {
						return plugin.CreateResponse{ID: "id", Properties: req.Properties, Status: resource.StatusOK}, nil
					},
				}, nil
			}, deploytest.WithoutGrpc))
	}
	return result
}

// Registers a run's resources in their order, each parent and provider as the engine named it.
func register(t *testing.T, monitor *deploytest.ResourceMonitor, regs []registration, urns map[string]string) error {
	engineURN := map[string]resource.URN{}
	engineID := map[string]resource.ID{}
	for _, r := range regs {
		opts := deploytest.ResourceOptions{AliasSpecs: true}
		if r.Parent != "" {
			opts.Parent = engineURN[r.Parent]
		}
		if r.Provider != "" {
			providerURN := r.Provider[:strings.LastIndex(r.Provider, "::")]
			opts.Provider = fmt.Sprintf("%s::%s", engineURN[providerURN], engineID[providerURN])
		}
		for _, a := range r.Aliases {
			if a.URN != "" {
				opts.Aliases = append(opts.Aliases, &pulumirpc.Alias{Alias: &pulumirpc.Alias_Urn{Urn: a.URN}})
				continue
			}
			spec := &pulumirpc.Alias_Spec{Name: a.Name, Type: a.Type, Project: a.Project, Stack: a.Stack}
			if a.NoParent {
				spec.Parent = &pulumirpc.Alias_Spec_NoParent{NoParent: true}
			} else if a.ParentURN != "" {
				spec.Parent = &pulumirpc.Alias_Spec_ParentUrn{ParentUrn: string(engineURN[a.ParentURN])}
			}
			opts.Aliases = append(opts.Aliases, &pulumirpc.Alias{Alias: &pulumirpc.Alias_Spec_{Spec: spec}})
		}
		resp, err := monitor.RegisterResource(tokens.Type(r.Type), r.Name, r.Custom, opts)
		if err != nil {
			return fmt.Errorf("registering %s: %w", r.URN, err)
		}
		engineURN[r.URN] = resp.URN
		engineID[r.URN] = resp.ID
		urns[string(resp.URN)] = r.URN
	}
	return nil
}

func TestUpdate(t *testing.T) {
	data, err := os.ReadFile(os.Getenv("ENGINE_ALIASES_INPUT"))
	require.NoError(t, err)
	var runs input
	require.NoError(t, json.Unmarshal(data, &runs))

	second := false
	result := output{URNs: map[string]string{}}
	program := deploytest.NewLanguageRuntimeF(func(_ plugin.RunInfo, monitor *deploytest.ResourceMonitor) error {
		if second {
			return register(t, monitor, runs.After, result.URNs)
		}
		return register(t, monitor, runs.Before, map[string]string{})
	})
	plan := &lt.TestPlan{
		Project: runs.Project,
		Stack:   runs.Stack,
		Options: lt.TestUpdateOptions{
			T:                t,
			HostF:            deploytest.NewPluginHostF(nil, nil, program, nil, nil, loaders(runs)...),
			SkipDisplayTests: true,
		},
	}
	project := plan.GetProject()

	snap, err := lt.TestOp(Update).RunStep(project, plan.GetTarget(t, nil), plan.Options, false, plan.BackendClient, nil, "0")
	require.NoError(t, err)

	second = true
	_, err = lt.TestOp(Update).RunStep(project, plan.GetTarget(t, snap), plan.Options, false, plan.BackendClient,
		func(_ workspace.Project, _ deploy.Target, entries JournalEntries, _ []Event, err error) error {
			// A step's begin and its end are two entries: one step each, as it ended.
			for _, entry := range entries {
				if entry.Kind == TestJournalEntrySuccess {
					s := step{Op: string(entry.Step.Op()), URN: string(entry.Step.URN())}
					if old := entry.Step.Old(); old != nil {
						s.Old = string(old.URN)
					}
					result.Steps = append(result.Steps, s)
				}
			}
			return err
		}, "1")
	require.NoError(t, err)

	written, err := json.MarshalIndent(result, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(os.Getenv("ENGINE_ALIASES_OUTPUT"), written, 0o600))
}
