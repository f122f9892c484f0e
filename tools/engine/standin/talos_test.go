package main

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v4"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func TestSchematicID(t *testing.T) {
	for _, tc := range []struct{ name, yaml, id string }{
		// The vanilla schematic (FACTS.md; Image Factory's id of an empty customization).
		{"empty", "", "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba"},
		{"empty customization", "customization: {}\n", "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba"},
		// siderolabs/qemu-guest-agent only: the id Image Factory publishes for it.
		{"qemu-guest-agent", "customization:\n  systemExtensions:\n    officialExtensions:\n      - siderolabs/qemu-guest-agent\n",
			"ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515"},
		// Same content, other layout and an unknown key: the provider's non-strict unmarshal drops it.
		{"flow style", "customization: {systemExtensions: {officialExtensions: [siderolabs/qemu-guest-agent]}}\nunknown: 1\n",
			"ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := schematicID(tc.yaml)
			if err != nil {
				t.Fatal(err)
			}
			if id != tc.id {
				t.Fatalf("id = %s, want %s", id, tc.id)
			}
		})
	}
	if _, err := schematicID("customization: {bootloader: sd-boot}"); err != nil {
		t.Errorf("bootloader enum: %v", err)
	}

	const typ = "talos:imageFactory/schematic:Schematic"
	h := newHarness(t, talosPlugin)
	id, _ := h.create(typ, "s", props(map[string]any{}), false)
	if id != "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba" {
		t.Fatalf("vanilla resource id = %s", id)
	}
	// No RequiresReplace upstream: a new schematic is an update.
	olds := props(map[string]any{"schematic": "customization: {}"})
	news := props(map[string]any{"schematic": "customization: {extraKernelArgs: [net.ifnames=0]}"})
	expectReplace(t, h.diff(typ, "s", olds, olds, news))
}

func parsePEMCert(t *testing.T, b64 string) *x509.Certificate {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		t.Fatal("not PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestMachineSecrets(t *testing.T) {
	const typ = "talos:machine/secrets:Secrets"
	h := newHarness(t, talosPlugin)
	in := props(map[string]any{"talosVersion": "v1.13"})
	id, outs := h.create(typ, "secrets", in, false)
	if id != "machine_secrets" {
		t.Fatalf("id = %q", id)
	}
	expectSecret(t, outs,
		"machineSecrets.certs.etcd.key", "machineSecrets.certs.k8s.key", "machineSecrets.certs.k8sAggregator.key",
		"machineSecrets.certs.k8sServiceaccount.key", "machineSecrets.certs.os.key", "machineSecrets.cluster.secret",
		"machineSecrets.secrets.bootstrapToken", "machineSecrets.secrets.secretboxEncryptionSecret",
		"machineSecrets.trustdinfo.token", "clientConfiguration.clientKey")
	for _, public := range []string{"machineSecrets.certs.os.cert", "machineSecrets.cluster.id", "clientConfiguration.caCertificate"} {
		if at(t, outs, public).IsSecret() {
			t.Errorf("%s should not be secret", public)
		}
	}
	// Real key material: the admin certificate is signed by the OS CA; two bundles differ.
	ca := parsePEMCert(t, stringAt(t, outs, "machineSecrets.certs.os.cert"))
	client := parsePEMCert(t, stringAt(t, outs, "clientConfiguration.clientCertificate"))
	if err := client.CheckSignatureFrom(ca); err != nil {
		t.Fatalf("client cert not signed by the OS CA: %v", err)
	}
	if client.Subject.Organization[0] != "os:admin" {
		t.Errorf("client org = %v", client.Subject.Organization)
	}
	if tok := stringAt(t, outs, "machineSecrets.secrets.bootstrapToken"); len(tok) != 23 || tok[6] != '.' {
		t.Errorf("bootstrap token %q", tok)
	}
	_, other := h.create(typ, "secrets2", in, false)
	if stringAt(t, outs, "machineSecrets.cluster.secret") == stringAt(t, other, "machineSecrets.cluster.secret") {
		t.Error("two bundles share a cluster secret")
	}

	// Preview: the version is planned, the secrets are unknown.
	_, preview := h.create(typ, "secrets", props(map[string]any{}), true)
	expectUnknown(t, preview, "machineSecrets", "clientConfiguration")
	if v := stringAt(t, preview, "talosVersion"); v != "v1.13" {
		t.Errorf("default talosVersion = %q", v)
	}

	// talos_version: a downgrade replaces, an upgrade updates (and keeps the secrets).
	expectReplace(t, h.diff(typ, "secrets", outs, in, props(map[string]any{"talosVersion": "v1.12"})), "talosVersion")
	expectReplace(t, h.diff(typ, "secrets", outs, in, props(map[string]any{"talosVersion": "v1.14"})))
	up := h.update(typ, "secrets", id, outs, in, props(map[string]any{"talosVersion": "v1.14"}), false)
	if stringAt(t, up, "machineSecrets.cluster.secret") != stringAt(t, outs, "machineSecrets.cluster.secret") {
		t.Error("an update regenerated the secrets")
	}
	expectSecret(t, up, "machineSecrets.cluster.secret")
}

func TestConfigurationApply(t *testing.T) {
	const typ = "talos:machine/configurationApply:ConfigurationApply"
	h := newHarness(t, talosPlugin)
	cfg := "version: v1alpha1\nmachine:\n  type: controlplane\n  certSANs: [a]\ncluster:\n  network:\n    podSubnets: [10.244.0.0/16]\n"
	client := map[string]any{"caCertificate": "Y2E=", "clientCertificate": "Y3J0", "clientKey": "a2V5"}
	in := props(map[string]any{"node": "10.0.0.11", "clientConfiguration": client, "machineConfigurationInput": cfg})
	in["machineConfigurationInput"] = resource.MakeSecret(in["machineConfigurationInput"])
	id, outs := h.create(typ, "apply", in, false)
	if id != "machine_configuration_apply" {
		t.Fatalf("id = %q", id)
	}
	expectSecret(t, outs, "machineConfiguration", "machineConfigurationInput", "clientConfiguration.clientKey")
	rendered := stringAt(t, outs, "machineConfiguration")
	if rendered != cfg {
		t.Errorf("without patches the configuration is the input, got %q", rendered)
	}
	sum := sha256.Sum256([]byte(cfg))
	if got := stringAt(t, outs, "machineConfigurationHash"); got != hex.EncodeToString(sum[:]) {
		t.Errorf("hash = %s", got)
	}
	if stringAt(t, outs, "endpoint") != "10.0.0.11" || stringAt(t, outs, "applyMode") != "auto" ||
		stringAt(t, outs, "resolvedApplyMode") != "auto" {
		t.Errorf("plan defaults: %v", outs)
	}

	// Patches, by machinery: maps merge, lists append (podSubnets replaced), documents by kind, $patch: delete.
	patched := in.Copy()
	patched["configPatches"] = resource.NewPropertyValue([]any{
		"machine:\n  certSANs: [b]\n  install:\n    disk: /dev/sda\ncluster:\n  network:\n    podSubnets: [10.42.0.0/16]\n",
		"apiVersion: v1alpha1\nkind: HostnameConfig\nhostname: cp-1\n---\napiVersion: v1alpha1\nkind: ResolverConfig\nnameservers: [{address: 1.1.1.1}]\n",
		"machine:\n  install: {$patch: delete}\n",
	})
	patched["applyMode"] = resource.NewProperty("staged_if_needing_reboot")
	after := h.update(typ, "apply", id, outs, in, patched, false)
	var docs []*yaml.Node
	for dec := yaml.NewDecoder(strings.NewReader(stringAt(t, after, "machineConfiguration"))); ; {
		var doc yaml.Node
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, &doc)
	}
	if len(docs) != 3 {
		t.Fatalf("docs = %d", len(docs))
	}
	var main struct {
		Machine struct {
			CertSANs []string       `yaml:"certSANs"`
			Install  map[string]any `yaml:"install"`
		} `yaml:"machine"`
		Cluster struct {
			Network struct {
				PodSubnets []string `yaml:"podSubnets"`
			} `yaml:"network"`
		} `yaml:"cluster"`
	}
	if err := docs[0].Decode(&main); err != nil {
		t.Fatal(err)
	}
	if strings.Join(main.Machine.CertSANs, ",") != "a,b" || main.Machine.Install != nil ||
		strings.Join(main.Cluster.Network.PodSubnets, ",") != "10.42.0.0/16" {
		t.Errorf("merged: %+v", main)
	}
	if stringAt(t, after, "resolvedApplyMode") != "auto" {
		t.Errorf("staged_if_needing_reboot without a reachable node resolves to auto")
	}
	// No replacement for anything (no RequiresReplace upstream).
	expectReplace(t, h.diff(typ, "apply", outs, in, props(map[string]any{
		"node": "10.0.0.99", "clientConfiguration": client, "machineConfigurationInput": "x: 1\n",
	})))

	// Preview: known inputs plan the configuration; an unknown input leaves it unknown on create.
	_, preview := h.create(typ, "apply", in, true)
	if !at(t, preview, "machineConfiguration").IsSecret() || stringAt(t, preview, "machineConfiguration") != cfg {
		t.Errorf("planned configuration missing in preview")
	}
	unknownIn := in.Copy()
	unknownIn["machineConfigurationInput"] = unknown()
	_, preview = h.create(typ, "apply", unknownIn, true)
	expectUnknown(t, preview, "machineConfiguration", "machineConfigurationHash", "resolvedApplyMode")

	// Check: node required, exactly one of input/inputWo and of clientConfiguration/Wo, applyMode enum.
	_, failures := h.check(typ, "apply", nil, props(map[string]any{"applyMode": "sometimes"}))
	if len(failures) != 4 {
		t.Errorf("failures = %v", failures)
	}
	both := in.Copy()
	both["clientConfigurationWo"] = in["clientConfiguration"]
	if _, failures := h.check(typ, "apply", nil, both); len(failures) != 1 || failures[0].GetProperty() != "clientConfiguration" {
		t.Errorf("failures = %v", failures)
	}

	// A write-only input: the hash is planned, the configuration is not stored.
	wo := in.Copy()
	wo["machineConfigurationInputWo"] = in["machineConfigurationInput"]
	delete(wo, "machineConfigurationInput")
	_, woOuts := h.create(typ, "apply-wo", wo, false)
	if _, has := woOuts["machineConfiguration"]; has || stringAt(t, woOuts, "machineConfigurationHash") != hex.EncodeToString(sum[:]) {
		t.Errorf("write-only outputs: %v", woOuts)
	}
	expectSecret(t, woOuts, "machineConfigurationInputWo")
}

func TestKubeconfig(t *testing.T) {
	const typ = "talos:cluster/kubeconfig:Kubeconfig"
	h := newHarness(t, talosPlugin)
	client := map[string]any{"caCertificate": "Y2E=", "clientCertificate": "Y3J0", "clientKey": "a2V5"}
	in := props(map[string]any{"node": "10.0.0.11", "clientConfiguration": client})
	_, outs := h.create(typ, "kc", in, false)
	expectSecret(t, outs, "kubeconfigRaw", "kubernetesClientConfiguration.clientKey", "clientConfiguration.clientKey")
	var kc struct {
		Clusters []struct {
			Cluster struct {
				Server string `yaml:"server"`
				CA     string `yaml:"certificate-authority-data"`
			} `yaml:"cluster"`
		} `yaml:"clusters"`
		Users []struct {
			User struct {
				Cert string `yaml:"client-certificate-data"`
			} `yaml:"user"`
		} `yaml:"users"`
		CurrentContext string `yaml:"current-context"`
	}
	if err := yaml.Unmarshal([]byte(stringAt(t, outs, "kubeconfigRaw")), &kc); err != nil {
		t.Fatal(err)
	}
	if kc.Clusters[0].Cluster.Server != "https://10.0.0.11:6443" || kc.CurrentContext == "" {
		t.Errorf("kubeconfig: %+v", kc)
	}
	if host := stringAt(t, outs, "kubernetesClientConfiguration.host"); host != "https://10.0.0.11:6443" {
		t.Errorf("host = %s", host)
	}
	ca := parsePEMCert(t, kc.Clusters[0].Cluster.CA)
	if err := parsePEMCert(t, kc.Users[0].User.Cert).CheckSignatureFrom(ca); err != nil {
		t.Errorf("admin cert not signed by the cluster CA: %v", err)
	}
	if stringAt(t, outs, "certificateRenewalDuration") != "720h" {
		t.Error("certificateRenewalDuration default")
	}
	// Update (a new node) keeps the kubeconfig: the real Update refetches only on renewal.
	moved := props(map[string]any{"node": "10.0.0.12", "clientConfiguration": client})
	after := h.update(typ, "kc", "x", outs, in, moved, false)
	if stringAt(t, after, "kubeconfigRaw") != stringAt(t, outs, "kubeconfigRaw") {
		t.Error("an update refetched the kubeconfig")
	}
	_, preview := h.create(typ, "kc", in, true)
	expectUnknown(t, preview, "kubeconfigRaw", "kubernetesClientConfiguration")
}

func TestTalosInvokes(t *testing.T) {
	h := newHarness(t, talosPlugin)
	urls := h.invoke("talos:imageFactory/getUrls:getUrls", props(map[string]any{
		"talosVersion": "1.13.9", "schematicId": "abc", "platform": "nocloud", "architecture": "amd64",
	}))
	want := map[string]string{
		"installer":           "factory.talos.dev/nocloud-installer/abc:v1.13.9",
		"installerSecureboot": "factory.talos.dev/nocloud-installer-secureboot/abc:v1.13.9",
		"iso":                 "https://factory.talos.dev/image/abc/v1.13.9/nocloud-amd64.iso",
		"isoSecureboot":       "https://factory.talos.dev/image/abc/v1.13.9/nocloud-amd64-secureboot.iso",
		"diskImage":           "https://factory.talos.dev/image/abc/v1.13.9/nocloud-amd64.raw.xz",
		"diskImageSecureboot": "https://factory.talos.dev/image/abc/v1.13.9/nocloud-amd64-secureboot.raw.xz",
		"pxe":                 "https://pxe.factory.talos.dev/pxe/abc/v1.13.9/nocloud-amd64",
	}
	got := urls["urls"].ObjectValue()
	if len(got) != len(want) {
		t.Errorf("urls = %v", got)
	}
	for k, v := range want {
		if s, _ := str(got[resource.PropertyKey(k)]); s != v {
			t.Errorf("urls.%s = %q, want %q", k, s, v)
		}
	}
	if stringAt(t, urls, "id") != "" {
		t.Error("id")
	}

	secretsOut := func() resource.PropertyMap {
		_, outs := newHarness(t, talosPlugin).create("talos:machine/secrets:Secrets", "s", props(map[string]any{}), false)
		return outs
	}()
	cfg := h.invoke("talos:machine/getConfiguration:getConfiguration", resource.PropertyMap{
		"clusterName":     resource.NewProperty("homelab"),
		"clusterEndpoint": resource.NewProperty("https://10.0.0.10:6443"),
		"machineType":     resource.NewProperty("worker"),
		"machineSecrets":  secretsOut["machineSecrets"],
		"configPatches":   resource.NewPropertyValue([]any{"machine:\n  install:\n    disk: /dev/vda\n"}),
	})
	expectSecret(t, cfg, "machineConfiguration", "machineSecrets.certs.os.key")
	var doc struct {
		Version string `yaml:"version"`
		Machine struct {
			Type    string `yaml:"type"`
			CA      map[string]string
			Install struct {
				Disk string `yaml:"disk"`
			} `yaml:"install"`
		} `yaml:"machine"`
		Cluster struct {
			ID           string `yaml:"id"`
			ClusterName  string `yaml:"clusterName"`
			ControlPlane struct {
				Endpoint string `yaml:"endpoint"`
			} `yaml:"controlPlane"`
		} `yaml:"cluster"`
	}
	if err := yaml.Unmarshal([]byte(stringAt(t, cfg, "machineConfiguration")), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != "v1alpha1" || doc.Machine.Type != "worker" || doc.Cluster.ClusterName != "homelab" ||
		doc.Cluster.ControlPlane.Endpoint != "https://10.0.0.10:6443" || doc.Machine.Install.Disk != "/dev/vda" ||
		doc.Cluster.ID != stringAt(t, secretsOut, "machineSecrets.cluster.id") || doc.Machine.CA["key"] != "" {
		t.Errorf("machine config: %+v", doc)
	}
	if stringAt(t, cfg, "kubernetesVersion") != "1.36.0" || stringAt(t, cfg, "talosVersion") != "v1.13" {
		t.Error("version defaults")
	}

	tc := h.invoke("talos:client/getConfiguration:getConfiguration", resource.PropertyMap{
		"clusterName":         resource.NewProperty("homelab"),
		"clientConfiguration": secretsOut["clientConfiguration"],
		"endpoints":           resource.NewPropertyValue([]any{"10.0.0.11"}),
	})
	expectSecret(t, tc, "talosConfig")
	var talosconfig struct {
		Context  string `yaml:"context"`
		Contexts map[string]struct {
			Endpoints []string `yaml:"endpoints"`
			Nodes     []string `yaml:"nodes"`
			CA        string   `yaml:"ca"`
			Key       string   `yaml:"key"`
		} `yaml:"contexts"`
	}
	text := stringAt(t, tc, "talosConfig")
	if err := yaml.Unmarshal([]byte(text), &talosconfig); err != nil {
		t.Fatal(err)
	}
	ctx := talosconfig.Contexts["homelab"]
	if talosconfig.Context != "homelab" || len(ctx.Endpoints) != 1 || ctx.Nodes != nil ||
		ctx.CA != stringAt(t, secretsOut, "clientConfiguration.caCertificate") || strings.Contains(text, "nodes:") {
		t.Errorf("talosconfig: %s", text)
	}

	health := h.invoke("talos:cluster/getHealth:getHealth", resource.PropertyMap{
		"endpoints":           resource.NewPropertyValue([]any{"10.0.0.11"}),
		"controlPlaneNodes":   resource.NewPropertyValue([]any{"10.0.0.11"}),
		"clientConfiguration": secretsOut["clientConfiguration"],
	})
	expectSecret(t, health, "clientConfiguration.clientKey")
	if stringAt(t, health, "id") != "cluster_health" {
		t.Error("health id")
	}
	if _, err := h.p.Invoke(t.Context(), &pulumirpc.InvokeRequest{Tok: "talos:imageFactory/getExtensionsVersions:getExtensionsVersions"}); err == nil ||
		!strings.Contains(err.Error(), "not available offline") {
		t.Errorf("getExtensionsVersions: %v", err)
	}
}
