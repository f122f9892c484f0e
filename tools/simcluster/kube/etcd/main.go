// etcd v3.6.8 for the simulated cluster's kube-apiserver: upstream's own entry point (etcd main.go at
// v3.6.8 calls etcdmain.Main the same way), from the server module that k8s.io/kubernetes v1.36.3 requires.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
