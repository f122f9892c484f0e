package main

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func TestCommand(t *testing.T) {
	const typ = "command:local:Command"
	h := newHarness(t, commandPlugin)
	in := props(map[string]any{
		"create":   "talosctl upgrade --image x",
		"triggers": []any{"v1.13.8"},
		"stdin":    "secret-talosconfig",
	})
	in["stdin"] = resource.MakeSecret(in["stdin"])
	id, outs := h.create(typ, "upgrade", in, false)
	if !strings.HasPrefix(id, "upgrade") || len(id) != len("upgrade")+8 {
		t.Errorf("id = %q, want the name and 8 hex digits", id)
	}
	if stringAt(t, outs, "stdout") != "" || stringAt(t, outs, "stderr") != "" {
		t.Errorf("stdout/stderr: %v", outs)
	}
	expectSecret(t, outs, "stdin")
	if outs["stdout"].IsSecret() {
		t.Error("stdout should not inherit stdin's secretness")
	}

	// triggers replaceOnChanges; create (and everything else) updates.
	newTrigger := in.Copy()
	newTrigger["triggers"] = resource.NewPropertyValue([]any{"v1.13.9"})
	resp := h.diff(typ, "upgrade", outs, in, newTrigger)
	expectReplace(t, resp, "triggers")
	expectKind(t, resp, "triggers[0]", pulumirpc.PropertyDiff_UPDATE_REPLACE)
	newCreate := in.Copy()
	newCreate["create"] = resource.NewProperty("talosctl upgrade --image y")
	expectReplace(t, h.diff(typ, "upgrade", outs, in, newCreate))
	newStdin := in.Copy()
	newStdin["stdin"] = resource.MakeSecret(resource.NewProperty("other"))
	resp = h.diff(typ, "upgrade", outs, in, newStdin)
	expectReplace(t, resp)
	expectKind(t, resp, "stdin", pulumirpc.PropertyDiff_UPDATE)

	// Preview: stdout and stderr are unknown (create and update).
	_, preview := h.create(typ, "upgrade", in, true)
	expectUnknown(t, preview, "stdout", "stderr")
	up := h.update(typ, "upgrade", id, outs, in, newCreate, true)
	expectUnknown(t, up, "stdout", "stderr")
	up = h.update(typ, "upgrade", id, outs, in, newCreate, false)
	expectSecret(t, up, "stdin")
}
