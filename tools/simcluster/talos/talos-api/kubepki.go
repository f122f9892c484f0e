package main

import (
	"bytes"
	stdx509 "crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/siderolabs/crypto/x509"

	"github.com/siderolabs/talos/pkg/kubeconfig"
	"github.com/siderolabs/talos/pkg/machinery/constants"
)

// writeKubernetesPKI writes what a Talos control plane's apiserver and its admin kubeconfig are made of,
// as Talos makes them, for the simulated kube-apiserver: the cluster's Kubernetes CA (machinery v1.13.9
// config/generate/secrets NewKubernetesCA: ECDSA), the apiserver's serving certificate for the
// endpoint's IP, signed by it, and the admin kubeconfig from Talos's own generator (talos v1.13.9
// pkg/kubeconfig Generate, which machined's Kubeconfig API serves: one cluster with the CA, one user
// with a client certificate of O=system:masters, one context in namespace "default"). talosctl v1.14
// refuses any other shape of kubeconfig that comes over the Talos API (v1.14.1 pkg/kubeconfig/validate.go).
//
//	dir/ca.crt, dir/apiserver.crt, dir/apiserver.key, dir/kubeconfig
func writeKubernetesPKI(dir, endpoint, clusterName string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		return err
	}

	ip := net.ParseIP(u.Hostname())
	if ip == nil {
		return fmt.Errorf("the endpoint %s must name an IP", endpoint)
	}

	ca, err := x509.NewSelfSignedCertificateAuthority(x509.ECDSA(true), x509.Organization("kubernetes"))
	if err != nil {
		return err
	}

	caPEM := &x509.PEMEncodedCertificateAndKey{Crt: ca.CrtPEM, Key: ca.KeyPEM}

	issuer, err := x509.NewCertificateAuthorityFromCertificateAndKey(caPEM)
	if err != nil {
		return err
	}

	serving, err := x509.NewKeyPair(issuer,
		x509.CommonName("kube-apiserver"),
		x509.IPAddresses([]net.IP{ip}),
		x509.NotAfter(time.Now().Add(24*time.Hour)),
		x509.KeyUsage(stdx509.KeyUsageDigitalSignature|stdx509.KeyUsageKeyEncipherment),
		x509.ExtKeyUsage([]stdx509.ExtKeyUsage{stdx509.ExtKeyUsageServerAuth}),
	)
	if err != nil {
		return err
	}

	var admin bytes.Buffer

	if err = kubeconfig.Generate(&kubeconfig.GenerateInput{
		ClusterName:         clusterName,
		IssuingCA:           caPEM,
		AcceptedCAs:         []*x509.PEMEncodedCertificate{{Crt: ca.CrtPEM}},
		CertificateLifetime: constants.KubernetesAdminCertDefaultLifetime,
		CommonName:          constants.KubernetesAdminCertCommonName,
		Organization:        constants.KubernetesAdminCertOrganization,
		Endpoint:            endpoint,
		Username:            "admin",
		ContextName:         "admin",
	}, &admin); err != nil {
		return err
	}

	servingPEM := x509.NewCertificateAndKeyFromKeyPair(serving)

	for name, data := range map[string][]byte{
		"ca.crt":        ca.CrtPEM,
		"apiserver.crt": servingPEM.Crt,
		"apiserver.key": servingPEM.Key,
		"kubeconfig":    admin.Bytes(),
	} {
		if err = os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return err
		}
	}

	return nil
}
