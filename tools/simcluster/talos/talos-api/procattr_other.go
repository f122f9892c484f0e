//go:build !linux

package main

import "syscall"

// childAttributes: elsewhere than on Linux, talos-api stops them itself on SIGINT and SIGTERM only.
func childAttributes() *syscall.SysProcAttr { return nil }
