// talos-api stands in for the Talos nodes of a simulated cluster: it serves the Talos API that real
// talosctl v1.13.9 calls, one mTLS listener per node on 127.0.0.x:50000, and plays each node's kubelet
// against a real kube-apiserver. It is a stand-in because a Talos node (a Linux system booted from the
// Talos image, with machined and apid) cannot run here. Every behaviour follows Talos v1.13.9's own
// source, cited where it is implemented; the resource types, the API messages, the PKI and the COSI
// state server are Talos's and COSI's own code (machinery v1.13.9, cosi-project/runtime v1.14.1).
//
//	talos-api -nodes nodes.json -kubeconfig admin.kubeconfig -talosconfig out/talosconfig -control 127.0.0.1:0
//	talos-api -kube-pki dir -endpoint https://127.0.0.1:6443 -cluster lab   (writes dir's PKI, then exits: kubepki.go)
//
// It prints "control <address>" once every node that is up answers. The control API (HTTP on loopback)
// injects faults, adds nodes and returns the timeline; see control.go.
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
	nodesFile := flag.String("nodes", "", "JSON list of the nodes (see NodeSpec)")
	kubeconfig := flag.String("kubeconfig", "", "admin kubeconfig of the kube-apiserver: the nodes' kubelets use it and the Kubeconfig API serves it")
	talosconfig := flag.String("talosconfig", "", "where to write the talosconfig for talosctl")
	control := flag.String("control", "127.0.0.1:0", "address of the control API")
	kubePKI := flag.String("kube-pki", "", "write the kube-apiserver's PKI and admin kubeconfig into this directory, then exit")
	endpoint := flag.String("endpoint", "", "with -kube-pki: the kube-apiserver's URL")
	clusterName := flag.String("cluster", "", "with -kube-pki: the cluster's name")
	flag.Parse()

	if *kubePKI != "" {
		if err := writeKubernetesPKI(*kubePKI, *endpoint, *clusterName); err != nil {
			log.Fatalf("talos-api: %v", err)
		}

		return
	}

	if *nodesFile == "" || *kubeconfig == "" || *talosconfig == "" {
		log.Fatal("talos-api: -nodes, -kubeconfig and -talosconfig are required")
	}

	var specs []NodeSpec

	data, err := os.ReadFile(*nodesFile)
	if err != nil {
		log.Fatal(err)
	}

	if err = json.Unmarshal(data, &specs); err != nil {
		log.Fatalf("talos-api: %s: %v", *nodesFile, err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cluster, err := NewCluster(ctx, *kubeconfig, *talosconfig, specs)
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
