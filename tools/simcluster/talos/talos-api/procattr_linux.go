package main

import "syscall"

// childAttributes: etcd and the apiserver die with talos-api, so that a stand-in killed outright leaves no
// apiserver holding the cluster endpoint's port for the next cluster.
func childAttributes() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
