package main

import (
	"context"
	"crypto/tls"
	stdx509 "crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// Binaries are the real programs a simulated control plane runs, built from the Go module proxy
// (tools/simcluster/cluster.ts buildClusterTools): etcd and kube-apiserver.
type Binaries struct {
	Etcd, KubeAPIServer string
}

// kubernetesProcesses are the cluster's etcd and kube-apiserver. One of each stands for every control
// plane's: the stand-in's etcd members are bookkeeping (Node.etcdMember), and the apiserver serves at the
// cluster endpoint, as the VIP or the load balancer in front of the control planes does. etcd listens in
// plain HTTP on 127.0.0.1 (Talos's etcd PKI is not simulated: only the apiserver talks to it).
type kubernetesProcesses struct {
	etcd, apiserver *exec.Cmd
	exited          map[*exec.Cmd]chan struct{}
}

// startKubernetes starts etcd and a kube-apiserver with this PKI at its endpoint, waits until the
// apiserver is ready, and returns them and a client of the admin kubeconfig. Logs go to dir.
func startKubernetes(ctx context.Context, dir string, bin Binaries, pki *kubernetesPKI) (*kubernetesProcesses, kubernetes.Interface, error) {
	p := &kubernetesProcesses{exited: map[*exec.Cmd]chan struct{}{}}

	files := map[string][]byte{
		"ca.crt": pki.ca.Crt, "apiserver.crt": pki.serving.Crt, "apiserver.key": pki.serving.Key, "sa.key": pki.saKey,
	}

	pkiDir := filepath.Join(dir, "kube-pki")
	if err := os.MkdirAll(pkiDir, 0o700); err != nil {
		return nil, nil, err
	}

	for name, data := range files {
		if err := os.WriteFile(filepath.Join(pkiDir, name), data, 0o600); err != nil {
			return nil, nil, err
		}
	}

	clientPort, peerPort := freePort(), freePort()
	if clientPort == 0 || peerPort == 0 {
		return nil, nil, errors.New("no free loopback port for etcd")
	}

	var err error

	etcdURL := func(port int) string { return "http://127.0.0.1:" + strconv.Itoa(port) }

	if p.etcd, err = p.start(dir, "etcd", bin.Etcd,
		"--name=simulated",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL(clientPort),
		"--advertise-client-urls="+etcdURL(clientPort),
		"--listen-peer-urls="+etcdURL(peerPort),
		"--initial-advertise-peer-urls="+etcdURL(peerPort),
		"--initial-cluster=simulated="+etcdURL(peerPort),
	); err != nil {
		return nil, nil, err
	}

	host, port := pki.endpoint.Hostname(), pki.endpoint.Port()
	if p.apiserver, err = p.start(dir, "kube-apiserver", bin.KubeAPIServer,
		"--etcd-servers="+etcdURL(clientPort),
		"--bind-address="+host,
		"--advertise-address="+host,
		"--secure-port="+port,
		"--tls-cert-file="+filepath.Join(pkiDir, "apiserver.crt"),
		"--tls-private-key-file="+filepath.Join(pkiDir, "apiserver.key"),
		"--client-ca-file="+filepath.Join(pkiDir, "ca.crt"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		// The private key's PEM holds the public key too: the apiserver reads it from there.
		"--service-account-key-file="+filepath.Join(pkiDir, "sa.key"),
		"--service-account-signing-key-file="+filepath.Join(pkiDir, "sa.key"),
		"--service-cluster-ip-range=10.96.0.0/16",
	); err != nil {
		p.stop()

		return nil, nil, err
	}

	if err = p.waitReady(ctx, pki); err != nil {
		p.stop()

		return nil, nil, fmt.Errorf("%w; its log: %s", err, filepath.Join(dir, "kube-apiserver.log"))
	}

	restConfig, err := clientcmd.RESTConfigFromKubeConfig(pki.kubeconfig)
	if err != nil {
		p.stop()

		return nil, nil, fmt.Errorf("kubeconfig: %w", err)
	}

	kube, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		p.stop()

		return nil, nil, err
	}

	return p, kube, nil
}

func (p *kubernetesProcesses) start(dir, name, binary string, args ...string) (*exec.Cmd, error) {
	log, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	defer log.Close() //nolint:errcheck

	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = childAttributes()

	if err = cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}

	exited := make(chan struct{})
	p.exited[cmd] = exited

	go func() {
		cmd.Wait() //nolint:errcheck
		close(exited)
	}()

	return cmd, nil
}

// waitReady polls the apiserver's /readyz (public: RBAC's system:public-info-viewer) until it answers 200.
func (p *kubernetesProcesses) waitReady(ctx context.Context, pki *kubernetesPKI) error {
	pool := stdx509.NewCertPool()
	pool.AppendCertsFromPEM(pki.ca.Crt)

	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	deadline := time.Now().Add(2 * time.Minute)

	for {
		res, err := client.Get(pki.endpoint.String() + "/readyz")
		if err == nil {
			res.Body.Close() //nolint:errcheck

			if res.StatusCode == http.StatusOK {
				return nil
			}
		}

		select {
		case <-p.exited[p.apiserver]:
			return errors.New("kube-apiserver exited")
		case <-p.exited[p.etcd]:
			return errors.New("etcd exited")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}

		if time.Now().After(deadline) {
			return errors.New("kube-apiserver did not become ready in 2 minutes")
		}
	}
}

// stop ends the apiserver before etcd: an apiserver whose etcd is gone hangs on SIGTERM.
func (p *kubernetesProcesses) stop() {
	for _, cmd := range []*exec.Cmd{p.apiserver, p.etcd} {
		if cmd == nil || cmd.Process == nil {
			continue
		}

		cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck

		select {
		case <-p.exited[cmd]:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill() //nolint:errcheck
			<-p.exited[cmd]
		}
	}
}

// freePort is a TCP port on 127.0.0.1 nobody listens on now, or 0.
func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer l.Close() //nolint:errcheck

	return l.Addr().(*net.TCPAddr).Port //nolint:forcetypeassert
}

// waitForNamespace polls until the namespace exists (up to a minute).
func waitForNamespace(ctx context.Context, kube kubernetes.Interface, name string) error {
	deadline := time.Now().Add(time.Minute)

	for {
		_, err := kube.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			return nil
		}

		if time.Now().After(deadline) {
			return fmt.Errorf("the apiserver did not create namespace %s: %w", name, err)
		}

		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
