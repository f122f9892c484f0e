// The proxmoxve 8.6.0 stand-in: @muhlba91/pulumi-proxmoxve bridges bpg/terraform-provider-proxmox.
//
// Sources read (cited below as [bridge], [vm], [disk], [net], [dl], [tfbridge]):
//
//	[bridge]   github.com/muhlba91/pulumi-proxmoxve provider/resources.go and provider/go.mod. The snapshot's
//	           newest release is tag v8.3.0 (commit fb7a0201, 2026-07-05), which requires
//	           github.com/bpg/terraform-provider-proxmox v0.111.1. Tag v8.6.0 is in neither the snapshot nor
//	           the Go module proxy (403), so the bridged bpg version of 8.6.0 could not be read; the npm
//	           package @muhlba91/pulumi-proxmoxve 8.6.0 (node_modules, its generated vmLegacy.d.ts and
//	           download/file.d.ts) has the same VmLegacy outputs and File fields as bpg v0.111.1.
//	           resources.go convertName maps proxmox_virtual_environment_vm to proxmoxve:index/vmLegacy:VmLegacy
//	           and proxmox_download_file to proxmoxve:download/file:File; snake_case attribute names become
//	           camelCase (vm_id -> vmId), and MaxItems=1 blocks become objects (efi_disk.0.type -> efiDisk.type).
//	[vm]       github.com/bpg/terraform-provider-proxmox v0.111.1 (commit b22fe919) proxmoxtf/resource/vm/vm.go
//	[disk]     same tag, proxmoxtf/resource/vm/disk/schema.go
//	[net]      same tag, proxmoxtf/resource/vm/network/schema.go and network.go
//	[dl]       same tag, fwprovider/nodes/resource_download_file.go (proxmox_download_file is the short-name
//	           alias of the same resource: resource_download_file_short.go)
//	[tfbridge] github.com/pulumi/pulumi-terraform-bridge v3.129.0 pkg/tfbridge/provider.go DiffConfig: a
//	           provider configuration change is an in-place update unless a key ForcesProviderReplace (none here).
package main

import (
	"crypto/rand"
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

func proxmoxvePlugin() *Plugin {
	return &Plugin{
		Name:    "proxmoxve",
		Version: "8.6.0",
		// Provider configuration (endpoint, apiToken (secret), insecure, ...): [tfbridge] DiffConfig, the
		// core's default (in-place update).
		Resources: map[string]*Resource{
			"proxmoxve:index/vmLegacy:VmLegacy": vmLegacy(),
			"proxmoxve:download/file:File":      downloadFile(),
		},
	}
}

// --- VmLegacy (bpg proxmox_virtual_environment_vm) ---------------------------------------------------------

// optionalComputedChanged is the ForceNew rule of an Optional+Computed attribute: leaving it unset keeps the
// state's value (no change); setting it to another value replaces.
func optionalComputedChanged(old, new resource.PropertyValue, _, _ resource.PropertyMap) bool {
	return !new.IsNull() && !sameValue(old, new)
}

// bothSetAndDiffer is bpg's CustomizeDiff for the EFI disk type and the TPM version: adding or removing
// the block does not force a new VM; changing a set value to another set value does.
// (An unknown new value reads as "" in the CustomizeDiff, so it does not replace at plan time.)
func bothSetAndDiffer(old, new resource.PropertyValue, _, _ resource.PropertyMap) bool {
	o, oOK := str(old)
	n, nOK := str(new)
	return oOK && nOK && o != "" && n != "" && o != n
}

func vmLegacy() *Resource {
	return &Resource{
		// [vm] mkNodeName: Required.
		Required: []string{"nodeName"},
		Replace: []ReplaceRule{
			// [vm] CustomizeDiff customdiff.ForceNewIf(mkVMID, ...): vm_id is Optional+Computed and forces a
			// new VM when it changes to a value other than the current id (the id is the vm id).
			{Path: "vmId", When: optionalComputedChanged},
			// [vm] customdiff.ForceNewIf(mkNodeName, ...): a node change forces a new VM unless `migrate`.
			{Path: "nodeName", When: func(old, new resource.PropertyValue, _, news resource.PropertyMap) bool {
				migrate := getPath(news, "migrate")
				return !sameValue(old, new) && !(migrate.IsBool() && migrate.BoolValue())
			}},
			// [vm] mkAMDSEV: ForceNew.
			{Path: "amdSev"},
			// [vm] mkClone{Retries,DatastoreID,NodeName,VMID,Full}: ForceNew.
			{Path: "clone.retries"}, {Path: "clone.datastoreId"}, {Path: "clone.nodeName"},
			{Path: "clone.vmId"}, {Path: "clone.full"},
			// [vm] mkInitialization{UserDataFileID,VendorDataFileID,NetworkDataFileID,MetaDataFileID,Type}:
			// Optional, Computed, ForceNew.
			{Path: "initialization.userDataFileId", When: optionalComputedChanged},
			{Path: "initialization.vendorDataFileId", When: optionalComputedChanged},
			{Path: "initialization.networkDataFileId", When: optionalComputedChanged},
			{Path: "initialization.metaDataFileId", When: optionalComputedChanged},
			{Path: "initialization.type", When: optionalComputedChanged},
			// [vm] forceNewOnEFIDiskTypeChange and forceNewOnTPMVersionChange (CustomizeDiff).
			{Path: "efiDisk.type", When: bothSetAndDiffer},
			{Path: "tpmState.version", When: bothSetAndDiffer},
			// [disk] mkDiskFileID: ForceNew, Default "" (unset and "" are the same value).
			{Path: "disks[*].fileId", When: func(old, new resource.PropertyValue, _, _ resource.PropertyMap) bool {
				return !sameValue(emptyAsNull(old), emptyAsNull(new))
			}},
		},
		// [vm] mkInitializationUserAccountPassword: Sensitive (the bridge returns sensitive values as secrets).
		SecretOutputs: []string{"initialization.userAccount.password"},
		Create:        vmCreate,
		Update:        vmUpdate,
		Delete:        vmDelete,
		Read: "bpg's vmRead reads the VM config and status from the Proxmox API (and the agent's interfaces " +
			"when agent.enabled and started); a VM gone from Proxmox leaves the state (SetId(\"\")).",
	}
}

func emptyAsNull(v resource.PropertyValue) resource.PropertyValue {
	if s, ok := str(v); ok && s == "" {
		return resource.NewNullProperty()
	}
	return v
}

// vmCreate: the id is the vm id ([vm] vmCreateCustom/vmCreateClone: d.SetId(strconv.Itoa(vmID))). When
// vm_id is unset bpg asks the cluster for the next free id (config.GetIDGenerator().NextID); the stand-in
// has no cluster, so it requires vmId (an unknown vmId is fine in a preview).
func vmCreate(c *Call) (string, resource.PropertyMap, error) {
	outs := copyMap(c.News)
	vmID := getPath(c.News, "vmId")
	if c.Preview {
		// The plan knows vm_id only when it is configured; everything the agent or Proxmox reports is unknown.
		if vmID.IsNull() {
			outs["vmId"] = unknown()
		}
		for _, k := range []resource.PropertyKey{"ipv4Addresses", "ipv6Addresses", "macAddresses", "networkInterfaceNames"} {
			outs[k] = unknown()
		}
		return "", outs, nil
	}
	if !vmID.IsNumber() {
		return "", nil, fmt.Errorf("stand-in proxmoxve: %s has no vmId: bpg would take the cluster's next free id "+
			"(GET /cluster/nextid), which a stand-in without a Proxmox cluster cannot do; set vmId", c.URN)
	}
	outs["vmId"] = resource.NewProperty(vmID.NumberValue())
	setMACs(outs, nil, false)
	setAgentOutputs(outs, nil, nil, false)
	if simulated() && started(c.News) {
		if err := bootMachine(c); err != nil {
			return "", nil, err
		}
	}
	return strconv.FormatInt(int64(vmID.NumberValue()), 10), outs, nil
}

// started: [vm] mkStarted, Default true: bpg starts the VM once it is created (vmCreateStart).
func started(news resource.PropertyMap) bool {
	v := getPath(news, "started")
	return !v.IsBool() || v.BoolValue()
}

// vmAddress is the VM's address as its cloud-init network config gives it (initialization.ipConfigs[0]
// .ipv4.address, "<ip>/<prefix>"); the simulated machine listens there.
func vmAddress(props resource.PropertyMap) (string, error) {
	address, ok := str(getPath(props, "initialization.ipConfigs[0].ipv4.address"))
	if !ok || address == "" {
		return "", fmt.Errorf("stand-in proxmoxve: the VM has no static address in initialization.ipConfigs[0]; " +
			"the simulated machine needs one")
	}
	ip, _, _ := strings.Cut(address, "/")
	return ip, nil
}

// bootMachine: on a simulated cluster a started VM is a machine that boots from its CD-ROM, the Talos
// ISO, into maintenance mode at its address, with its first disk (talos-api POST /machines).
func bootMachine(c *Call) error {
	ip, err := vmAddress(c.News)
	if err != nil {
		return err
	}
	name, ok := str(c.News["name"])
	if !ok {
		name = c.Name
	}
	iso, _ := str(getPath(c.News, "cdrom.fileId"))
	machine := map[string]any{"name": name, "ip": ip, "iso": iso}
	if size := getPath(c.News, "disks[0].size"); size.IsNumber() {
		machine["diskGiB"] = int(size.NumberValue())
	}
	return simRequest("POST", "/machines", machine)
}

// vmDelete: [vm] vmDelete stops the VM (stop_on_destroy: a hard stop) and deletes it; on a simulated
// cluster its machine goes down for good.
func vmDelete(c *Call) error {
	if !simulated() {
		return nil
	}
	ip, err := vmAddress(c.Olds)
	if err != nil {
		return err
	}
	return simRequest("DELETE", "/machines/"+ip, nil)
}

// vmRebooting are the inputs whose update sets rebootRequired in [vm] vmUpdate (the same list as the
// library's impact report, tools/offline/changes.ts VM_REBOOTING); reboot_after_update (Default true)
// then reboots the VM through the API.
var vmRebooting = []string{
	"acpi", "kvmArguments", "bios", "keyboardLayout", "machine", "tabletDevice", "agent", "amdSev",
	"audioDevice", "bootOrders", "cpu", "tpmState", "rngs", "initialization", "hostpcis", "numas", "usbs",
	"memory", "operatingSystem", "serialDevices", "vga", "virtiofs", "scsiHardware", "watchdog",
}

// rebootMachine: on a simulated cluster an update that needs a reboot reboots the machine, as Proxmox
// reboots the VM: the guest's own reboot, undrained.
func rebootMachine(c *Call) error {
	after := getPath(c.News, "rebootAfterUpdate")
	if after.IsBool() && !after.BoolValue() || !started(c.News) {
		return nil
	}
	for _, key := range vmRebooting {
		if !sameValue(getPath(c.OldInputs, key), getPath(c.News, key)) {
			ip, err := vmAddress(c.News)
			if err != nil {
				return err
			}
			return simRequest("POST", "/machines/"+ip+"/reboot", nil)
		}
	}
	return nil
}

// vmUpdate keeps the vm id and the MAC addresses Proxmox assigned ([vm] vmUpdate never changes the id).
func vmUpdate(c *Call) (resource.PropertyMap, error) {
	outs := copyMap(c.News)
	if getPath(c.News, "vmId").IsNull() {
		outs["vmId"] = c.Olds["vmId"]
	}
	setMACs(outs, c.Olds, c.Preview)
	setAgentOutputs(outs, c.OldInputs, c.News, c.Preview)
	if simulated() && !c.Preview {
		if err := rebootMachine(c); err != nil {
			return nil, err
		}
	}
	return outs, nil
}

// setMACs fills network_device[*].mac_address (Optional+Computed: Proxmox assigns one) and mac_addresses,
// the list of the devices' MACs ([net] ReadNetworkDeviceObjects). A MAC already assigned is kept; a new
// device gets a random one with Proxmox VE's default prefix (datacenter.cfg mac_prefix BC:24:11). In a
// preview a MAC that Proxmox has yet to assign is unknown.
func setMACs(outs, olds resource.PropertyMap, preview bool) {
	devices := outs["networkDevices"]
	if !devices.IsArray() {
		if devices.IsNull() {
			outs["macAddresses"] = resource.NewProperty([]resource.PropertyValue{})
		} else {
			outs["macAddresses"] = unknown()
		}
		return
	}
	var oldMACs []resource.PropertyValue
	if olds != nil {
		if m := getPath(olds, "macAddresses"); m.IsArray() {
			oldMACs = m.ArrayValue()
		}
	}
	macs := make([]resource.PropertyValue, len(devices.ArrayValue()))
	newDevices := make([]resource.PropertyValue, len(devices.ArrayValue()))
	for i, d := range devices.ArrayValue() {
		newDevices[i] = d
		mac := resource.NewNullProperty()
		if given, ok := str(getPP(d, resource.PropertyPath{"macAddress"})); ok && given != "" {
			mac = resource.NewProperty(strings.ToUpper(given))
		} else if i < len(oldMACs) && !plain(oldMACs[i]).IsNull() {
			mac = oldMACs[i]
		} else if preview {
			mac = unknown()
		} else {
			mac = resource.NewProperty(randomMAC())
		}
		macs[i] = mac
		// Fill the device's own mac_address when it is a plain object without one (nested secrets kept).
		if d.IsObject() && getPP(d, resource.PropertyPath{"macAddress"}).IsNull() {
			obj := d.ObjectValue().Copy()
			obj["macAddress"] = mac
			newDevices[i] = resource.NewProperty(obj)
		}
	}
	outs["networkDevices"] = resource.NewProperty(newDevices)
	outs["macAddresses"] = resource.NewProperty(macs)
}

func randomMAC() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("BC:24:11:%02X:%02X:%02X", b[0], b[1], b[2])
}

// setAgentOutputs: ipv4_addresses, ipv6_addresses and network_interface_names come from the QEMU guest
// agent only ([net] ReadNetworkValues: set only when started and agent.enabled, else nil lists; when the
// agent does not answer within agent.timeout they stay nil with a warning). No guest runs here, so they
// are empty lists. In a preview of an update they are unknown when `started` or `networkDevices` changes
// ([net] CustomizeDiff: customdiff.ComputedIf on those keys), else they keep their value.
func setAgentOutputs(outs, oldInputs, news resource.PropertyMap, preview bool) {
	empty := resource.NewProperty([]resource.PropertyValue{})
	value := empty
	if preview && oldInputs != nil {
		if !sameValue(getPath(oldInputs, "started"), getPath(news, "started")) ||
			!sameValue(getPath(oldInputs, "networkDevices"), getPath(news, "networkDevices")) {
			value = unknown()
		}
	}
	for _, k := range []resource.PropertyKey{"ipv4Addresses", "ipv6Addresses", "networkInterfaceNames"} {
		outs[k] = value
	}
}

// --- File (bpg proxmox_download_file) ---------------------------------------------------------------------

func downloadFile() *Resource {
	return &Resource{
		// [dl] Schema: content_type, datastore_id, node_name, url Required.
		Required: []string{"contentType", "datastoreId", "nodeName", "url"},
		// [dl] validators: stringvalidator.OneOf.
		Enums: map[string][]string{
			"contentType":            {"iso", "vztmpl", "import"},
			"decompressionAlgorithm": {"gz", "lzo", "zst", "bz2"},
			"checksumAlgorithm":      {"md5", "sha1", "sha224", "sha256", "sha384", "sha512"},
		},
		Replace: []ReplaceRule{
			// [dl] stringplanmodifier.RequiresReplace() on each (an unknown plan value also replaces).
			{Path: "contentType"}, {Path: "datastoreId"}, {Path: "nodeName"}, {Path: "url"},
			{Path: "checksum"}, {Path: "decompressionAlgorithm"}, {Path: "checksumAlgorithm"},
			// [dl] file_name: Optional+Computed, RequiresReplace + UseStateForUnknown: compared with the state.
			{Path: "fileName", When: optionalComputedChanged, AgainstState: true},
			// [dl] size: sizeRequiresReplaceModifier replaces when Read saw the datastore file or the URL's
			// size change (private state from Read). The stand-in's Read sees no drift: never.
		},
		Create: fileCreate,
		Update: fileUpdate,
		Read: "bpg's Read lists the datastore (size; a missing file leaves the state) and, with overwrite, " +
			"queries the URL's size; a size change then replaces the file (sizeRequiresReplaceModifier).",
	}
}

// fileDefaults are the plan-time defaults of [dl] Schema (int64default/booldefault).
var fileDefaults = map[resource.PropertyKey]resource.PropertyValue{
	"uploadTimeout":      resource.NewProperty(600.0),
	"verify":             resource.NewProperty(true),
	"overwrite":          resource.NewProperty(true),
	"overwriteUnmanaged": resource.NewProperty(false),
}

// fileCreate: [dl] Create takes file_name from the URL metadata Proxmox returns when it is unset
// (GetQueryURLMetadata: the server's file name, from Content-Disposition or the URL path); the stand-in
// takes the URL's last path segment. The id is "<datastore_id>:<content_type>/<file_name>" ([dl] Create:
// plan.ID = Storage + ":" + ContentType + "/" + FileName). size is the file size the datastore listing
// reports; no file is downloaded here, so it is 0.
func fileCreate(c *Call) (string, resource.PropertyMap, error) {
	outs := copyMap(c.News)
	for k, v := range fileDefaults {
		if outs[k].IsNull() {
			outs[k] = v
		}
	}
	if c.Preview {
		if outs["fileName"].IsNull() {
			outs["fileName"] = unknown()
		}
		outs["size"] = unknown()
		return "", outs, nil
	}
	fileName, ok := str(outs["fileName"])
	if !ok {
		raw, _ := str(outs["url"])
		u, err := url.Parse(raw)
		if err != nil || path.Base(u.Path) == "/" || path.Base(u.Path) == "." {
			return "", nil, fmt.Errorf("stand-in proxmoxve: %s: no fileName and none in url %q", c.URN, raw)
		}
		fileName = path.Base(u.Path)
		outs["fileName"] = resource.NewProperty(fileName)
	}
	datastore, _ := str(outs["datastoreId"])
	contentType, _ := str(outs["contentType"])
	outs["size"] = resource.NewProperty(0.0)
	id := datastore + ":" + contentType + "/" + fileName
	// On a simulated cluster the datastore holds it: a VM whose CD-ROM names it boots that image.
	if simulated() {
		url, _ := str(outs["url"])
		if err := simRequest("POST", "/isos", map[string]string{"id": id, "url": url}); err != nil {
			return "", nil, err
		}
	}
	return id, outs, nil
}

// fileUpdate: only upload_timeout, verify, overwrite and overwrite_unmanaged update in place ([dl] Update
// re-reads the file); file_name and size keep their state values (UseStateForUnknown).
func fileUpdate(c *Call) (resource.PropertyMap, error) {
	outs := copyMap(c.News)
	for k, v := range fileDefaults {
		if outs[k].IsNull() {
			outs[k] = v
		}
	}
	if outs["fileName"].IsNull() {
		outs["fileName"] = c.Olds["fileName"]
	}
	outs["size"] = c.Olds["size"]
	return outs, nil
}
