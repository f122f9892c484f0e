package main

import (
	"context"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// harness drives one stand-in provider through its gRPC methods, as the engine does.
type harness struct {
	t *testing.T
	p *Provider
}

func newHarness(t *testing.T, plugin func() *Plugin) *harness {
	t.Helper()
	return &harness{t: t, p: NewProvider(plugin())}
}

func urnOf(typ, name string) string {
	return "urn:pulumi:test::project::" + typ + "::" + name
}

func props(m map[string]any) resource.PropertyMap {
	return resource.NewPropertyMapFromMap(m)
}

func (h *harness) pack(m resource.PropertyMap) *structpb.Struct {
	h.t.Helper()
	if m == nil {
		return nil
	}
	s, err := marshal(m, "test")
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

func (h *harness) unpack(s *structpb.Struct) resource.PropertyMap {
	h.t.Helper()
	m, err := unmarshal(s, "test")
	if err != nil {
		h.t.Fatal(err)
	}
	return m
}

func (h *harness) configure(config resource.PropertyMap) {
	h.t.Helper()
	if _, err := h.p.Configure(context.Background(), &pulumirpc.ConfigureRequest{Args: h.pack(config), AcceptSecrets: true}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) check(typ, name string, olds, news resource.PropertyMap) (resource.PropertyMap, []*pulumirpc.CheckFailure) {
	h.t.Helper()
	resp, err := h.p.Check(context.Background(), &pulumirpc.CheckRequest{
		Urn: urnOf(typ, name), Olds: h.pack(olds), News: h.pack(news), RandomSeed: []byte("seed-" + name),
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return h.unpack(resp.GetInputs()), resp.GetFailures()
}

func (h *harness) diff(typ, name string, olds, oldInputs, news resource.PropertyMap) *pulumirpc.DiffResponse {
	h.t.Helper()
	resp, err := h.p.Diff(context.Background(), &pulumirpc.DiffRequest{
		Urn: urnOf(typ, name), Id: "id", Olds: h.pack(olds), OldInputs: h.pack(oldInputs), News: h.pack(news),
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return resp
}

func (h *harness) create(typ, name string, news resource.PropertyMap, preview bool) (string, resource.PropertyMap) {
	h.t.Helper()
	id, outs, err := h.tryCreate(typ, name, news, preview)
	if err != nil {
		h.t.Fatal(err)
	}
	return id, outs
}

func (h *harness) tryCreate(typ, name string, news resource.PropertyMap, preview bool) (string, resource.PropertyMap, error) {
	h.t.Helper()
	resp, err := h.p.Create(context.Background(), &pulumirpc.CreateRequest{
		Urn: urnOf(typ, name), Properties: h.pack(news), Preview: preview,
	})
	if err != nil {
		return "", nil, err
	}
	return resp.GetId(), h.unpack(resp.GetProperties()), nil
}

func (h *harness) update(typ, name, id string, olds, oldInputs, news resource.PropertyMap, preview bool) resource.PropertyMap {
	h.t.Helper()
	resp, err := h.p.Update(context.Background(), &pulumirpc.UpdateRequest{
		Urn: urnOf(typ, name), Id: id, Olds: h.pack(olds), OldInputs: h.pack(oldInputs), News: h.pack(news), Preview: preview,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return h.unpack(resp.GetProperties())
}

func (h *harness) invoke(tok string, args resource.PropertyMap) resource.PropertyMap {
	h.t.Helper()
	resp, err := h.p.Invoke(context.Background(), &pulumirpc.InvokeRequest{Tok: tok, Args: h.pack(args)})
	if err != nil {
		h.t.Fatal(err)
	}
	return h.unpack(resp.GetReturn())
}

// expectReplace asserts the diff is a change with exactly these replace keys (none = an update).
func expectReplace(t *testing.T, resp *pulumirpc.DiffResponse, replaces ...string) {
	t.Helper()
	if resp.GetChanges() != pulumirpc.DiffResponse_DIFF_SOME {
		t.Fatalf("expected changes, got %v (detailed %v)", resp.GetChanges(), resp.GetDetailedDiff())
	}
	got := resp.GetReplaces()
	if len(got) != len(replaces) {
		t.Fatalf("replaces = %v, want %v (detailed %v)", got, replaces, resp.GetDetailedDiff())
	}
	for i := range got {
		if got[i] != replaces[i] {
			t.Fatalf("replaces = %v, want %v", got, replaces)
		}
	}
}

func expectKind(t *testing.T, resp *pulumirpc.DiffResponse, path string, kind pulumirpc.PropertyDiff_Kind) {
	t.Helper()
	d, ok := resp.GetDetailedDiff()[path]
	if !ok || d.GetKind() != kind {
		t.Fatalf("detailed diff at %s = %v, want %v (all: %v)", path, d, kind, resp.GetDetailedDiff())
	}
}

// at returns the value at a path of outputs, secret markers kept.
func at(t *testing.T, m resource.PropertyMap, path string) resource.PropertyValue {
	t.Helper()
	pp, err := resource.ParsePropertyPath(path)
	if err != nil {
		t.Fatal(err)
	}
	v := resource.NewProperty(m)
	for _, seg := range pp {
		if v.IsSecret() {
			v = v.SecretValue().Element
		}
		switch s := seg.(type) {
		case string:
			if !v.IsObject() {
				t.Fatalf("%s: not an object at %q", path, s)
			}
			v = v.ObjectValue()[resource.PropertyKey(s)]
		case int:
			if !v.IsArray() || s >= len(v.ArrayValue()) {
				t.Fatalf("%s: no element %d", path, s)
			}
			v = v.ArrayValue()[s]
		}
	}
	return v
}

func expectSecret(t *testing.T, m resource.PropertyMap, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if v := at(t, m, p); !v.IsSecret() {
			t.Errorf("%s is not secret: %v", p, v)
		}
	}
}

func expectUnknown(t *testing.T, m resource.PropertyMap, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if v := at(t, m, p); !v.IsComputed() {
			t.Errorf("%s is not unknown: %v", p, v)
		}
	}
}

func stringAt(t *testing.T, m resource.PropertyMap, path string) string {
	t.Helper()
	s, ok := str(at(t, m, path))
	if !ok {
		t.Fatalf("%s is not a string: %v", path, at(t, m, path))
	}
	return s
}
