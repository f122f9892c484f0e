// The talos 0.8.1 stand-in: github.com/pulumiverse/pulumi-talos v0.8.1 bridges (plugin framework)
// github.com/siderolabs/terraform-provider-talos v0.11.0, which uses Talos machinery v1.13.0 and
// github.com/siderolabs/image-factory v1.1.0. Sources read (cited below):
//
//	[pulumi]     pulumiverse/pulumi-talos tag v0.8.1 (commit 1b5d2525) provider/go.mod and provider/resources.go
//	             (tokens: tks.KnownModules("talos_", "index", [client cluster machine image_factory]); only
//	             ExtraTypes for the SDK, no replace or secret overrides).
//	[tf:<file>]  siderolabs/terraform-provider-talos v0.11.0, pkg/talos/<file>. The snapshot has no v0.11.0
//	             tag; read at commit d6960816 "release(v0.11.0): prepare release" (2026-04-27), whose go.mod
//	             requires talos/pkg/machinery v1.13.0 and image-factory v1.1.0.
//	[machinery]  github.com/siderolabs/talos/pkg/machinery v1.13.0 (Go module proxy): config/generate/secrets
//	             (bundle.go, ca.go, utils.go), client/config/config.go, platforms/platforms.go,
//	             config/configpatcher/apply.go, constants, gendata/data (tag v1.13.0, registry ghcr.io).
//	[factory]    siderolabs/image-factory tag v1.1.0 pkg/schematic/schematic.go (Unmarshal, Marshal, ID) and
//	             internal/frontend/http/configuration.go (handleSchematicCreate), internal/schematic (Put).
//
// Plugin-framework resources compute some outputs at plan time (ModifyPlan, defaults): those are known in
// a preview too. Everything that needs the node, the Image Factory or fresh key material is unknown in a
// preview. No resource of this provider has a RequiresReplace plan modifier; only Secrets replaces (on a
// talos_version downgrade, through its own plan modifier).
package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v4"
	"golang.org/x/mod/semver"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/siderolabs/talos/pkg/machinery/config/machine"
)

const (
	// [machinery] gendata/data/tag: the machinery version the provider was built with.
	talosMachineryTag = "v1.13.0"
	// [machinery] constants.DefaultKubernetesVersion.
	talosDefaultKubernetesVersion = "1.36.0"
	// [tf:provider.go] ImageFactoryURL, the default of the provider's image_factory_url.
	defaultImageFactoryURL = "https://factory.talos.dev"
)

func talosPlugin() *Plugin {
	return &Plugin{
		Name:    "talos",
		Version: "0.8.1",
		// Provider configuration (imageFactoryUrl): the bridge's DiffConfig, the core's default (in place).
		Resources: map[string]*Resource{
			"talos:machine/secrets:Secrets": {
				Replace: []ReplaceRule{
					// [tf:talos_machine_secrets_resource.go] talosMachineFeaturesVersionPlanModifier: an unset
					// talos_version plans the machinery's major.minor; a LOWER version than the state's sets
					// RequiresReplace; a higher one updates in place (Update only stores it). An unknown
					// value returns early (no replace).
					{Path: "talosVersion", AgainstState: true, When: func(old, new resource.PropertyValue, _, _ resource.PropertyMap) bool {
						if new.ContainsUnknowns() {
							return false
						}
						return semver.Compare(talosContract(new), talosContract(old)) < 0
					}},
				},
				Check:  checkTalosVersion,
				Create: secretsCreate,
				Update: secretsUpdate,
				Drift:  secretsDrift,
				// [tf:talos_machine_secrets_resource.go] Schema: Sensitive leaves only (cluster.secret, the
				// secrets.*, trustdinfo.token, every certs.*.key, client_configuration.client_key).
				SecretOutputs: []string{
					"machineSecrets.cluster.secret",
					"machineSecrets.secrets.bootstrapToken",
					"machineSecrets.secrets.secretboxEncryptionSecret",
					"machineSecrets.secrets.aescbcEncryptionSecret",
					"machineSecrets.trustdinfo.token",
					"machineSecrets.certs.etcd.key",
					"machineSecrets.certs.k8s.key",
					"machineSecrets.certs.k8sAggregator.key",
					"machineSecrets.certs.k8sServiceaccount.key",
					"machineSecrets.certs.os.key",
					"clientConfiguration.clientKey",
				},
				Read: "Read is a no-op upstream ([tf:talos_machine_secrets_resource.go] Read).",
			},
			"talos:machine/configurationApply:ConfigurationApply": {
				// [tf:talos_machine_configuration_apply_resource.go] node Required; ValidateConfig: exactly one
				// of machine_configuration_input(_wo) and of client_configuration(_wo) (the 0.8.1 schema has
				// the write-only variants as machineConfigurationInputWo and clientConfigurationWo).
				Required: []string{"node"},
				Check: exactlyOneOf([2]string{"machineConfigurationInput", "machineConfigurationInputWo"},
					[2]string{"clientConfiguration", "clientConfigurationWo"}),
				Enums: map[string][]string{
					"applyMode": {"auto", "reboot", "no_reboot", "staged", "staged_if_needing_reboot"},
				},
				Create: applyCreate,
				Update: applyUpdate,
				// Schema: machine_configuration_input(_wo), machine_configuration, client_configuration(_wo)
				// .client_key are Sensitive (the 0.8.1 schema marks the first three and clientConfigurationWo).
				SecretOutputs: []string{"machineConfigurationInput", "machineConfigurationInputWo", "machineConfiguration",
					"clientConfiguration.clientKey", "clientConfigurationWo"},
				Read: "Read is a no-op upstream: a node re-created at the same address is not noticed " +
					"([tf:talos_machine_configuration_apply_resource.go] Read).",
			},
			"talos:machine/bootstrap:Bootstrap": {
				// [tf:talos_machine_bootstrap_resource.go] node Required; ValidateConfig: exactly one of
				// client_configuration(_wo).
				Required:      []string{"node"},
				Check:         exactlyOneOf([2]string{"clientConfiguration", "clientConfigurationWo"}),
				Create:        bootstrapCreate,
				Update:        bootstrapUpdate,
				SecretOutputs: []string{"clientConfiguration.clientKey", "clientConfigurationWo"},
				Read:          "Read is a no-op upstream ([tf:talos_machine_bootstrap_resource.go] Read).",
			},
			"talos:cluster/kubeconfig:Kubeconfig": {
				// [tf:talos_cluster_kubeconfig_resource.go] node and client_configuration Required.
				Required: []string{"node", "clientConfiguration"},
				Create:   kubeconfigCreate,
				Update:   kubeconfigUpdate,
				Drift:    kubeconfigDrift,
				// Schema: kubeconfig_raw, kubernetes_client_configuration.client_key,
				// client_configuration.client_key Sensitive.
				SecretOutputs: []string{"kubeconfigRaw", "kubernetesClientConfiguration.clientKey", "clientConfiguration.clientKey"},
				Read:          "Read is a no-op upstream ([tf:talos_cluster_kubeconfig_resource.go] Read).",
			},
			"talos:imageFactory/schematic:Schematic": {
				// [tf:talos_image_factory_schematic_resource.go] schematic Optional, no plan modifiers: a new
				// YAML is an in-place Update that stores the new schematic id as the TF id. Under Pulumi an
				// update never changes a resource's id, so the id stays the first one.
				Create: schematicCreate,
				Read:   "Read is a no-op upstream ([tf:talos_image_factory_schematic_resource.go] Read).",
			},
		},
		Invokes: map[string]Invoke{
			"talos:machine/getConfiguration:getConfiguration":                invokeMachineConfiguration,
			"talos:client/getConfiguration:getConfiguration":                 invokeClientConfiguration,
			"talos:cluster/getHealth:getHealth":                              invokeHealth,
			"talos:imageFactory/getUrls:getUrls":                             invokeURLs,
			"talos:imageFactory/getExtensionsVersions:getExtensionsVersions": offlineInvoke("talos:imageFactory/getExtensionsVersions", "lists the extensions the Image Factory serves for a Talos version"),
			"talos:imageFactory/getVersions:getVersions":                     offlineInvoke("talos:imageFactory/getVersions", "lists the Talos versions the Image Factory serves"),
			"talos:imageFactory/getOverlaysVersions:getOverlaysVersions":     offlineInvoke("talos:imageFactory/getOverlaysVersions", "lists the overlays the Image Factory serves"),
			"talos:machine/getDisks:getDisks":                                offlineInvoke("talos:machine/getDisks", "asks a running Talos node for its disks"),
			"talos:cluster/getKubeconfig:getKubeconfig":                      offlineInvoke("talos:cluster/getKubeconfig", "asks a running Talos node for its kubeconfig"),
		},
	}
}

func offlineInvoke(token, needs string) Invoke {
	return func(*Provider, resource.PropertyMap, bool) (resource.PropertyMap, error) {
		return nil, errOffline(token, needs)
	}
}

// exactlyOneOf is a ValidateConfig rule: exactly one input of each pair is set (unknown counts as set).
func exactlyOneOf(pairs ...[2]string) func(*CheckCall) (resource.PropertyMap, []*pulumirpc.CheckFailure, error) {
	return func(c *CheckCall) (resource.PropertyMap, []*pulumirpc.CheckFailure, error) {
		var failures []*pulumirpc.CheckFailure
		for _, pair := range pairs {
			a, b := !c.News[resource.PropertyKey(pair[0])].IsNull(), !c.News[resource.PropertyKey(pair[1])].IsNull()
			if a == b {
				failures = append(failures, &pulumirpc.CheckFailure{
					Property: pair[0],
					Reason:   fmt.Sprintf("exactly one of %s and %s must be set", pair[0], pair[1]),
				})
			}
		}
		return c.News, failures, nil
	}
}

// requireArgs fails an invoke whose required argument is missing.
func requireArgs(tok string, args resource.PropertyMap, keys ...string) error {
	for _, k := range keys {
		if args[resource.PropertyKey(k)].IsNull() {
			return fmt.Errorf("%s: the argument %q is required", tok, k)
		}
	}
	return nil
}

// talosContract is the version contract talos_version plans: the given value with a "v", or the
// machinery's major.minor when unset ([tf:talos_machine_secrets_resource.go] PlanModifyString).
func talosContract(v resource.PropertyValue) string {
	if s, ok := str(v); ok && s != "" {
		return "v" + strings.TrimPrefix(s, "v")
	}
	return semver.MajorMinor(talosMachineryTag)
}

// checkTalosVersion: [tf:util.go] talosVersionValid: talos_version must parse as a version.
func checkTalosVersion(c *CheckCall) (resource.PropertyMap, []*pulumirpc.CheckFailure, error) {
	if s, ok := str(c.News["talosVersion"]); ok && !semver.IsValid("v"+strings.TrimPrefix(s, "v")) {
		return c.News, []*pulumirpc.CheckFailure{{Property: "talosVersion", Reason: fmt.Sprintf("talosVersion %q is not a valid version", s)}}, nil
	}
	return c.News, nil, nil
}

// --- key material ----------------------------------------------------------------------------------------

// keyPair is a PEM certificate and key, as Talos keeps them.
type keyPair struct {
	cert, key []byte
	parsed    *x509.Certificate
	signer    any
}

// newCA makes a self-signed CA like [machinery] config/generate/secrets/ca.go: ECDSA P-256 when ecdsaKey
// (etcd, kubernetes, front-proxy), else Ed25519 (the Talos OS CA), valid CAValidityTime (87600h).
func newCA(subject pkix.Name, ecdsaKey bool) (*keyPair, error) {
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               subject,
		NotBefore:             now,
		NotAfter:              now.Add(87600 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	pub, signer, keyPEM, err := newKey(ecdsaKey)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, signer)
	if err != nil {
		return nil, err
	}
	parsed, _ := x509.ParseCertificate(der)
	return &keyPair{cert: pemBlock("CERTIFICATE", der), key: keyPEM, parsed: parsed, signer: signer}, nil
}

// newLeaf signs a client certificate with a key of the CA's kind.
func newLeaf(ca *keyPair, subject pkix.Name, validity time.Duration) (*keyPair, error) {
	_, isECDSA := ca.signer.(*ecdsa.PrivateKey)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      subject,
		NotBefore:    now,
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	pub, signer, keyPEM, err := newKey(isECDSA)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.parsed, pub, ca.signer)
	if err != nil {
		return nil, err
	}
	parsed, _ := x509.ParseCertificate(der)
	return &keyPair{cert: pemBlock("CERTIFICATE", der), key: keyPEM, parsed: parsed, signer: signer}, nil
}

// newKey returns a fresh key and its PEM in siderolabs/crypto's encodings ("EC PRIVATE KEY" SEC 1 for
// ECDSA, "ED25519 PRIVATE KEY" PKCS#8 for Ed25519: the types [tf:util.go] parseCAPrivateKey accepts).
func newKey(ecdsaKey bool) (pub, signer any, keyPEM []byte, err error) {
	if ecdsaKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, nil, err
		}
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return nil, nil, nil, err
		}
		return &k.PublicKey, k, pemBlock("EC PRIVATE KEY", der), nil
	}
	pubKey, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, nil, nil, err
	}
	return pubKey, k, pemBlock("ED25519 PRIVATE KEY", der), nil
}

// parseKeyPair reads back a base64(PEM) certificate and key pair (as the provider stores them).
func parseKeyPair(certB64, keyB64 string) (*keyPair, error) {
	certPEM, err := base64.StdEncoding.DecodeString(certB64)
	if err != nil {
		return nil, err
	}
	keyPEM, err := base64.StdEncoding.DecodeString(keyB64)
	if err != nil {
		return nil, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, errors.New("not PEM")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, err
	}
	var signer any
	if kb.Type == "EC PRIVATE KEY" {
		signer, err = x509.ParseECPrivateKey(kb.Bytes)
	} else {
		signer, err = x509.ParsePKCS8PrivateKey(kb.Bytes)
	}
	if err != nil {
		return nil, err
	}
	return &keyPair{cert: certPEM, key: keyPEM, parsed: cert, signer: signer}, nil
}

// certNotAfter returns the NotAfter of a base64(PEM) certificate.
func certNotAfter(certB64 string) (time.Time, bool) {
	der, err := base64.StdEncoding.DecodeString(certB64)
	if err != nil {
		return time.Time{}, false
	}
	b, _ := pem.Decode(der)
	if b == nil {
		return time.Time{}, false
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return time.Time{}, false
	}
	return cert.NotAfter, true
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

func pemBlock(kind string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})
}

func b64(b []byte) resource.PropertyValue {
	return resource.NewProperty(base64.StdEncoding.EncodeToString(b))
}

// --- Secrets -----------------------------------------------------------------------------------------------

// secretsCreate: a fresh bundle from machinery (talos_machinery.go, newMachineSecrets), id
// "machine_secrets"; a preview leaves the secrets unknown.
func secretsCreate(c *Call) (string, resource.PropertyMap, error) {
	outs := copyMap(c.News)
	outs["talosVersion"] = resource.NewProperty(talosContractOutput(c.News["talosVersion"]))
	if c.Preview {
		outs["machineSecrets"], outs["clientConfiguration"] = unknown(), unknown()
		return "", outs, nil
	}
	contract, _ := str(outs["talosVersion"])
	machineSecrets, clientConfiguration, err := newMachineSecrets(contract)
	if err != nil {
		return "", nil, err
	}
	outs["machineSecrets"], outs["clientConfiguration"] = machineSecrets, clientConfiguration
	return "machine_secrets", outs, nil
}

func talosContractOutput(v resource.PropertyValue) string {
	if s, ok := str(v); ok {
		return s // the state keeps the configured spelling
	}
	return semver.MajorMinor(talosMachineryTag)
}

// clientCertExpiring: [tf:talos_machine_secrets_resource.go] ModifyPlan/Update renew the client
// certificate when it expires within a month.
func clientCertExpiring(olds resource.PropertyMap) bool {
	cert, ok := str(getPath(olds, "clientConfiguration.clientCertificate"))
	if !ok {
		return false
	}
	notAfter, ok := certNotAfter(cert)
	return ok && notAfter.Before(time.Now().AddDate(0, 1, 0))
}

func secretsDrift(c *DiffCall) []string {
	if clientCertExpiring(c.Olds) {
		return []string{"clientConfiguration"}
	}
	return nil
}

// secretsUpdate: [tf] Update stores talos_version and keeps the machine secrets; it renews the client
// certificate (same OS CA) when it expires within a month (unknown in a preview, as ModifyPlan plans it).
func secretsUpdate(c *Call) (resource.PropertyMap, error) {
	outs := copyMap(c.News)
	outs["talosVersion"] = resource.NewProperty(talosContractOutput(c.News["talosVersion"]))
	outs["machineSecrets"] = c.Olds["machineSecrets"]
	outs["clientConfiguration"] = c.Olds["clientConfiguration"]
	if !clientCertExpiring(c.Olds) {
		return outs, nil
	}
	if c.Preview {
		outs["clientConfiguration"] = unknown()
		return outs, nil
	}
	osCert, _ := str(getPath(c.Olds, "machineSecrets.certs.os.cert"))
	osKey, _ := str(getPath(c.Olds, "machineSecrets.certs.os.key"))
	ca, err := parseKeyPair(osCert, osKey)
	if err != nil {
		return nil, fmt.Errorf("stand-in talos: %s: the OS CA in the state: %w", c.URN, err)
	}
	admin, err := newLeaf(ca, pkix.Name{Organization: []string{"os:admin"}}, 365*24*time.Hour)
	if err != nil {
		return nil, err
	}
	outs["clientConfiguration"] = resource.NewProperty(resource.PropertyMap{
		"caCertificate":     b64(ca.cert),
		"clientCertificate": b64(admin.cert),
		"clientKey":         b64(admin.key),
	})
	return outs, nil
}

// --- ConfigurationApply --------------------------------------------------------------------------------------

// applyOutputs computes what [tf:talos_machine_configuration_apply_resource.go] plans and stores:
//   - apply_mode defaults to "auto" (stringdefault); on_destroy's reset/graceful/reboot default to
//     false/true/false when the block is given (booldefault);
//   - ModifyPlan returns early when endpoint, node or the input is unknown; otherwise it sets endpoint
//     (default: node), machine_configuration (the input with config_patches applied by machinery, patchConfig),
//     machine_configuration_hash (hex SHA-256 of it) and resolved_apply_mode (apply_mode, except that
//     staged_if_needing_reboot needs a dry run against the node: when that fails, as it must here, the
//     provider falls back to "auto" with a warning);
//   - with machine_configuration_input_wo the configuration is rendered from it but machine_configuration
//     stays null (only the hash is kept);
//   - machine_configuration and its hash keep their state values when not planned (UseStateForUnknown);
//     endpoint and resolved_apply_mode are unknown then.
//
// Create/Update apply the configuration to the node (ApplyConfiguration, retried until the timeout); the
// stand-in talks to no node. The id is "machine_configuration_apply".
func applyOutputs(c *Call) (resource.PropertyMap, error) {
	outs := copyMap(c.News)
	if outs["applyMode"].IsNull() {
		outs["applyMode"] = resource.NewProperty("auto")
	}
	if od := outs["onDestroy"]; od.IsObject() {
		obj := od.ObjectValue().Copy()
		for k, v := range map[resource.PropertyKey]bool{"reset": false, "graceful": true, "reboot": false} {
			if obj[k].IsNull() {
				obj[k] = resource.NewProperty(v)
			}
		}
		outs["onDestroy"] = resource.NewProperty(obj)
	}
	keep := func(k resource.PropertyKey) resource.PropertyValue {
		if c.Olds != nil && !c.Olds[k].IsNull() {
			return c.Olds[k]
		}
		return unknown()
	}
	input, patches := c.News["machineConfigurationInput"], c.News["configPatches"]
	writeOnly := input.IsNull()
	if writeOnly {
		input = c.News["machineConfigurationInputWo"]
	}
	if isUnknown(c.News["endpoint"]) || isUnknown(c.News["node"]) || containsUnknowns(input) || containsUnknowns(patches) {
		outs["machineConfiguration"], outs["machineConfigurationHash"] = keep("machineConfiguration"), keep("machineConfigurationHash")
		if outs["endpoint"].IsNull() {
			outs["endpoint"] = unknown()
		}
		outs["resolvedApplyMode"] = unknown()
		return outs, nil
	}
	if outs["endpoint"].IsNull() {
		outs["endpoint"] = plain(c.News["node"])
	}
	cfg, _ := str(input)
	rendered, err := patchConfig(cfg, stringList(patches))
	if err != nil {
		return nil, fmt.Errorf("stand-in talos: %s: error applying config patches: %w", c.URN, err)
	}
	sum := sha256.Sum256([]byte(rendered))
	outs["machineConfiguration"] = resource.MakeSecret(resource.NewProperty(rendered))
	if writeOnly {
		// setPlanMachineConfiguration: with a write-only input the rendered configuration is not stored.
		delete(outs, "machineConfiguration")
	}
	outs["machineConfigurationHash"] = resource.NewProperty(hex.EncodeToString(sum[:]))
	mode, _ := str(outs["applyMode"])
	if mode == "staged_if_needing_reboot" {
		mode = "auto"
	}
	outs["resolvedApplyMode"] = resource.NewProperty(mode)
	return outs, nil
}

func applyCreate(c *Call) (string, resource.PropertyMap, error) {
	outs, err := applyOutputs(c)
	if err != nil {
		return "", nil, err
	}
	if c.Preview {
		return "", outs, nil
	}
	if simulated() {
		if err := simApply(c, outs); err != nil {
			return "", nil, err
		}
	}
	return "machine_configuration_apply", outs, nil
}

func applyUpdate(c *Call) (resource.PropertyMap, error) {
	outs, err := applyOutputs(c)
	if err == nil && simulated() && !c.Preview {
		err = simApply(c, outs)
	}
	return outs, err
}

func stringList(v resource.PropertyValue) []string {
	v = plain(v)
	if !v.IsArray() {
		return nil
	}
	var out []string
	for _, e := range v.ArrayValue() {
		if s, ok := str(e); ok {
			out = append(out, s)
		}
	}
	return out
}

// --- Bootstrap ---------------------------------------------------------------------------------------------

// [tf:talos_machine_bootstrap_resource.go] ModifyPlan sets endpoint = node when unset and both are known;
// Create bootstraps etcd on the node (id "machine_bootstrap"); Update only stores the plan (it does not
// bootstrap again, not even for another node).
func bootstrapOutputs(c *Call) resource.PropertyMap {
	outs := copyMap(c.News)
	if outs["endpoint"].IsNull() {
		if isUnknown(c.News["node"]) {
			outs["endpoint"] = unknown()
		} else {
			outs["endpoint"] = plain(c.News["node"])
		}
	}
	return outs
}

func bootstrapCreate(c *Call) (string, resource.PropertyMap, error) {
	if c.Preview {
		return "", bootstrapOutputs(c), nil
	}
	outs := bootstrapOutputs(c)
	if simulated() {
		if err := simBootstrap(outs); err != nil {
			return "", nil, err
		}
	}
	return "machine_bootstrap", outs, nil
}

func bootstrapUpdate(c *Call) (resource.PropertyMap, error) {
	return bootstrapOutputs(c), nil
}

// --- Kubeconfig --------------------------------------------------------------------------------------------

// kubeconfigClusterName names the cluster in the stand-in's kubeconfig. The real resource asks the node
// for its admin kubeconfig (talosctl kubeconfig), whose cluster is the Talos cluster name and whose
// server is the cluster endpoint of the node's machine config; the resource id is that cluster name
// ([tf:talos_cluster_kubeconfig_resource.go] Create: state.ID = the current context's cluster). The
// stand-in has no node to ask: it names the cluster "standin" and points it at https://<endpoint>:6443.
const kubeconfigClusterName = "standin"

// kubeconfigOutputs is [tf:talos_cluster_kubeconfig_resource.go] Create after c.Kubeconfig: kubeconfig_raw
// as returned, and kubernetes_client_configuration = {host: the server, ca_certificate,
// client_certificate, client_key: base64 of the kubeconfig's *-data}. The stand-in generates the
// credentials: an ECDSA cluster CA and an admin client certificate (O=system:masters, 1 year:
// constants.KubernetesAdminCertDefaultLifetime).
func kubeconfigOutputs(endpoint string) (resource.PropertyValue, resource.PropertyValue, error) {
	ca, err := newCA(pkix.Name{Organization: []string{"kubernetes"}}, true)
	if err != nil {
		return resource.PropertyValue{}, resource.PropertyValue{}, err
	}
	admin, err := newLeaf(ca, pkix.Name{CommonName: "admin", Organization: []string{"system:masters"}}, 365*24*time.Hour)
	if err != nil {
		return resource.PropertyValue{}, resource.PropertyValue{}, err
	}
	server := "https://" + net.JoinHostPort(endpoint, "6443")
	user := "admin@" + kubeconfigClusterName
	type namedCluster struct {
		Name    string `yaml:"name"`
		Cluster struct {
			Server string `yaml:"server"`
			CAData string `yaml:"certificate-authority-data"`
		} `yaml:"cluster"`
	}
	type namedUser struct {
		Name string `yaml:"name"`
		User struct {
			CertData string `yaml:"client-certificate-data"`
			KeyData  string `yaml:"client-key-data"`
		} `yaml:"user"`
	}
	type namedContext struct {
		Name    string `yaml:"name"`
		Context struct {
			Cluster   string `yaml:"cluster"`
			Namespace string `yaml:"namespace"`
			User      string `yaml:"user"`
		} `yaml:"context"`
	}
	var cl namedCluster
	cl.Name, cl.Cluster.Server = kubeconfigClusterName, server
	cl.Cluster.CAData = base64.StdEncoding.EncodeToString(ca.cert)
	var us namedUser
	us.Name = user
	us.User.CertData = base64.StdEncoding.EncodeToString(admin.cert)
	us.User.KeyData = base64.StdEncoding.EncodeToString(admin.key)
	var cx namedContext
	cx.Name, cx.Context.Cluster, cx.Context.Namespace, cx.Context.User = user, kubeconfigClusterName, "default", user
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	err = enc.Encode(struct {
		APIVersion     string         `yaml:"apiVersion"`
		Kind           string         `yaml:"kind"`
		Clusters       []namedCluster `yaml:"clusters"`
		Users          []namedUser    `yaml:"users"`
		Contexts       []namedContext `yaml:"contexts"`
		CurrentContext string         `yaml:"current-context"`
	}{"v1", "Config", []namedCluster{cl}, []namedUser{us}, []namedContext{cx}, user})
	if err == nil {
		err = enc.Close()
	}
	if err != nil {
		return resource.PropertyValue{}, resource.PropertyValue{}, err
	}
	raw := buf.Bytes()
	client := resource.NewProperty(resource.PropertyMap{
		"host":              resource.NewProperty(server),
		"caCertificate":     b64(ca.cert),
		"clientCertificate": b64(admin.cert),
		"clientKey":         b64(admin.key),
	})
	return resource.NewProperty(string(raw)), client, nil
}

// kubeconfigPlan: endpoint defaults to node (ModifyPlan); certificate_renewal_duration defaults to "720h".
func kubeconfigPlan(c *Call) resource.PropertyMap {
	outs := bootstrapOutputs(c)
	if outs["certificateRenewalDuration"].IsNull() {
		outs["certificateRenewalDuration"] = resource.NewProperty("720h")
	}
	return outs
}

func kubeconfigCreate(c *Call) (string, resource.PropertyMap, error) {
	outs := kubeconfigPlan(c)
	if c.Preview {
		outs["kubeconfigRaw"], outs["kubernetesClientConfiguration"] = unknown(), unknown()
		return "", outs, nil
	}
	if simulated() {
		id, err := simKubeconfig(outs)
		return id, outs, err
	}
	endpoint, _ := str(outs["endpoint"])
	raw, client, err := kubeconfigOutputs(endpoint)
	if err != nil {
		return "", nil, err
	}
	outs["kubeconfigRaw"], outs["kubernetesClientConfiguration"] = raw, client
	return kubeconfigClusterName, outs, nil
}

// kubeconfigRenewal: [tf] ModifyPlan and Update fetch a new kubeconfig only when the stored client
// certificate expires within certificate_renewal_duration.
func kubeconfigRenewal(olds, news resource.PropertyMap) bool {
	cert, ok := str(getPath(olds, "kubernetesClientConfiguration.clientCertificate"))
	if !ok {
		return false
	}
	notAfter, ok := certNotAfter(cert)
	if !ok {
		return false
	}
	renewal, ok := str(news["certificateRenewalDuration"])
	if !ok {
		renewal, _ = str(olds["certificateRenewalDuration"])
	}
	d, err := time.ParseDuration(renewal)
	return err == nil && notAfter.Before(time.Now().Add(d))
}

func kubeconfigDrift(c *DiffCall) []string {
	if kubeconfigRenewal(c.Olds, c.News) {
		return []string{"kubeconfigRaw", "kubernetesClientConfiguration"}
	}
	return nil
}

// kubeconfigUpdate: [tf] Update stores the plan and keeps kubeconfig_raw and
// kubernetes_client_configuration (UseStateForUnknown) — a new node or endpoint does not fetch a new
// kubeconfig — unless the client certificate is due for renewal.
func kubeconfigUpdate(c *Call) (resource.PropertyMap, error) {
	outs := kubeconfigPlan(c)
	outs["kubeconfigRaw"], outs["kubernetesClientConfiguration"] = c.Olds["kubeconfigRaw"], c.Olds["kubernetesClientConfiguration"]
	if !kubeconfigRenewal(c.Olds, c.News) {
		return outs, nil
	}
	if c.Preview {
		outs["kubeconfigRaw"], outs["kubernetesClientConfiguration"] = unknown(), unknown()
		return outs, nil
	}
	endpoint, _ := str(outs["endpoint"])
	raw, client, err := kubeconfigOutputs(endpoint)
	if err != nil {
		return nil, err
	}
	outs["kubeconfigRaw"], outs["kubernetesClientConfiguration"] = raw, client
	return outs, nil
}

// --- Schematic -----------------------------------------------------------------------------------------------

// schematic mirrors [factory] pkg/schematic.Schematic field for field (names, order, yaml tags): the id
// is the SHA-256 of its YAML marshalling, so the struct shape is the id's definition.
type schematic struct {
	Overlay       schematicOverlay       `yaml:"overlay,omitempty"`
	Customization schematicCustomization `yaml:"customization"`
}

type schematicCustomization struct {
	ExtraKernelArgs  []string                   `yaml:"extraKernelArgs,omitempty"`
	Meta             []schematicMetaValue       `yaml:"meta,omitempty"`
	SystemExtensions schematicSystemExtensions  `yaml:"systemExtensions,omitempty"`
	Bootloader       bootloaderKind             `yaml:"bootloader,omitempty"`
	SecureBoot       schematicSecureBootOptions `yaml:"secureboot,omitempty"`
}

type schematicMetaValue struct {
	Key   uint8  `yaml:"key"`
	Value string `yaml:"value"`
}

type schematicSystemExtensions struct {
	OfficialExtensions []string `yaml:"officialExtensions,omitempty"`
}

type schematicOverlay struct {
	Image   string         `yaml:"image"`
	Name    string         `yaml:"name"`
	Options map[string]any `yaml:"options,omitempty"`
}

type schematicSecureBootOptions struct {
	IncludeWellKnownCertificates bool `yaml:"includeWellKnownCertificates,omitempty"`
}

// bootloaderKind is [machinery] imager/imageropts.BootloaderKind: an int enum marshalled as its name
// (enumer -text: none, dual-boot, sd-boot, grub); none (0) is omitted.
type bootloaderKind int

var bootloaderNames = []string{"none", "dual-boot", "sd-boot", "grub"}

func (b bootloaderKind) MarshalText() ([]byte, error) {
	if int(b) < 0 || int(b) >= len(bootloaderNames) {
		return nil, fmt.Errorf("bootloader kind %d", int(b))
	}
	return []byte(bootloaderNames[b]), nil
}

func (b *bootloaderKind) UnmarshalText(text []byte) error {
	for i, n := range bootloaderNames {
		if strings.EqualFold(n, string(text)) {
			*b = bootloaderKind(i)
			return nil
		}
	}
	return fmt.Errorf("%q does not belong to BootloaderKind values", text)
}

// schematicID is the Image Factory's schematic id for a YAML text: [tf:talos_image_factory_schematic_
// resource.go] unmarshals the YAML (go.yaml.in/yaml/v4, unknown keys dropped) into schematic.Schematic and
// posts it; [factory] handleSchematicCreate -> schematic.Unmarshal -> Factory.Put -> cfg.ID():
// hex(sha256(yaml.Marshal(cfg))). The same go.yaml.in/yaml/v4 v4.0.0-rc.4 as image-factory v1.1.0 is used.
// An empty text is the vanilla schematic (376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba).
func schematicID(text string) (string, error) {
	var s schematic
	if err := yaml.Unmarshal([]byte(text), &s); err != nil {
		return "", fmt.Errorf("failed to unmarshal schematic: %w", err)
	}
	data, err := yaml.Marshal(&s)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// schematicCreate: the id comes back from the Image Factory, so it is unknown in a preview.
func schematicCreate(c *Call) (string, resource.PropertyMap, error) {
	outs := copyMap(c.News)
	if c.Preview {
		return "", outs, nil
	}
	text, _ := str(c.News["schematic"])
	id, err := schematicID(text)
	if err != nil {
		return "", nil, fmt.Errorf("stand-in talos: %s: %w", c.URN, err)
	}
	return id, outs, nil
}

// --- invokes -------------------------------------------------------------------------------------------------

// invokeMachineConfiguration stands in for talos_machine_configuration ([tf:talos_machine_configuration_
// data_source.go] Read): kubernetes_version defaults to constants.DefaultKubernetesVersion (1.36.0) and
// talos_version to the machinery's major.minor (v1.13); the id is the cluster name; machine_configuration
// is Sensitive and machinery's own render (talos_machinery.go, renderMachineConfig).
func invokeMachineConfiguration(_ *Provider, args resource.PropertyMap, _ bool) (resource.PropertyMap, error) {
	if err := requireArgs("talos:machine/getConfiguration", args, "clusterName", "clusterEndpoint", "machineType", "machineSecrets"); err != nil {
		return nil, err
	}
	outs := copyMap(args)
	if outs["kubernetesVersion"].IsNull() {
		outs["kubernetesVersion"] = resource.NewProperty(talosDefaultKubernetesVersion)
	}
	if outs["talosVersion"].IsNull() {
		outs["talosVersion"] = resource.NewProperty(semver.MajorMinor(talosMachineryTag))
	}
	machineType, _ := str(args["machineType"])
	if machineType != "controlplane" && machineType != "worker" {
		return nil, fmt.Errorf("talos:machine/getConfiguration: machineType must be controlplane or worker, got %q", machineType)
	}
	kind := machine.TypeWorker
	if machineType == "controlplane" {
		kind = machine.TypeControlPlane
	}
	k8sVersion, _ := str(outs["kubernetesVersion"])
	talosVersion, _ := str(outs["talosVersion"])
	rendered, err := renderMachineConfig(args, kind, k8sVersion, talosVersion)
	if err != nil {
		return nil, fmt.Errorf("talos:machine/getConfiguration: %w", err)
	}
	clusterName, _ := str(args["clusterName"])
	outs["machineConfiguration"] = resource.MakeSecret(resource.NewProperty(rendered))
	outs["id"] = resource.NewProperty(clusterName)
	markSecret(outs, machineSecretsInputSecrets)
	return outs, nil
}

// machineSecretsInputSecrets: the machine_secrets leaves the data source's schema marks Sensitive.
var machineSecretsInputSecrets = []string{
	"machineSecrets.cluster.secret", "machineSecrets.secrets.bootstrapToken",
	"machineSecrets.secrets.secretboxEncryptionSecret", "machineSecrets.secrets.aescbcEncryptionSecret",
	"machineSecrets.trustdinfo.token", "machineSecrets.certs.etcd.key", "machineSecrets.certs.k8s.key",
	"machineSecrets.certs.k8sAggregator.key", "machineSecrets.certs.k8sServiceaccount.key",
	"machineSecrets.certs.os.key",
}

// talosConfig mirrors [machinery] client/config.Config and Context (yaml tags, order, omitempty): the
// provider builds a clientconfig.NewConfig and returns Config.Bytes() = yaml.Marshal (go.yaml.in/yaml/v4).
type talosConfig struct {
	Context  string                         `yaml:"context"`
	Contexts map[string]*talosConfigContext `yaml:"contexts"`
}

type talosConfigContext struct {
	DeprecatedTarget string   `yaml:"target,omitempty"`
	Endpoints        []string `yaml:"endpoints"`
	Nodes            []string `yaml:"nodes,omitempty"`
	CA               string   `yaml:"ca,omitempty"`
	Crt              string   `yaml:"crt,omitempty"`
	Key              string   `yaml:"key,omitempty"`
	Auth             struct {
		Basic    *struct{} `yaml:"basic,omitempty"`
		SideroV1 *struct{} `yaml:"siderov1,omitempty"`
	} `yaml:"auth,omitempty"`
	Cluster string `yaml:"cluster,omitempty"`
}

// invokeClientConfiguration is [tf:talos_client_configuration_data_source.go] Read: a talosconfig with one
// context named cluster_name whose ca/crt/key are the client configuration's PEMs re-encoded in base64
// (talosClientTFConfigToTalosClientConfig + clientconfig.NewConfig), endpoints and nodes set when given;
// id = cluster_name; talos_config Sensitive.
func invokeClientConfiguration(_ *Provider, args resource.PropertyMap, _ bool) (resource.PropertyMap, error) {
	if err := requireArgs("talos:client/getConfiguration", args, "clusterName", "clientConfiguration"); err != nil {
		return nil, err
	}
	clusterName, ok := str(args["clusterName"])
	if !ok || clusterName == "" {
		return nil, errors.New("talos:client/getConfiguration: clusterName must be a non-empty string")
	}
	reencode := func(key string) (string, error) {
		s, _ := str(getPath(args, "clientConfiguration."+key))
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return "", fmt.Errorf("talos:client/getConfiguration: failed to generate talos config: clientConfiguration.%s: %w", key, err)
		}
		return base64.StdEncoding.EncodeToString(b), nil
	}
	ctx := &talosConfigContext{}
	var err error
	if ctx.CA, err = reencode("caCertificate"); err != nil {
		return nil, err
	}
	if ctx.Crt, err = reencode("clientCertificate"); err != nil {
		return nil, err
	}
	if ctx.Key, err = reencode("clientKey"); err != nil {
		return nil, err
	}
	if eps := stringList(args["endpoints"]); len(eps) > 0 {
		ctx.Endpoints = eps
	}
	if nodes := stringList(args["nodes"]); len(nodes) > 0 {
		ctx.Nodes = nodes
	}
	out, err := yaml.Marshal(&talosConfig{Context: clusterName, Contexts: map[string]*talosConfigContext{clusterName: ctx}})
	if err != nil {
		return nil, err
	}
	outs := copyMap(args)
	outs["talosConfig"] = resource.MakeSecret(resource.NewProperty(string(out)))
	outs["id"] = resource.NewProperty(clusterName)
	markSecret(outs, []string{"clientConfiguration.clientKey"})
	return outs, nil
}

// invokeHealth: [tf:talos_cluster_health_data_source.go] Read waits for the cluster's health checks and
// fails when they time out; the stand-in has no cluster and succeeds. id "cluster_health"; inputs echoed.
func invokeHealth(_ *Provider, args resource.PropertyMap, preview bool) (resource.PropertyMap, error) {
	if err := requireArgs("talos:cluster/getHealth", args, "clientConfiguration", "controlPlaneNodes", "endpoints"); err != nil {
		return nil, err
	}
	if simulated() && !preview {
		if err := simHealth(args); err != nil {
			return nil, err
		}
	}
	outs := copyMap(args)
	outs["id"] = resource.NewProperty("cluster_health")
	markSecret(outs, []string{"clientConfiguration.clientKey"})
	return outs, nil
}

// talosPlatform is the part of [machinery] platforms.Platform that URLs use.
type talosPlatform struct {
	diskImageSuffix string
	bootMethods     []string // disk-image, iso, pxe
	secureBoot      bool
}

// cloudPlatforms is [machinery] platforms.CloudPlatforms() (v1.13.0): name, DiskImageSuffix, BootMethods,
// SecureBootSupported.
var cloudPlatforms = map[string]talosPlatform{
	"aws":           {"raw.xz", []string{"disk-image"}, false},
	"gcp":           {"raw.tar.gz", []string{"disk-image"}, false},
	"equinixMetal":  {"", []string{"pxe"}, false},
	"azure":         {"vhd.xz", []string{"disk-image"}, false},
	"digital-ocean": {"raw.gz", []string{"disk-image"}, false},
	"nocloud":       {"raw.xz", []string{"disk-image", "iso", "pxe"}, true},
	"openstack":     {"raw.xz", []string{"disk-image", "iso", "pxe"}, false},
	"vmware":        {"ova", []string{"disk-image", "iso"}, false},
	"akamai":        {"raw.gz", []string{"disk-image"}, false},
	"cloudstack":    {"raw.gz", []string{"disk-image"}, true},
	"hcloud":        {"raw.xz", []string{"disk-image"}, false},
	"oracle":        {"qcow2", []string{"disk-image"}, false},
	"upcloud":       {"raw.xz", []string{"disk-image"}, false},
	"vultr":         {"", []string{"iso", "pxe"}, false},
	"exoscale":      {"qcow2", []string{"disk-image"}, false},
	"opennebula":    {"raw.zst", []string{"disk-image", "iso"}, false},
	"scaleway":      {"raw.zst", []string{"disk-image", "iso"}, false},
}

// sbcs are the names of [machinery] platforms.SBCs() (v1.13.0).
var sbcs = []string{
	"rpi_5", "rpi_generic", "revpi_generic", "bananapi_m64", "nanopi_r4s", "nanopi_r5s", "jetson_nano",
	"libretech_all_h3_cc_h5", "orangepi_r1_plus_lts", "pine64", "rock64", "rock4cplus", "rock4se", "rock5a",
	"rock5b", "rockpi_4", "rockpi_4c", "helios64", "turingrk1", "orangepi-5", "orangepi-5-plus", "rockpro64",
	"odroid-m1", "radxa-zero-3e", "rock3b", "orangepi-5-max", "rock5t", "friendlyelec-cm3588-nas", "rock5b-plus",
}

// invokeURLs builds the URLs exactly as [tf:talos_image_factory_urls_data_source.go] Read does, with the
// provider's image_factory_url (default https://factory.talos.dev): the installer
// "<host>/<platform>-installer/<schematic>:<version>" always; for metal every asset; for an SBC (no
// platform) the metal installer and metal-arm64.raw.xz; for a cloud platform the secure-boot installer
// when supported and one URL per boot method (disk image and its secure-boot twin, ISO and its twin,
// PXE script at pxe.<host>). URLs a platform does not have are not set (null), as upstream leaves them.
// The version gets a "v" prefix and must parse (semver.ParseTolerant); architecture defaults to amd64.
// The id is "" (the data source sets it from the unset config id).
func invokeURLs(p *Provider, args resource.PropertyMap, _ bool) (resource.PropertyMap, error) {
	const tok = "talos:imageFactory/getUrls"
	outs := copyMap(args)
	if outs["architecture"].IsNull() {
		outs["architecture"] = resource.NewProperty("amd64")
	}
	arch, _ := str(outs["architecture"])
	if arch != "amd64" && arch != "arm64" {
		return nil, fmt.Errorf("%s: architecture must be amd64 or arm64, got %q", tok, arch)
	}
	rawVersion, _ := str(args["talosVersion"])
	version := "v" + strings.TrimPrefix(rawVersion, "v")
	if !semver.IsValid(version) {
		return nil, fmt.Errorf("%s: talos_version is not valid: the provided version is not a valid semantic version", tok)
	}
	schematicID, ok := str(args["schematicId"])
	if !ok {
		return nil, fmt.Errorf("%s: schematicId is required", tok)
	}
	platform, hasPlatform := str(args["platform"])
	sbc, hasSBC := str(args["sbc"])
	if hasPlatform == hasSBC {
		return nil, fmt.Errorf("%s: exactly one of platform and sbc must be set", tok)
	}
	if hasSBC && !contains(sbcs, sbc) {
		return nil, fmt.Errorf("%s: sbc %q is not one of the supported single-board computers", tok, sbc)
	}
	base := p.ConfigString("imageFactoryUrl")
	if base == "" {
		base = defaultImageFactoryURL
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("%s: failed to parse image factory base URL: %w", tok, err)
	}
	image := func(file string) resource.PropertyValue {
		return resource.NewProperty(fmt.Sprintf("%s/image/%s/%s/%s", base, schematicID, version, file))
	}
	installer := func(kind string) resource.PropertyValue {
		return resource.NewProperty(fmt.Sprintf("%s/%s/%s:%s", u.Host, kind, schematicID, version))
	}
	pxe := func(name string) resource.PropertyValue {
		return resource.NewProperty(fmt.Sprintf("%s://pxe.%s/pxe/%s/%s/%s-%s", u.Scheme, u.Host, schematicID, version, name, arch))
	}
	urls := resource.PropertyMap{"installer": installer(platform + "-installer")}
	switch {
	case platform == "metal":
		urls["installerSecureboot"] = installer("metal-installer-secureboot")
		urls["iso"] = image("metal-" + arch + ".iso")
		urls["isoSecureboot"] = image("metal-" + arch + "-secureboot.iso")
		urls["diskImage"] = image("metal-" + arch + ".raw.zst")
		urls["diskImageSecureboot"] = image("metal-" + arch + "-secureboot.raw.zst")
		urls["pxe"] = pxe("metal")
		urls["kernel"] = image("kernel-" + arch)
		urls["kernelCommandLine"] = image("cmdline-metal-" + arch)
		urls["initramfs"] = image("initramfs-" + arch + ".xz")
		urls["uki"] = image("metal-" + arch + "-secureboot-uki.efi")
	case hasSBC:
		urls["installer"] = installer("metal-installer")
		urls["diskImage"] = image("metal-arm64.raw.xz")
	default:
		pl, known := cloudPlatforms[platform]
		if !known {
			return nil, fmt.Errorf("%s: failed to find platform %q", tok, platform)
		}
		if pl.secureBoot {
			urls["installerSecureboot"] = installer(platform + "-installer-secureboot")
		}
		for _, method := range pl.bootMethods {
			switch method {
			case "disk-image":
				urls["diskImage"] = image(fmt.Sprintf("%s-%s.%s", platform, arch, pl.diskImageSuffix))
				if pl.secureBoot {
					urls["diskImageSecureboot"] = image(fmt.Sprintf("%s-%s-secureboot.%s", platform, arch, pl.diskImageSuffix))
				}
			case "pxe":
				urls["pxe"] = pxe(platform)
			case "iso":
				urls["iso"] = image(fmt.Sprintf("%s-%s.iso", platform, arch))
				if pl.secureBoot {
					urls["isoSecureboot"] = image(fmt.Sprintf("%s-%s-secureboot.iso", platform, arch))
				}
			}
		}
	}
	outs["urls"] = resource.NewProperty(urls)
	outs["id"] = resource.NewProperty("")
	return outs, nil
}
