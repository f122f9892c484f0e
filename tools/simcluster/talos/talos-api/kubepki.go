package main

import (
	"bytes"
	stdx509 "crypto/x509"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/siderolabs/crypto/x509"

	"github.com/siderolabs/talos/pkg/kubeconfig"
	"github.com/siderolabs/talos/pkg/machinery/constants"
)

// kubernetesPKI is what a Talos control plane's kube-apiserver and its admin kubeconfig are made of: the
// cluster's Kubernetes CA, the service account key, the apiserver's serving certificate for the
// endpoint's IP, signed by that CA, and the admin kubeconfig from Talos's own generator (talos v1.13.9
// pkg/kubeconfig Generate, which machined's Kubeconfig API serves: one cluster with the CA, one user with
// a client certificate of O=system:masters, one context in namespace "default"). talosctl v1.14 refuses
// any other shape of kubeconfig that comes over the Talos API (v1.14.1 pkg/kubeconfig/validate.go).
type kubernetesPKI struct {
	endpoint   *url.URL
	ca         *x509.PEMEncodedCertificateAndKey
	saKey      []byte // PEM, private
	serving    *x509.PEMEncodedCertificateAndKey
	kubeconfig []byte
}

// newKubernetesPKI issues the serving certificate and the admin kubeconfig for a cluster of this CA and
// service account key, its apiserver at endpoint (https://<IP>:<port>).
func newKubernetesPKI(endpoint *url.URL, clusterName string, ca *x509.PEMEncodedCertificateAndKey, saKey []byte) (*kubernetesPKI, error) {
	ip := net.ParseIP(endpoint.Hostname())
	if ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("the cluster endpoint %s must name a loopback IP: the simulated apiserver listens there", endpoint)
	}

	issuer, err := x509.NewCertificateAuthorityFromCertificateAndKey(ca)
	if err != nil {
		return nil, fmt.Errorf("the Kubernetes CA: %w", err)
	}

	serving, err := x509.NewKeyPair(issuer,
		x509.CommonName("kube-apiserver"),
		x509.IPAddresses([]net.IP{ip}),
		x509.NotAfter(time.Now().Add(24*time.Hour)),
		x509.KeyUsage(stdx509.KeyUsageDigitalSignature|stdx509.KeyUsageKeyEncipherment),
		x509.ExtKeyUsage([]stdx509.ExtKeyUsage{stdx509.ExtKeyUsageServerAuth}),
	)
	if err != nil {
		return nil, err
	}

	var admin bytes.Buffer

	if err = kubeconfig.Generate(&kubeconfig.GenerateInput{
		ClusterName:         clusterName,
		IssuingCA:           ca,
		AcceptedCAs:         []*x509.PEMEncodedCertificate{{Crt: ca.Crt}},
		CertificateLifetime: constants.KubernetesAdminCertDefaultLifetime,
		CommonName:          constants.KubernetesAdminCertCommonName,
		Organization:        constants.KubernetesAdminCertOrganization,
		Endpoint:            endpoint.String(),
		Username:            "admin",
		ContextName:         "admin",
	}, &admin); err != nil {
		return nil, err
	}

	return &kubernetesPKI{
		endpoint: endpoint, ca: ca, saKey: saKey,
		serving: x509.NewCertificateAndKeyFromKeyPair(serving), kubeconfig: admin.Bytes(),
	}, nil
}
