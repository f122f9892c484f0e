package main

import (
	"context"
	"testing"

	"google.golang.org/grpc"
)

func workerConfig(machine string) []byte {
	return []byte("version: v1alpha1\nmachine:\n  type: worker\n" + machine + "cluster:\n  clusterName: lab\n")
}

// The live/reboot split of Talos's Runtime.CanApplyImmediate (v1alpha1_runtime.go, v1.13.9).
func TestCanApplyImmediate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		machine string
		live    bool
	}{
		{"unchanged", "", true},
		{"node labels", "  nodeLabels: { rack: a }\n", true},
		{"sysctls", "  sysctls: { net.core.somaxconn: \"65535\" }\n", true},
		{"environment", "  env: { HTTPS_PROXY: http://proxy:3128 }\n", false},
	} {
		err := canApplyImmediate(workerConfig(""), workerConfig(tc.machine))
		if (err == nil) != tc.live {
			t.Errorf("%s: live = %v, want %v (%v)", tc.name, err == nil, tc.live, err)
		}
	}
}

func TestInstallerImage(t *testing.T) {
	match := installerImage.FindStringSubmatch("factory.talos.dev/nocloud-installer/376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba:v1.13.10")
	if match == nil || match[1] != "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba" || match[2] != "v1.13.10" {
		t.Fatalf("installer image not read: %v", match)
	}

	if installerImage.MatchString("ghcr.io/siderolabs/talos:v1.13.10") {
		t.Fatal("a non-installer image was taken for an installer")
	}
}

// In maintenance mode a client without credentials is a reader (apid's ReadOnlyWithAdminOnSiderolink),
// and may apply a config; Bootstrap, Reset, Kubeconfig are the admin's.
func TestMaintenanceMethods(t *testing.T) {
	for method, allowed := range map[string]bool{
		"/machine.MachineService/ApplyConfiguration": true,
		"/machine.MachineService/Version":            true,
		"/cosi.resource.State/List":                  true,
		"/machine.MachineService/Bootstrap":          false,
		"/machine.MachineService/Reset":              false,
		"/machine.MachineService/Kubeconfig":         false,
	} {
		_, err := maintenanceUnary(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: method}, func(context.Context, any) (any, error) { return nil, nil })
		if (err == nil) != allowed {
			t.Errorf("%s: allowed = %v, want %v", method, err == nil, allowed)
		}
	}
}

// An install from maintenance mode takes the config's installer, not the ISO's version.
func TestInstalledBy(t *testing.T) {
	for _, tc := range []struct{ image, version, schematic string }{
		{"factory.talos.dev/nocloud-installer/88d1f7a5c4f1d3aba7df787c448c1d3d008ed29cfb34af53fa0df4336a56040b:v1.14.3", "v1.14.3", "88d1f7a5c4f1d3aba7df787c448c1d3d008ed29cfb34af53fa0df4336a56040b"},
		{"ghcr.io/siderolabs/installer:v1.14.1", "v1.14.1", emptySchematic},
		{"", "", ""},
	} {
		version, schematic, err := installedBy(tc.image)
		if err != nil || version != tc.version || schematic != tc.schematic {
			t.Errorf("installedBy(%q) = %q, %q, %v; want %q, %q", tc.image, version, schematic, err, tc.version, tc.schematic)
		}
	}

	if _, _, err := installedBy("docker.io/library/busybox:latest"); err == nil {
		t.Error("an image that installs no Talos was taken")
	}
}
