// The generic core of the stand-in provider plugins: one gRPC ResourceProviderServer whose behaviour is
// driven by a per-provider rules table (proxmoxve.go, talos.go, command.go, kubernetes.go).
//
// What the core does for every provider, and why (each per-provider file cites the upstream source of its
// own rules):
//
//   - Check returns the new inputs. It reports a check failure for a required input that is missing or
//     for a value outside an enum the real schema validates, and then runs the resource's own Check hook
//     (kubernetes autonaming, Helm Release defaults). Schema defaults are not written into the checked
//     inputs: the bridged providers' plugin-framework resources add them only at plan time, so they appear
//     among the outputs (each resource's Create/Update fills them there).
//
//   - Diff compares the new inputs with the OLD INPUTS (DiffRequest.OldInputs, else Olds), as
//     pulumi-terraform-bridge's DiffConfig, pulumi-go-provider's infer Diff (pulumi-command) and the
//     kubernetes provider's "pruned live state" diff do. Secrets are compared by value; an unknown new
//     value is a change. The detailed diff has nested paths (cpu.cores, disks[0].fileId, triggers[0]), as
//     the SDK's plugin.NewDetailedDiffFromObjectDiff makes them, so that the engine's replaceOnChanges and
//     ignoreChanges paths match them. A change turns into a replacement when it touches a path of one of
//     the resource's ReplaceRules (the real provider's ForceNew / RequiresReplace / forceNew table),
//     evaluated by comparing the old and new values at that path. Replaces lists the top-level keys.
//     DeleteBeforeReplace is false unless the resource's hook says otherwise (kubernetes).
//
//   - Create/Update return outputs = inputs + the computed outputs of the real schema, built by the
//     resource's hooks; secret inputs keep their secretness (properties are unmarshalled with
//     KeepSecrets). Outputs the real schema marks sensitive are wrapped as secrets (SecretOutputs). In a
//     preview, what the real provider cannot know before it talks to its API is unknown.
//
//   - Read returns the state it is given (each resource's Read field says what the real Read does more).
//
//   - Delete succeeds (real deletes talk to the Proxmox/Talos/Kubernetes APIs or run a command).
//
//   - Fault injection: TALOS_PROXMOX_STANDIN_FAIL="<op>:<resource name>,..." (op create|update|delete,
//     resource name = the URN's last "::" segment) fails that operation (not in previews) with
//     "stand-in: injected failure of <op> of <urn>".
//
//   - Journal: TALOS_PROXMOX_STANDIN_JOURNAL=<file> appends one JSON line per Create/Update/Delete/Invoke
//     call: {"provider","op","urn","type","id","preview"} (an invoke has "token" instead of urn/type/id; a
//     failed call adds "error"). Each line is one write(2) on an O_APPEND descriptor, so the lines of the
//     several plugin processes of one deployment do not interleave.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"

	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const (
	envFail    = "TALOS_PROXMOX_STANDIN_FAIL"
	envJournal = "TALOS_PROXMOX_STANDIN_JOURNAL"
	// envSim is the control address of a simulated cluster (tools/simcluster: talos-api). With it, the
	// stand-ins act as the real providers do on what they manage, on that cluster and this machine
	// (issue 21, the end-to-end lane): the command stand-in runs its commands. Without it they run nothing
	// and reach nothing, as the engine lane needs.
	envSim = "TALOS_PROXMOX_SIM_CONTROL"
)

// simulated: the stand-ins act on a simulated cluster (envSim).
func simulated() bool { return os.Getenv(envSim) != "" }

// Plugin is the rules table of one stand-in provider.
type Plugin struct {
	Name    string
	Version string
	// Resources by type token.
	Resources map[string]*Resource
	// Generic answers type tokens not in Resources (kubernetes: any <group>/<version>:<Kind>); nil = none.
	Generic func(token string) (*Resource, error)
	// Invokes by function token.
	Invokes map[string]Invoke
	// DiffConfig diffs the provider resource's inputs; nil = pulumi-terraform-bridge's DiffConfig: every
	// change is an in-place update (no config key ForcesProviderReplace in these providers).
	DiffConfig func(olds, news resource.PropertyMap) (*pulumirpc.DiffResponse, error)
	// SupportsAutonaming is what the real Configure answers for SupportsAutonamingConfiguration.
	SupportsAutonaming bool
}

// Invoke answers a provider function; it returns the outputs (inputs echoed where the real one does).
type Invoke func(p *Provider, args resource.PropertyMap, preview bool) (resource.PropertyMap, error)

// Resource is the rules of one resource type.
type Resource struct {
	// Required top-level inputs (a missing one is a check failure; an unknown one is fine).
	Required []string
	// Enums: input path -> allowed values (checked when the value is a known string).
	Enums map[string][]string
	// Check runs after the generic checks; it may rewrite the inputs (autonaming, defaults).
	Check func(c *CheckCall) (resource.PropertyMap, []*pulumirpc.CheckFailure, error)
	// Canonical rewrites old and new inputs before they are diffed (kubernetes namespace defaulting).
	Canonical func(p *Provider, props resource.PropertyMap) resource.PropertyMap
	// Replace: the paths whose change forces a new resource.
	Replace []ReplaceRule
	// ReplaceFor computes the replace rules from the new inputs (kubernetes: per kind); optional.
	ReplaceFor func(p *Provider, news resource.PropertyMap) []ReplaceRule
	// Drift reports outputs that change although no input did (certificate renewals); optional.
	Drift func(c *DiffCall) []string
	// DeleteBeforeReplace decides DeleteBeforeReplace for a replacement; nil = false.
	DeleteBeforeReplace func(c *DiffCall) bool
	// Create returns the id ("" in a preview is fine) and the outputs.
	Create func(c *Call) (string, resource.PropertyMap, error)
	// Update returns the outputs; nil = the new inputs plus the old outputs that are not inputs.
	Update func(c *Call) (resource.PropertyMap, error)
	// Delete does what the real provider's Delete does beyond forgetting the resource (c.Olds are the
	// state's outputs, c.OldInputs its inputs); nil = nothing.
	Delete func(c *Call) error
	// SecretOutputs: output paths ([*] for every element) the real schema marks sensitive.
	SecretOutputs []string
	// Read documents what the real provider's Read does beyond returning the state.
	Read string
}

// ReplaceRule is one path whose change forces a new resource.
type ReplaceRule struct {
	// Path in Pulumi names; "[*]" stands for every element of a list.
	Path string
	// When decides, for one concrete path, whether the change from old to new forces a replacement. Both
	// values are secret-free; a missing value is null. nil = any change (an unknown new value included).
	When func(old, new resource.PropertyValue, olds, news resource.PropertyMap) bool
	// AgainstState compares the new input with the old OUTPUT (an optional+computed attribute whose plan
	// keeps the state value when it is not configured, e.g. plugin-framework UseStateForUnknown).
	AgainstState bool
}

// CheckCall is what a resource's Check hook sees.
type CheckCall struct {
	P          *Provider
	URN        string
	Name       string
	Type       string
	Olds, News resource.PropertyMap
	RandomSeed []byte
	Autonaming *pulumirpc.CheckRequest_AutonamingOptions
}

// DiffCall is what Diff hooks see.
type DiffCall struct {
	P         *Provider
	URN, ID   string
	Olds      resource.PropertyMap // old outputs (state)
	OldInputs resource.PropertyMap
	News      resource.PropertyMap
	Replaces  []string
}

// Call is what Create/Update hooks see.
type Call struct {
	P         *Provider
	URN       string
	Name      string
	Type      string
	ID        string
	News      resource.PropertyMap // checked inputs
	Olds      resource.PropertyMap // old outputs (Update only)
	OldInputs resource.PropertyMap // old inputs (Update only)
	Preview   bool
}

// Provider is the gRPC server of one stand-in plugin.
type Provider struct {
	pulumirpc.UnimplementedResourceProviderServer
	plugin *Plugin

	mu     sync.Mutex
	config resource.PropertyMap
}

// NewProvider returns the server for a rules table.
func NewProvider(p *Plugin) *Provider {
	return &Provider{plugin: p, config: resource.PropertyMap{}}
}

// Config returns the provider configuration from Configure (secrets and unknowns kept).
func (p *Provider) Config() resource.PropertyMap {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.config
}

// ConfigString returns a known string (or bool/number as text) config value, or "".
func (p *Provider) ConfigString(key string) string {
	v := plain(p.Config()[resource.PropertyKey(key)])
	switch {
	case v.IsString():
		return v.StringValue()
	case v.IsBool():
		if v.BoolValue() {
			return "true"
		}
		return "false"
	case v.IsNumber():
		return fmt.Sprint(v.NumberValue())
	}
	return ""
}

func (p *Provider) resource(token string) (*Resource, error) {
	if r, ok := p.plugin.Resources[token]; ok {
		return r, nil
	}
	if p.plugin.Generic != nil {
		return p.plugin.Generic(token)
	}
	return nil, fmt.Errorf("stand-in %s: unknown resource type %q", p.plugin.Name, token)
}

// --- properties ---------------------------------------------------------------------------------------

var unmarshalOpts = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true}

func unmarshal(s *structpb.Struct, label string) (resource.PropertyMap, error) {
	if s == nil {
		return resource.PropertyMap{}, nil
	}
	opts := unmarshalOpts
	opts.Label = label
	return plugin.UnmarshalProperties(s, opts)
}

func marshal(m resource.PropertyMap, label string) (*structpb.Struct, error) {
	opts := unmarshalOpts
	opts.Label = label
	return plugin.MarshalProperties(m, opts)
}

// plain strips secret markers (deeply); unknowns stay unknown.
func plain(v resource.PropertyValue) resource.PropertyValue {
	switch {
	case v.IsSecret():
		return plain(v.SecretValue().Element)
	case v.IsOutput():
		o := v.OutputValue()
		if !o.Known {
			return resource.MakeComputed(resource.NewProperty(""))
		}
		return plain(o.Element)
	case v.IsObject():
		return resource.NewProperty(plainMap(v.ObjectValue()))
	case v.IsArray():
		arr := make([]resource.PropertyValue, len(v.ArrayValue()))
		for i, e := range v.ArrayValue() {
			arr[i] = plain(e)
		}
		return resource.NewProperty(arr)
	}
	return v
}

func plainMap(m resource.PropertyMap) resource.PropertyMap {
	out := resource.PropertyMap{}
	for k, v := range m {
		out[k] = plain(v)
	}
	return out
}

// isUnknown reports whether the value (under any secret marker) is unknown.
func isUnknown(v resource.PropertyValue) bool {
	return plain(v).IsComputed()
}

// containsUnknowns reports whether the value contains an unknown anywhere.
func containsUnknowns(v resource.PropertyValue) bool {
	return plain(v).ContainsUnknowns()
}

// unknown is an unknown output value.
func unknown() resource.PropertyValue {
	return resource.MakeComputed(resource.NewProperty(""))
}

// str returns a known string value (secret or not) and whether it is one.
func str(v resource.PropertyValue) (string, bool) {
	v = plain(v)
	if v.IsString() {
		return v.StringValue(), true
	}
	return "", false
}

// getPath returns the value at a path (secrets stripped) or null. An unknown value on the way is returned.
func getPath(m resource.PropertyMap, path string) resource.PropertyValue {
	pp, err := resource.ParsePropertyPath(path)
	if err != nil {
		return resource.NewNullProperty()
	}
	return getPP(resource.NewProperty(m), pp)
}

func getPP(v resource.PropertyValue, pp resource.PropertyPath) resource.PropertyValue {
	for _, seg := range pp {
		v = plain(v)
		if v.IsComputed() {
			return v
		}
		switch s := seg.(type) {
		case string:
			if !v.IsObject() {
				return resource.NewNullProperty()
			}
			next, ok := v.ObjectValue()[resource.PropertyKey(s)]
			if !ok {
				return resource.NewNullProperty()
			}
			v = next
		case int:
			if !v.IsArray() || s < 0 || s >= len(v.ArrayValue()) {
				return resource.NewNullProperty()
			}
			v = v.ArrayValue()[s]
		}
	}
	return plain(v)
}

// setPath sets a value at a path of object keys, creating (or un-secreting a copy of) the objects on the
// way. It reports whether it could.
func setPath(m resource.PropertyMap, path string, v resource.PropertyValue) bool {
	pp, err := resource.ParsePropertyPath(path)
	if err != nil || len(pp) == 0 {
		return false
	}
	cur := m
	for i, seg := range pp {
		key, ok := seg.(string)
		if !ok {
			return false
		}
		k := resource.PropertyKey(key)
		if i == len(pp)-1 {
			cur[k] = v
			return true
		}
		next := cur[k]
		if next.IsSecret() {
			next = next.SecretValue().Element
		}
		if !next.IsObject() {
			next = resource.NewProperty(resource.PropertyMap{})
		}
		cur[k] = next
		cur = next.ObjectValue()
	}
	return false
}

// expand turns a path with "[*]" into the concrete paths present in either map.
func expand(path string, maps ...resource.PropertyMap) []resource.PropertyPath {
	pp, err := resource.ParsePropertyPath(path)
	if err != nil {
		return nil
	}
	out := []resource.PropertyPath{{}}
	for _, seg := range pp {
		var next []resource.PropertyPath
		for _, prefix := range out {
			if seg != "*" {
				next = append(next, append(append(resource.PropertyPath{}, prefix...), seg))
				continue
			}
			n := 0
			for _, m := range maps {
				if a := getPP(resource.NewProperty(m), prefix); a.IsArray() && len(a.ArrayValue()) > n {
					n = len(a.ArrayValue())
				}
			}
			for i := 0; i < n; i++ {
				next = append(next, append(append(resource.PropertyPath{}, prefix...), i))
			}
		}
		out = next
	}
	return out
}

// markSecret wraps the values at the given paths ([*] allowed) as secrets, where present and known (an
// unknown stays a plain unknown).
func markSecret(m resource.PropertyMap, paths []string) {
	for _, path := range paths {
		for _, pp := range expand(path, m) {
			root := resource.NewProperty(m)
			if v, ok := pp.Get(root); ok && !v.IsNull() && !v.IsSecret() && !v.IsComputed() {
				pp.Set(root, resource.MakeSecret(v))
			}
		}
	}
}

// sameValue compares two secret-free values; null and missing are equal; an unknown new value differs.
func sameValue(old, new resource.PropertyValue) bool {
	if new.ContainsUnknowns() {
		return false
	}
	if old.IsNull() || new.IsNull() {
		return old.IsNull() && new.IsNull()
	}
	return old.DeepEquals(new)
}

func copyMap(m resource.PropertyMap) resource.PropertyMap {
	return m.Copy()
}

// urnName is the URN's last "::" segment: the resource name.
func urnName(urn string) string {
	return urn[strings.LastIndex(urn, "::")+2:]
}

// urnType is the URN's type token (the last "$"-separated part of the qualified type).
func urnType(urn string) string {
	parts := strings.Split(urn, "::")
	if len(parts) < 4 {
		return ""
	}
	qualified := parts[len(parts)-2]
	return qualified[strings.LastIndex(qualified, "$")+1:]
}

// --- fault injection and journal ------------------------------------------------------------------------

func injectedFailure(op, urn string) error {
	name := urnName(urn)
	for _, entry := range strings.Split(os.Getenv(envFail), ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		if entryOp, entryName, ok := strings.Cut(entry, ":"); ok && entryOp == op && entryName == name {
			return fmt.Errorf("stand-in: injected failure of %s of %s", op, urn)
		}
	}
	return nil
}

type journalEntry struct {
	Provider string  `json:"provider"`
	Op       string  `json:"op"`
	URN      string  `json:"urn,omitempty"`
	Type     string  `json:"type,omitempty"`
	ID       *string `json:"id,omitempty"` // set for resource operations ("" in a create preview)
	Token    string  `json:"token,omitempty"`
	Preview  bool    `json:"preview"`
	Error    string  `json:"error,omitempty"`
}

func (p *Provider) journal(e journalEntry, err error) {
	file := os.Getenv(envJournal)
	if file == "" {
		return
	}
	e.Provider = p.plugin.Name
	if err != nil {
		e.Error = err.Error()
	}
	line, mErr := json.Marshal(e)
	if mErr != nil {
		return
	}
	line = append(line, '\n')
	f, oErr := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if oErr != nil {
		fmt.Fprintf(os.Stderr, "stand-in: cannot open journal %s: %v\n", file, oErr)
		return
	}
	defer f.Close()
	if _, wErr := f.Write(line); wErr != nil {
		fmt.Fprintf(os.Stderr, "stand-in: cannot write journal %s: %v\n", file, wErr)
	}
}

// --- plugin info, schema, configuration -------------------------------------------------------------------

func (p *Provider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: p.plugin.Version}, nil
}

func (p *Provider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	schema, err := json.Marshal(map[string]string{"name": p.plugin.Name, "version": p.plugin.Version})
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetSchemaResponse{Schema: string(schema)}, nil
}

func (p *Provider) Handshake(
	context.Context, *pulumirpc.ProviderHandshakeRequest,
) (*pulumirpc.ProviderHandshakeResponse, error) {
	return &pulumirpc.ProviderHandshakeResponse{
		AcceptSecrets:                   true,
		AcceptResources:                 true,
		SupportsAutonamingConfiguration: p.plugin.SupportsAutonaming,
	}, nil
}

func (p *Provider) Attach(context.Context, *pulumirpc.PluginAttach) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (p *Provider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (p *Provider) GetMapping(context.Context, *pulumirpc.GetMappingRequest) (*pulumirpc.GetMappingResponse, error) {
	return &pulumirpc.GetMappingResponse{}, nil
}

func (p *Provider) GetMappings(context.Context, *pulumirpc.GetMappingsRequest) (*pulumirpc.GetMappingsResponse, error) {
	return &pulumirpc.GetMappingsResponse{}, nil
}

// CheckConfig returns the configuration as given (unknown values are fine in a preview).
func (p *Provider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

// DiffConfig diffs the provider resource's configuration by the plugin's rule.
func (p *Provider) DiffConfig(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := unmarshal(oldInputsOf(req), "olds")
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews(), "news")
	if err != nil {
		return nil, err
	}
	if p.plugin.DiffConfig != nil {
		return p.plugin.DiffConfig(olds, news)
	}
	return diffProps(&DiffCall{P: p, URN: req.GetUrn(), OldInputs: olds, News: news}, nil, req.GetIgnoreChanges())
}

// Configure keeps the configuration (from Args, or from the "<pkg>:config:<key>" Variables).
func (p *Provider) Configure(_ context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	var config resource.PropertyMap
	if req.GetArgs() != nil {
		var err error
		if config, err = unmarshal(req.GetArgs(), "config"); err != nil {
			return nil, err
		}
	} else {
		config = resource.PropertyMap{}
		for k, v := range req.GetVariables() {
			key := k
			if i := strings.LastIndex(k, ":"); i >= 0 {
				key = k[i+1:]
			}
			config[resource.PropertyKey(key)] = resource.NewProperty(v)
		}
	}
	p.mu.Lock()
	p.config = config
	p.mu.Unlock()
	return &pulumirpc.ConfigureResponse{
		AcceptSecrets:                   true,
		SupportsPreview:                 true,
		AcceptResources:                 true,
		SupportsAutonamingConfiguration: p.plugin.SupportsAutonaming,
	}, nil
}

// --- resources -------------------------------------------------------------------------------------------

func oldInputsOf(req *pulumirpc.DiffRequest) *structpb.Struct {
	if req.GetOldInputs() != nil {
		return req.GetOldInputs()
	}
	return req.GetOlds()
}

func (p *Provider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	urn := req.GetUrn()
	r, err := p.resource(urnType(urn))
	if err != nil {
		return nil, err
	}
	olds, err := unmarshal(req.GetOlds(), "olds")
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews(), "news")
	if err != nil {
		return nil, err
	}
	var failures []*pulumirpc.CheckFailure
	for _, key := range r.Required {
		if v, ok := news[resource.PropertyKey(key)]; !ok || v.IsNull() {
			failures = append(failures, &pulumirpc.CheckFailure{
				Property: key,
				Reason:   fmt.Sprintf("Missing required argument %q", key),
			})
		}
	}
	for _, path := range sortedKeys(r.Enums) {
		if s, ok := str(getPath(news, path)); ok && !contains(r.Enums[path], s) {
			failures = append(failures, &pulumirpc.CheckFailure{
				Property: path,
				Reason:   fmt.Sprintf("%q must be one of %s, got %q", path, strings.Join(r.Enums[path], ", "), s),
			})
		}
	}
	if r.Check != nil {
		var more []*pulumirpc.CheckFailure
		news, more, err = r.Check(&CheckCall{
			P: p, URN: urn, Name: urnName(urn), Type: urnType(urn), Olds: olds, News: news,
			RandomSeed: req.GetRandomSeed(), Autonaming: req.GetAutonaming(),
		})
		if err != nil {
			return nil, err
		}
		failures = append(failures, more...)
	}
	inputs, err := marshal(news, "checked")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: inputs, Failures: failures}, nil
}

func (p *Provider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	urn := req.GetUrn()
	r, err := p.resource(urnType(urn))
	if err != nil {
		return nil, err
	}
	olds, err := unmarshal(req.GetOlds(), "olds")
	if err != nil {
		return nil, err
	}
	oldInputs, err := unmarshal(oldInputsOf(req), "oldInputs")
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews(), "news")
	if err != nil {
		return nil, err
	}
	c := &DiffCall{P: p, URN: urn, ID: req.GetId(), Olds: olds, OldInputs: oldInputs, News: news}
	return diffProps(c, r, req.GetIgnoreChanges())
}

// diffProps is the generic diff (see the file comment). r == nil diffs a provider configuration.
func diffProps(c *DiffCall, r *Resource, ignoreChanges []string) (*pulumirpc.DiffResponse, error) {
	olds, news := plainMap(c.OldInputs), plainMap(c.News)
	// ignoreChanges: keep the old value (the engine already did this before Check; the bridge does it again).
	for _, ignore := range ignoreChanges {
		pp, err := resource.ParsePropertyPath(ignore)
		if err != nil {
			return nil, fmt.Errorf("ignoreChanges path %q: %w", ignore, err)
		}
		if old, ok := pp.Get(resource.NewProperty(olds)); ok {
			pp.Set(resource.NewProperty(news), old)
		} else {
			pp.Delete(resource.NewProperty(news))
		}
	}
	if r != nil && r.Canonical != nil {
		olds, news = r.Canonical(c.P, olds), r.Canonical(c.P, news)
	}

	detailed := map[string]*pulumirpc.PropertyDiff{}
	for path, d := range plugin.NewDetailedDiffFromObjectDiff(olds.Diff(news), true) {
		detailed[path] = &pulumirpc.PropertyDiff{Kind: rpcKind(d.Kind), InputDiff: true}
	}

	replaceKeys := map[string]bool{}
	if r != nil {
		rules := r.Replace
		if r.ReplaceFor != nil {
			rules = append(append([]ReplaceRule{}, rules...), r.ReplaceFor(c.P, news)...)
		}
		state := plainMap(c.Olds)
		for _, rule := range rules {
			base := olds
			if rule.AgainstState {
				base = state
			}
			for _, pp := range expand(rule.Path, base, news) {
				old, new := getPP(resource.NewProperty(base), pp), getPP(resource.NewProperty(news), pp)
				when := rule.When
				if when == nil {
					when = func(old, new resource.PropertyValue, _, _ resource.PropertyMap) bool {
						return !sameValue(old, new)
					}
				}
				if !when(old, new, olds, news) {
					continue
				}
				marked := false
				for key, d := range detailed {
					kp, err := resource.ParsePropertyPath(key)
					if err == nil && overlaps(kp, pp) {
						d.Kind = replaceKind(d.Kind)
						marked = true
					}
				}
				if !marked {
					detailed[pp.String()] = &pulumirpc.PropertyDiff{Kind: pulumirpc.PropertyDiff_UPDATE_REPLACE, InputDiff: true}
				}
				replaceKeys[fmt.Sprint(pp[0])] = true
			}
		}
		if r.Drift != nil {
			for _, key := range r.Drift(c) {
				if _, ok := detailed[key]; !ok {
					detailed[key] = &pulumirpc.PropertyDiff{Kind: pulumirpc.PropertyDiff_UPDATE, InputDiff: false}
				}
			}
		}
	}

	changed := map[string]bool{}
	for key := range detailed {
		if kp, err := resource.ParsePropertyPath(key); err == nil && len(kp) > 0 {
			changed[fmt.Sprint(kp[0])] = true
		}
	}
	resp := &pulumirpc.DiffResponse{
		Changes:         pulumirpc.DiffResponse_DIFF_NONE,
		Diffs:           sortedKeys(changed),
		Replaces:        sortedKeys(replaceKeys),
		DetailedDiff:    detailed,
		HasDetailedDiff: true,
	}
	if len(detailed) > 0 {
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	if r != nil && len(resp.Replaces) > 0 && r.DeleteBeforeReplace != nil {
		c.Replaces = resp.Replaces
		resp.DeleteBeforeReplace = r.DeleteBeforeReplace(c)
	}
	return resp, nil
}

// overlaps reports whether one path is a prefix of (or equal to) the other.
func overlaps(a, b resource.PropertyPath) bool {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if fmt.Sprint(a[i]) != fmt.Sprint(b[i]) {
			return false
		}
	}
	return true
}

func rpcKind(k plugin.DiffKind) pulumirpc.PropertyDiff_Kind {
	switch k {
	case plugin.DiffAdd:
		return pulumirpc.PropertyDiff_ADD
	case plugin.DiffAddReplace:
		return pulumirpc.PropertyDiff_ADD_REPLACE
	case plugin.DiffDelete:
		return pulumirpc.PropertyDiff_DELETE
	case plugin.DiffDeleteReplace:
		return pulumirpc.PropertyDiff_DELETE_REPLACE
	case plugin.DiffUpdateReplace:
		return pulumirpc.PropertyDiff_UPDATE_REPLACE
	default:
		return pulumirpc.PropertyDiff_UPDATE
	}
}

func replaceKind(k pulumirpc.PropertyDiff_Kind) pulumirpc.PropertyDiff_Kind {
	switch k {
	case pulumirpc.PropertyDiff_ADD:
		return pulumirpc.PropertyDiff_ADD_REPLACE
	case pulumirpc.PropertyDiff_DELETE:
		return pulumirpc.PropertyDiff_DELETE_REPLACE
	case pulumirpc.PropertyDiff_UPDATE:
		return pulumirpc.PropertyDiff_UPDATE_REPLACE
	}
	return k
}

func (p *Provider) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	urn, preview := req.GetUrn(), req.GetPreview()
	id, props, err := p.create(req)
	p.journal(journalEntry{Op: "create", URN: urn, Type: urnType(urn), ID: &id, Preview: preview}, err)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

func (p *Provider) create(req *pulumirpc.CreateRequest) (string, *structpb.Struct, error) {
	urn := req.GetUrn()
	if !req.GetPreview() {
		if err := injectedFailure("create", urn); err != nil {
			return "", nil, err
		}
	}
	r, err := p.resource(urnType(urn))
	if err != nil {
		return "", nil, err
	}
	news, err := unmarshal(req.GetProperties(), "properties")
	if err != nil {
		return "", nil, err
	}
	id, outs, err := r.Create(&Call{
		P: p, URN: urn, Name: urnName(urn), Type: urnType(urn), News: news, Preview: req.GetPreview(),
	})
	if err != nil {
		return "", nil, err
	}
	markSecret(outs, r.SecretOutputs)
	props, err := marshal(outs, "outputs")
	return id, props, err
}

func (p *Provider) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	urn, preview := req.GetUrn(), req.GetPreview()
	props, err := p.update(req)
	id := req.GetId()
	p.journal(journalEntry{Op: "update", URN: urn, Type: urnType(urn), ID: &id, Preview: preview}, err)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

func (p *Provider) update(req *pulumirpc.UpdateRequest) (*structpb.Struct, error) {
	urn := req.GetUrn()
	if !req.GetPreview() {
		if err := injectedFailure("update", urn); err != nil {
			return nil, err
		}
	}
	r, err := p.resource(urnType(urn))
	if err != nil {
		return nil, err
	}
	olds, err := unmarshal(req.GetOlds(), "olds")
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews(), "news")
	if err != nil {
		return nil, err
	}
	oldInputs := olds
	if req.GetOldInputs() != nil {
		if oldInputs, err = unmarshal(req.GetOldInputs(), "oldInputs"); err != nil {
			return nil, err
		}
	}
	c := &Call{
		P: p, URN: urn, Name: urnName(urn), Type: urnType(urn), ID: req.GetId(),
		News: news, Olds: olds, OldInputs: oldInputs, Preview: req.GetPreview(),
	}
	var outs resource.PropertyMap
	if r.Update != nil {
		outs, err = r.Update(c)
	} else {
		outs = keepComputed(c)
	}
	if err != nil {
		return nil, err
	}
	markSecret(outs, r.SecretOutputs)
	return marshal(outs, "outputs")
}

// keepComputed is the default Update: the new inputs plus the old outputs that are not inputs (computed).
func keepComputed(c *Call) resource.PropertyMap {
	outs := copyMap(c.News)
	for k, v := range c.Olds {
		if _, isInput := c.OldInputs[k]; isInput {
			continue
		}
		if _, given := outs[k]; !given {
			outs[k] = v
		}
	}
	return outs
}

func (p *Provider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	if _, err := p.resource(urnType(req.GetUrn())); err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

func (p *Provider) Delete(_ context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	urn := req.GetUrn()
	err := injectedFailure("delete", urn)
	var r *Resource
	if err == nil {
		r, err = p.resource(urnType(urn))
	}
	if err == nil && r.Delete != nil {
		err = p.deleteWith(r, req)
	}
	id := req.GetId()
	p.journal(journalEntry{Op: "delete", URN: urn, Type: urnType(urn), ID: &id}, err)
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func (p *Provider) deleteWith(r *Resource, req *pulumirpc.DeleteRequest) error {
	olds, err := unmarshal(req.GetProperties(), "properties")
	if err != nil {
		return err
	}
	oldInputs, err := unmarshal(req.GetOldInputs(), "oldInputs")
	if err != nil {
		return err
	}
	urn := req.GetUrn()
	return r.Delete(&Call{P: p, URN: urn, Name: urnName(urn), Type: urnType(urn), ID: req.GetId(), Olds: olds, OldInputs: oldInputs})
}

func (p *Provider) Invoke(_ context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	tok := req.GetTok()
	ret, err := p.invoke(req)
	p.journal(journalEntry{Op: "invoke", Token: tok, Preview: req.GetPreview()}, err)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.InvokeResponse{Return: ret}, nil
}

func (p *Provider) invoke(req *pulumirpc.InvokeRequest) (*structpb.Struct, error) {
	fn, ok := p.plugin.Invokes[req.GetTok()]
	if !ok {
		return nil, fmt.Errorf("stand-in %s: unknown function %q", p.plugin.Name, req.GetTok())
	}
	args, err := unmarshal(req.GetArgs(), "args")
	if err != nil {
		return nil, err
	}
	ret, err := fn(p, args, req.GetPreview())
	if err != nil {
		return nil, err
	}
	return marshal(ret, "return")
}

// --- small helpers ---------------------------------------------------------------------------------------

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// errOffline is the error of a function that needs a live API the stand-in does not have.
func errOffline(what, needs string) error {
	return errors.New("stand-in: " + what + " is not available offline: the real provider " + needs)
}
