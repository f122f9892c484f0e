package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const vmType = "proxmoxve:index/vmLegacy:VmLegacy"

func vmInputs() map[string]any {
	return map[string]any{
		"nodeName": "pve1",
		"vmId":     101.0,
		"cpu":      map[string]any{"cores": 2.0, "type": "host"},
		"efiDisk":  map[string]any{"datastoreId": "local-lvm", "type": "4m"},
		"disks":    []any{map[string]any{"interface": "scsi0", "size": 20.0}},
		"networkDevices": []any{
			map[string]any{"bridge": "vmbr0", "model": "virtio"},
		},
		"initialization": map[string]any{"type": "nocloud", "datastoreId": "local-lvm"},
	}
}

func with(m map[string]any, path string, v any) resource.PropertyMap {
	out := props(m)
	if !setPath(out, path, resource.NewPropertyValue(v)) {
		panic(path)
	}
	return out
}

func TestVMReplaceRules(t *testing.T) {
	h := newHarness(t, proxmoxvePlugin)
	olds := props(vmInputs())
	_, state := h.create(vmType, "cp-1", olds, false)

	// bpg vm.go: vm_id ForceNewIf.
	resp := h.diff(vmType, "cp-1", state, olds, with(vmInputs(), "vmId", 102.0))
	expectReplace(t, resp, "vmId")
	expectKind(t, resp, "vmId", pulumirpc.PropertyDiff_UPDATE_REPLACE)
	if resp.GetDeleteBeforeReplace() {
		t.Error("bpg's VM is not delete-before-replace")
	}

	// cores: an in-place update (with a reboot upstream).
	resp = h.diff(vmType, "cp-1", state, olds, with(vmInputs(), "cpu.cores", 4.0))
	expectReplace(t, resp)
	expectKind(t, resp, "cpu.cores", pulumirpc.PropertyDiff_UPDATE)

	// efi_disk.type: replaces only when both old and new are set and differ.
	resp = h.diff(vmType, "cp-1", state, olds, with(vmInputs(), "efiDisk.type", "2m"))
	expectReplace(t, resp, "efiDisk")
	expectKind(t, resp, "efiDisk.type", pulumirpc.PropertyDiff_UPDATE_REPLACE)
	noEFI := props(vmInputs())
	delete(noEFI, "efiDisk")
	resp = h.diff(vmType, "cp-1", state, noEFI, olds)
	expectReplace(t, resp) // adding an EFI disk does not replace
	expectKind(t, resp, "efiDisk", pulumirpc.PropertyDiff_ADD)

	// initialization.type: Optional+Computed ForceNew: another value replaces, unsetting it does not.
	resp = h.diff(vmType, "cp-1", state, olds, with(vmInputs(), "initialization.type", "configdrive2"))
	expectReplace(t, resp, "initialization")
	noType := props(vmInputs())
	delete(noType["initialization"].ObjectValue(), "type")
	resp = h.diff(vmType, "cp-1", state, olds, noType)
	expectReplace(t, resp)

	// disks[*].file_id ForceNew (Default "": unset == "").
	withFile := props(vmInputs())
	withFile["disks"].ArrayValue()[0].ObjectValue()["fileId"] = resource.NewProperty("local:iso/talos.iso")
	resp = h.diff(vmType, "cp-1", state, olds, withFile)
	expectReplace(t, resp, "disks")
	expectKind(t, resp, "disks[0].fileId", pulumirpc.PropertyDiff_ADD_REPLACE)
	emptyFile := props(vmInputs())
	emptyFile["disks"].ArrayValue()[0].ObjectValue()["fileId"] = resource.NewProperty("")
	resp = h.diff(vmType, "cp-1", state, olds, emptyFile)
	expectReplace(t, resp)

	// node_name: replaces unless migrate.
	resp = h.diff(vmType, "cp-1", state, olds, with(vmInputs(), "nodeName", "pve2"))
	expectReplace(t, resp, "nodeName")
	migrating := with(vmInputs(), "nodeName", "pve2")
	migrating["migrate"] = resource.NewProperty(true)
	resp = h.diff(vmType, "cp-1", state, olds, migrating)
	expectReplace(t, resp)

	// An unknown new vmId (preview) counts as a change that replaces.
	unknownID := props(vmInputs())
	unknownID["vmId"] = unknown()
	expectReplace(t, h.diff(vmType, "cp-1", state, olds, unknownID), "vmId")

	// No change.
	if resp := h.diff(vmType, "cp-1", state, olds, props(vmInputs())); resp.GetChanges() != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("expected no diff, got %v", resp.GetDetailedDiff())
	}
}

func TestVMOutputs(t *testing.T) {
	h := newHarness(t, proxmoxvePlugin)
	inputs := props(vmInputs())
	inputs["initialization"].ObjectValue()["userAccount"] = resource.NewProperty(resource.PropertyMap{
		"username": resource.NewProperty("talos"), "password": resource.NewProperty("hunter2"),
	})
	id, outs := h.create(vmType, "cp-1", inputs, false)
	if id != "101" {
		t.Fatalf("id = %q, want the vm id", id)
	}
	for _, k := range []string{"ipv4Addresses", "ipv6Addresses", "networkInterfaceNames"} {
		if v := outs[resource.PropertyKey(k)]; !v.IsArray() || len(v.ArrayValue()) != 0 {
			t.Errorf("%s = %v, want []", k, v)
		}
	}
	mac := stringAt(t, outs, "macAddresses[0]")
	if len(mac) != 17 || mac[:8] != "BC:24:11" {
		t.Errorf("mac = %q", mac)
	}
	if got := stringAt(t, outs, "networkDevices[0].macAddress"); got != mac {
		t.Errorf("device mac %q != %q", got, mac)
	}
	expectSecret(t, outs, "initialization.userAccount.password")

	// An update keeps the MAC Proxmox assigned and the vm id.
	next := props(vmInputs())
	next["cpu"].ObjectValue()["cores"] = resource.NewProperty(4.0)
	after := h.update(vmType, "cp-1", id, outs, inputs, next, false)
	if got := stringAt(t, after, "macAddresses[0]"); got != mac {
		t.Errorf("mac changed on update: %q -> %q", mac, got)
	}

	// Preview of a create: the agent's outputs and MACs are unknown, the configured vm id is known.
	_, preview := h.create(vmType, "cp-2", props(vmInputs()), true)
	expectUnknown(t, preview, "ipv4Addresses", "macAddresses", "networkInterfaceNames")
	if v := preview["vmId"]; !v.IsNumber() || v.NumberValue() != 101 {
		t.Errorf("preview vmId = %v", v)
	}

	// No vm id: the stand-in cannot ask the cluster for the next free one.
	noID := props(vmInputs())
	delete(noID, "vmId")
	if _, _, err := h.tryCreate(vmType, "cp-3", noID, false); err == nil {
		t.Error("expected an error without vmId")
	}
}

func TestVMCheckRequiresNodeName(t *testing.T) {
	h := newHarness(t, proxmoxvePlugin)
	in := props(vmInputs())
	delete(in, "nodeName")
	if _, failures := h.check(vmType, "cp-1", nil, in); len(failures) != 1 || failures[0].GetProperty() != "nodeName" {
		t.Fatalf("failures = %v", failures)
	}
}

func TestDownloadFile(t *testing.T) {
	const typ = "proxmoxve:download/file:File"
	h := newHarness(t, proxmoxvePlugin)
	in := props(map[string]any{
		"nodeName": "pve1", "datastoreId": "local", "contentType": "iso",
		"url": "https://factory.talos.dev/image/abc/v1.13.9/nocloud-amd64.iso?x=1",
	})
	id, outs := h.create(typ, "iso", in, false)
	if id != "local:iso/nocloud-amd64.iso" {
		t.Fatalf("id = %q", id)
	}
	if outs["uploadTimeout"].NumberValue() != 600 || !outs["verify"].BoolValue() || !outs["overwrite"].BoolValue() {
		t.Errorf("defaults missing: %v", outs)
	}
	_, preview := h.create(typ, "iso", in, true)
	expectUnknown(t, preview, "fileName", "size")

	// url RequiresReplace; upload_timeout updates in place; enum checked.
	changedURL := in.Copy()
	changedURL["url"] = resource.NewProperty("https://example.com/other.iso")
	expectReplace(t, h.diff(typ, "iso", outs, in, changedURL), "url")
	timeout := in.Copy()
	timeout["uploadTimeout"] = resource.NewProperty(1200.0)
	expectReplace(t, h.diff(typ, "iso", outs, in, timeout))
	// file_name is Optional+Computed (UseStateForUnknown): naming the file as it already is does not replace.
	named := in.Copy()
	named["fileName"] = resource.NewProperty("nocloud-amd64.iso")
	if resp := h.diff(typ, "iso", outs, in, named); len(resp.GetReplaces()) != 0 {
		t.Errorf("replaces = %v", resp.GetReplaces())
	}
	xz := in.Copy()
	xz["decompressionAlgorithm"] = resource.NewProperty("xz")
	if _, failures := h.check(typ, "iso", nil, xz); len(failures) != 1 {
		t.Errorf("xz should fail the check: %v", failures)
	}
}

// On a simulated cluster the ISO download, a VM's start, its rebooting update and its deletion reach the
// cluster's control API (talos-api control.go) as these requests.
func TestVMOnASimulatedCluster(t *testing.T) {
	var requests []string
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		requests = append(requests, strings.TrimSpace(r.Method+" "+r.URL.Path+" "+string(body)))
		w.WriteHeader(http.StatusNoContent)
	}))
	defer server.Close()
	t.Setenv(envSim, strings.TrimPrefix(server.URL, "http://"))

	h := newHarness(t, proxmoxvePlugin)
	const url = "https://factory.talos.dev/image/376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba/v1.14.1/nocloud-amd64.iso"
	id, _ := h.create("proxmoxve:download/file:File", "iso", props(map[string]any{
		"contentType": "iso", "datastoreId": "local", "nodeName": "pve1", "url": url, "fileName": "talos.iso",
	}), false)
	vm := vmInputs()
	vm["name"] = "cp-1"
	vm["cdrom"] = map[string]any{"fileId": id}
	vm["initialization"] = map[string]any{"ipConfigs": []any{map[string]any{"ipv4": map[string]any{"address": "127.0.0.41/24"}}}}
	in := props(vm)
	vmID, state := h.create(vmType, "cp-1", in, false)
	h.update(vmType, "cp-1", vmID, state, in, with(vm, "description", "a note"), false)
	h.update(vmType, "cp-1", vmID, state, in, with(vm, "memory", map[string]any{"dedicated": 8192.0}), false)
	h.update(vmType, "cp-1", vmID, state, in, with(with(vm, "memory", map[string]any{"dedicated": 8192.0}).Mappable(), "rebootAfterUpdate", false), false)
	if _, err := h.p.Delete(context.Background(), &pulumirpc.DeleteRequest{Urn: urnOf(vmType, "cp-1"), Id: vmID, Properties: h.pack(state)}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`POST /isos {"id":"local:iso/talos.iso","url":"` + url + `"}`,
		`POST /machines {"diskGiB":20,"ip":"127.0.0.41","iso":"local:iso/talos.iso","name":"cp-1"}`,
		`POST /machines/127.0.0.41/reboot`,
		`DELETE /machines/127.0.0.41`,
	}
	if strings.Join(requests, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(requests, "\n"), strings.Join(want, "\n"))
	}

	// Only loopback.
	t.Setenv(envSim, "192.0.2.1:80")
	if _, _, err := h.tryCreate(vmType, "cp-2", with(vm, "vmId", 102.0), false); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("a non-loopback simulated cluster: %v", err)
	}
}
