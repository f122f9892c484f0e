// talos-api stands in for the Talos nodes of a simulated cluster: it serves the Talos API that real
// talosctl (v1.13.9 and v1.14.1) calls, one listener per node on 127.0.0.x:50000, plays each node's
// kubelet against a real kube-apiserver, and runs that apiserver and its etcd. It is a stand-in because a
// Talos node (a Linux system booted from the Talos image, with machined and apid) cannot run here. Every
// behaviour follows Talos's own source, cited where it is implemented; the resource types, the API
// messages, the PKI and the COSI state server are Talos's and COSI's own code (machinery v1.13.9,
// cosi-project/runtime v1.14.1).
//
//	talos-api -dir D -etcd E -kube-apiserver K -kubeconfig out/kubeconfig -nodes nodes.json -talosconfig out/talosconfig
//	    a cluster that runs: these nodes configured, Kubernetes up (cluster.go)
//	talos-api -dir D -etcd E -kube-apiserver K -kubeconfig out/kubeconfig
//	    an empty cluster, provisioned through the API as a real one is (provision.go)
//
// It prints "control <address>" once every node that is up answers. The control API (HTTP on loopback)
// injects faults, boots machines, adds nodes and returns the timeline; see control.go.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	var opts Options

	nodesFile := flag.String("nodes", "", "JSON list of the nodes (see NodeSpec); without it, an empty cluster to provision")
	flag.StringVar(&opts.Dir, "dir", "", "directory for the logs, etcd's data and the apiserver's PKI")
	flag.StringVar(&opts.Bin.Etcd, "etcd", "", "the etcd binary")
	flag.StringVar(&opts.Bin.KubeAPIServer, "kube-apiserver", "", "the kube-apiserver binary")
	flag.StringVar(&opts.Kubeconfig, "kubeconfig", "", "where to write the admin kubeconfig once Kubernetes runs")
	flag.StringVar(&opts.Talosconfig, "talosconfig", "", "with -nodes: where to write the talosconfig for talosctl")
	control := flag.String("control", "127.0.0.1:0", "address of the control API")
	flag.Parse()

	if opts.Dir == "" || opts.Bin.Etcd == "" || opts.Bin.KubeAPIServer == "" || opts.Kubeconfig == "" {
		log.Fatal("talos-api: -dir, -etcd, -kube-apiserver and -kubeconfig are required")
	}

	if *nodesFile != "" {
		if opts.Talosconfig == "" {
			log.Fatal("talos-api: -nodes needs -talosconfig")
		}

		data, err := os.ReadFile(*nodesFile)
		if err != nil {
			log.Fatal(err)
		}

		if err = json.Unmarshal(data, &opts.Nodes); err != nil {
			log.Fatalf("talos-api: %s: %v", *nodesFile, err)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cluster, err := NewCluster(ctx, opts)
	if err != nil {
		log.Fatalf("talos-api: %v", err)
	}

	listener, err := net.Listen("tcp", *control)
	if err != nil {
		log.Fatal(err)
	}

	server := &http.Server{Handler: cluster.controlHandler()}

	go server.Serve(listener) //nolint:errcheck

	fmt.Printf("control %s\n", listener.Addr())

	<-ctx.Done()
	server.Close() //nolint:errcheck
	cluster.Shutdown()
}
