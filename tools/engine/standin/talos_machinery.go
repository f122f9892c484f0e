package main

// The Talos provider's secrets and machine configs, made by Talos's own machinery (v1.13.0, the
// provider's: terraform-provider-talos v0.11.0 go.mod), as the provider makes them:
//   - talos_machine_secrets Create (pkg/talos/talos_machine_secrets_resource.go): secrets.NewBundle with a
//     fixed clock and the version contract of talos_version, written out by secretsBundleTomachineSecrets
//     (pkg/talos/util.go): every certificate and key in base64, the admin client certificate from
//     GenerateTalosAPIClientCertificateWithTTL (role os:admin, Talos's default validity);
//   - talos_machine_configuration Read (pkg/talos/talos_machine_configuration_data_source.go): the bundle
//     rebuilt from machine_secrets, then machineConfigGenerateOptions.generate (pkg/talos/util.go):
//     bundle.NewBundle with cluster discovery, the default DNS domain, install disk /dev/sda, the
//     provider's installer image, the secrets and the contract; the patches through configpatcher for the
//     machine type; serialized without comments unless docs or examples are asked for;
//   - talos_machine_configuration_apply (pkg/talos/talos_machine_configuration_apply_resource.go
//     computeMachineConfiguration): the input with config_patches, configpatcher.LoadPatches and Apply.

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/siderolabs/crypto/x509"
	"github.com/siderolabs/talos/pkg/machinery/config"
	"github.com/siderolabs/talos/pkg/machinery/config/bundle"
	"github.com/siderolabs/talos/pkg/machinery/config/configpatcher"
	"github.com/siderolabs/talos/pkg/machinery/config/encoder"
	"github.com/siderolabs/talos/pkg/machinery/config/generate"
	"github.com/siderolabs/talos/pkg/machinery/config/generate/secrets"
	"github.com/siderolabs/talos/pkg/machinery/config/machine"
	"github.com/siderolabs/talos/pkg/machinery/constants"
	"github.com/siderolabs/talos/pkg/machinery/role"
)

// newMachineSecrets: a fresh bundle for the contract, as the machine_secrets and client_configuration
// properties.
func newMachineSecrets(contract string) (machineSecrets, clientConfiguration resource.PropertyValue, err error) {
	versionContract, err := config.ParseContractFromVersion(contract)
	if err != nil {
		return resource.PropertyValue{}, resource.PropertyValue{}, err
	}
	b, err := secrets.NewBundle(secrets.NewFixedClock(time.Now()), versionContract)
	if err != nil {
		return resource.PropertyValue{}, resource.PropertyValue{}, err
	}
	client, err := b.GenerateTalosAPIClientCertificateWithTTL(role.MakeSet(role.Admin), constants.TalosAPIDefaultCertificateValidityDuration)
	if err != nil {
		return resource.PropertyValue{}, resource.PropertyValue{}, err
	}
	pair := func(p *x509.PEMEncodedCertificateAndKey) resource.PropertyValue {
		return resource.NewProperty(resource.PropertyMap{"cert": b64(p.Crt), "key": b64(p.Key)})
	}
	secretsMap := resource.PropertyMap{
		"bootstrapToken":            resource.NewProperty(b.Secrets.BootstrapToken),
		"secretboxEncryptionSecret": resource.NewProperty(b.Secrets.SecretboxEncryptionSecret),
	}
	if b.Secrets.AESCBCEncryptionSecret != "" {
		secretsMap["aescbcEncryptionSecret"] = resource.NewProperty(b.Secrets.AESCBCEncryptionSecret)
	}
	certs := resource.PropertyMap{
		"etcd":              pair(b.Certs.Etcd),
		"k8s":               pair(b.Certs.K8s),
		"k8sServiceaccount": resource.NewProperty(resource.PropertyMap{"key": b64(b.Certs.K8sServiceAccount.Key)}),
		"os":                pair(b.Certs.OS),
	}
	if b.Certs.K8sAggregator != nil && b.Certs.K8sAggregator.Crt != nil {
		certs["k8sAggregator"] = pair(b.Certs.K8sAggregator)
	}
	machineSecrets = resource.NewProperty(resource.PropertyMap{
		"certs":      resource.NewProperty(certs),
		"cluster":    resource.NewProperty(resource.PropertyMap{"id": resource.NewProperty(b.Cluster.ID), "secret": resource.NewProperty(b.Cluster.Secret)}),
		"secrets":    resource.NewProperty(secretsMap),
		"trustdinfo": resource.NewProperty(resource.PropertyMap{"token": resource.NewProperty(b.TrustdInfo.Token)}),
	})
	clientConfiguration = resource.NewProperty(resource.PropertyMap{
		"caCertificate":     b64(b.Certs.OS.Crt),
		"clientCertificate": b64(client.Crt),
		"clientKey":         b64(client.Key),
	})
	return machineSecrets, clientConfiguration, nil
}

// secretsBundleOf rebuilds the bundle from a machine_secrets property, as the data source's Read does.
func secretsBundleOf(args resource.PropertyMap) (*secrets.Bundle, error) {
	get := func(path string) string { s, _ := str(getPath(args, "machineSecrets."+path)); return s }
	decode := func(path string) ([]byte, error) {
		b, err := base64.StdEncoding.DecodeString(get(path))
		if err != nil {
			return nil, fmt.Errorf("machineSecrets.%s: %w", path, err)
		}
		return b, nil
	}
	pair := func(name string) (*x509.PEMEncodedCertificateAndKey, error) {
		crt, err := decode("certs." + name + ".cert")
		if err != nil {
			return nil, err
		}
		key, err := decode("certs." + name + ".key")
		if err != nil {
			return nil, err
		}
		return &x509.PEMEncodedCertificateAndKey{Crt: crt, Key: key}, nil
	}
	b := &secrets.Bundle{
		Clock:      secrets.NewFixedClock(time.Now()),
		Cluster:    &secrets.Cluster{ID: get("cluster.id"), Secret: get("cluster.secret")},
		Secrets:    &secrets.Secrets{BootstrapToken: get("secrets.bootstrapToken"), SecretboxEncryptionSecret: get("secrets.secretboxEncryptionSecret"), AESCBCEncryptionSecret: get("secrets.aescbcEncryptionSecret")},
		TrustdInfo: &secrets.TrustdInfo{Token: get("trustdinfo.token")},
		Certs:      &secrets.Certs{},
	}
	var err error
	if b.Certs.Etcd, err = pair("etcd"); err != nil {
		return nil, err
	}
	if b.Certs.K8s, err = pair("k8s"); err != nil {
		return nil, err
	}
	if b.Certs.K8sAggregator, err = pair("k8sAggregator"); err != nil {
		return nil, err
	}
	if b.Certs.OS, err = pair("os"); err != nil {
		return nil, err
	}
	serviceAccount, err := decode("certs.k8sServiceaccount.key")
	if err != nil {
		return nil, err
	}
	b.Certs.K8sServiceAccount = &x509.PEMEncodedKey{Key: serviceAccount}
	return b, nil
}

// renderMachineConfig: the data source's machine_configuration.
func renderMachineConfig(args resource.PropertyMap, machineType machine.Type, kubernetesVersion, talosVersion string) (string, error) {
	machineSecrets, err := secretsBundleOf(args)
	if err != nil {
		return "", err
	}
	versionContract, err := config.ParseContractFromVersion(talosVersion)
	if err != nil {
		return "", err
	}
	clusterName, _ := str(args["clusterName"])
	endpoint, _ := str(args["clusterEndpoint"])
	patches, err := configpatcher.LoadPatches(stringList(args["configPatches"]))
	if err != nil {
		return "", fmt.Errorf("error parsing config patch: %w", err)
	}
	patchOption := bundle.WithPatchWorker(patches)
	if machineType == machine.TypeControlPlane {
		patchOption = bundle.WithPatchControlPlane(patches)
	}
	configBundle, err := bundle.NewBundle(
		bundle.WithInputOptions(&bundle.InputOptions{
			ClusterName: clusterName,
			Endpoint:    endpoint,
			KubeVersion: strings.TrimPrefix(kubernetesVersion, "v"),
			GenOptions: []generate.Option{
				generate.WithClusterDiscovery(true),
				generate.WithDNSDomain(constants.DefaultDNSDomain),
				generate.WithInstallDisk("/dev/sda"),
				generate.WithInstallImage("ghcr.io/siderolabs/installer:" + talosMachineryTag),
				generate.WithSecretsBundle(machineSecrets),
				generate.WithVersionContract(versionContract),
			},
		}),
		bundle.WithVerbose(false),
		patchOption,
	)
	if err != nil {
		return "", err
	}
	comments := encoder.CommentsDisabled
	if v := args["docs"]; v.IsBool() && v.BoolValue() {
		comments |= encoder.CommentsDocs
	}
	if v := args["examples"]; v.IsBool() && v.BoolValue() {
		comments |= encoder.CommentsExamples
	}
	out, err := configBundle.Serialize(comments, machineType)
	if err != nil {
		return "", err
	}
	return string(out), nil
}

// patchConfig: a config with patches, as the apply resource renders its machine_configuration.
func patchConfig(cfg string, patches []string) (string, error) {
	loaded, err := configpatcher.LoadPatches(patches)
	if err != nil {
		return "", err
	}
	out, err := configpatcher.Apply(configpatcher.WithBytes([]byte(cfg)), loaded)
	if err != nil {
		return "", err
	}
	b, err := out.Bytes()
	if err != nil {
		return "", err
	}
	return string(b), nil
}
