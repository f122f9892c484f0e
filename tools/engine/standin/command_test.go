package main

import (
	"context"
	"os"
	"path/filepath"
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

// On a simulated cluster the commands run as pulumi-command v1.2.1 runs them (command.go).
func TestCommandRunsOnASimulatedCluster(t *testing.T) {
	const typ = "command:local:Command"
	h := newHarness(t, commandPlugin)
	marker := filepath.Join(t.TempDir(), "deleted")
	in := props(map[string]any{
		"create":      `echo "$GREETING"; cat; echo warned >&2`,
		"update":      `echo "was: $PULUMI_COMMAND_STDOUT"`,
		"delete":      `echo gone > "$MARKER"`,
		"environment": map[string]any{"GREETING": "hello", "MARKER": marker},
		"stdin":       "from stdin\n",
	})
	in["stdin"] = resource.MakeSecret(in["stdin"])

	// Without a simulated cluster nothing runs.
	_, outs := h.create(typ, "cmd", in, false)
	if stringAt(t, outs, "stdout") != "" {
		t.Errorf("ran without a simulated cluster: %v", outs)
	}

	t.Setenv(envSim, "127.0.0.1:1")
	id, outs := h.create(typ, "cmd", in, false)
	if got := stringAt(t, outs, "stdout"); got != "hello\nfrom stdin" {
		t.Errorf("stdout = %q", got)
	}
	if got := stringAt(t, outs, "stderr"); got != "warned" {
		t.Errorf("stderr = %q", got)
	}
	changed := in.Copy()
	changed["environment"] = resource.NewPropertyValue(map[string]any{"GREETING": "again", "MARKER": marker})
	up := h.update(typ, "cmd", id, outs, in, changed, false)
	if got := stringAt(t, up, "stdout"); got != "was: hello\nfrom stdin" {
		t.Errorf("update stdout = %q", got)
	}
	if _, err := h.p.Delete(context.Background(), &pulumirpc.DeleteRequest{
		Urn: urnOf(typ, "cmd"), Id: id, Properties: h.pack(up), OldInputs: h.pack(changed),
	}); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(marker); err != nil || string(data) != "gone\n" {
		t.Errorf("delete did not run: %q %v", data, err)
	}

	failing := props(map[string]any{"create": "echo on-stdout; echo boom >&2; exit 3"})
	_, _, err := h.tryCreate(typ, "failing", failing, false)
	if err == nil || !strings.Contains(err.Error(), `exit status 3: running "echo on-stdout; echo boom >&2; exit 3"`) ||
		!strings.Contains(err.Error(), "on-stdout") || !strings.Contains(err.Error(), "boom") {
		t.Errorf("failed create: %v", err)
	}
}
