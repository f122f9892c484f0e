package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func TestPluginFor(t *testing.T) {
	for name, version := range map[string]string{"talos": "0.8.1", "proxmoxve": "8.6.0", "command": "1.2.1", "kubernetes": "4.34.2"} {
		p, err := pluginFor("/home/x/.pulumi/plugins/resource-" + name + "-v" + version + "/pulumi-resource-" + name)
		if err != nil {
			t.Fatal(err)
		}
		info, _ := NewProvider(p).GetPluginInfo(context.Background(), &emptypb.Empty{})
		if p.Name != name || info.GetVersion() != version {
			t.Errorf("%s: got %s %s", name, p.Name, info.GetVersion())
		}
	}
	for _, bad := range []string{"/x/pulumi-resource-aws", "/x/standin"} {
		if _, err := pluginFor(bad); err == nil {
			t.Errorf("%s: expected an error", bad)
		}
	}
}

func TestFaultInjection(t *testing.T) {
	t.Setenv(envFail, "create:cp-2, delete:cp-1")
	h := newHarness(t, proxmoxvePlugin)
	if _, _, err := h.tryCreate(vmType, "cp-1", props(vmInputs()), false); err != nil {
		t.Fatalf("cp-1 create: %v", err)
	}
	_, _, err := h.tryCreate(vmType, "cp-2", props(vmInputs()), false)
	want := "stand-in: injected failure of create of " + urnOf(vmType, "cp-2")
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	// Previews are not failed.
	if _, _, err := h.tryCreate(vmType, "cp-2", props(vmInputs()), true); err != nil {
		t.Fatalf("preview: %v", err)
	}
	if _, err := h.p.Delete(context.Background(), &pulumirpc.DeleteRequest{Urn: urnOf(vmType, "cp-1"), Id: "101"}); err == nil ||
		!strings.Contains(err.Error(), "injected failure of delete") {
		t.Fatalf("delete: %v", err)
	}
	if _, err := h.p.Delete(context.Background(), &pulumirpc.DeleteRequest{Urn: urnOf(vmType, "cp-3"), Id: "103"}); err != nil {
		t.Fatalf("delete cp-3: %v", err)
	}
}

func TestJournal(t *testing.T) {
	file := filepath.Join(t.TempDir(), "journal.jsonl")
	t.Setenv(envJournal, file)
	t.Setenv(envFail, "update:cp-9")
	vm := newHarness(t, proxmoxvePlugin)
	talos := newHarness(t, talosPlugin)

	// Many concurrent writers: every line stays whole.
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			in := props(vmInputs())
			in["vmId"] = resourceNumber(float64(200 + i))
			vm.create(vmType, fmt.Sprintf("vm-%d", i), in, false)
		}(i)
	}
	wg.Wait()
	vm.update(vmType, "cp-1", "101", props(vmInputs()), props(vmInputs()), props(vmInputs()), true)
	if _, err := vm.p.Update(context.Background(), &pulumirpc.UpdateRequest{
		Urn: urnOf(vmType, "cp-9"), Id: "109", Olds: vm.pack(props(vmInputs())), News: vm.pack(props(vmInputs())),
	}); err == nil {
		t.Fatal("expected the injected update failure")
	}
	if _, err := vm.p.Delete(context.Background(), &pulumirpc.DeleteRequest{Urn: urnOf(vmType, "cp-1"), Id: "101"}); err != nil {
		t.Fatal(err)
	}
	talos.invoke("talos:cluster/getHealth:getHealth", props(map[string]any{
		"endpoints": []any{"10.0.0.11"}, "controlPlaneNodes": []any{"10.0.0.11"},
		"clientConfiguration": map[string]any{"caCertificate": "", "clientCertificate": "", "clientKey": ""},
	}))

	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var entries []map[string]any
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		var e map[string]any
		if err := json.Unmarshal(scanner.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", scanner.Text(), err)
		}
		entries = append(entries, e)
	}
	if len(entries) != 44 {
		t.Fatalf("%d journal lines, want 44", len(entries))
	}
	byOp := map[string][]map[string]any{}
	for _, e := range entries {
		byOp[e["op"].(string)] = append(byOp[e["op"].(string)], e)
	}
	if len(byOp["create"]) != 40 || len(byOp["update"]) != 2 || len(byOp["delete"]) != 1 || len(byOp["invoke"]) != 1 {
		t.Fatalf("ops: %v", byOp)
	}
	c := byOp["create"][0]
	if c["provider"] != "proxmoxve" || c["type"] != vmType || c["preview"] != false || c["id"] == "" ||
		!strings.HasPrefix(c["urn"].(string), "urn:pulumi:") {
		t.Errorf("create entry %v", c)
	}
	for _, u := range byOp["update"] {
		switch u["id"] {
		case "101":
			if u["preview"] != true {
				t.Errorf("preview update entry %v", u)
			}
		case "109":
			if !strings.Contains(u["error"].(string), "injected failure of update") {
				t.Errorf("failed update entry %v", u)
			}
		default:
			t.Errorf("update entry %v", u)
		}
	}
	inv := byOp["invoke"][0]
	if inv["provider"] != "talos" || inv["token"] != "talos:cluster/getHealth:getHealth" || inv["urn"] != nil || inv["id"] != nil {
		t.Errorf("invoke entry %v", inv)
	}
}

// TestServe builds the binary under a provider's plugin name, starts it as the engine would (attach
// mode: no engine address), reads the port it prints and asks it for its plugin info over gRPC.
func TestServe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "pulumi-resource-kubernetes")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient("127.0.0.1:"+strings.TrimSpace(line), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := pulumirpc.NewResourceProviderClient(conn).GetPluginInfo(ctx, &emptypb.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	if info.GetVersion() != "4.34.2" {
		t.Errorf("version %q", info.GetVersion())
	}

	// An unknown provider name fails loudly.
	bad := filepath.Join(dir, "pulumi-resource-aws")
	if err := os.Link(bin, bad); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bad).CombinedOutput()
	if err == nil || !strings.Contains(string(out), `no stand-in for provider "aws"`) {
		t.Errorf("unknown provider: %v %s", err, out)
	}
}

func resourceNumber(f float64) resource.PropertyValue { return resource.NewProperty(f) }
