/**
 * Bad stack configuration is refused with the config path, the value and the fix, before the program
 * registers anything but the stack itself; the same description given to TalosCluster is refused with
 * the same problems, under `args.` instead of `cluster.`.
 */
import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { ValidationError } from "../components";
import { exampleCluster, problemLines, runStack, runTalosCluster, succeeded, TYPES } from "./harness";

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access,
   @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-assignment
   -- each row edits the untyped YAML data of a stack file */
type Cluster = Record<string, any>;

interface Row {
  what: string;
  edit: (c: Cluster) => void;
  path: string;
  message: RegExp;
  extraConfig?: Record<string, string | undefined>;
  /** The example stack the row starts from. @default "homelab" */
  stack?: "homelab" | "prod";
  /** A rule of the stack file, not of the cluster's description (TalosCluster takes it). */
  stackOnly?: boolean;
}

const rows: Row[] = [
  {
    what: "a cluster name that is no DNS label",
    edit: (c) => (c.name = "Home_Lab"),
    path: "cluster.name",
    message: /DNS label.*"home-lab"/,
  },
  {
    what: "a Talos version without v",
    edit: (c) => (c.talosVersion = "1.14.1"),
    path: "cluster.talosVersion",
    message: /Add the "v": "v1.14.1"/,
  },
  {
    what: "a Kubernetes version with v",
    edit: (c) => (c.kubernetesVersion = "v1.36.1"),
    path: "cluster.kubernetesVersion",
    message: /Drop the "v": "1.36.1"/,
  },
  {
    what: "an unquoted YAML number as version",
    edit: (c) => (c.kubernetesVersion = 1.36),
    path: "cluster.kubernetesVersion",
    message: /must be a string \(got 1.36\). Quote it/,
  },
  {
    what: "a CIDR with host bits",
    edit: (c) => (c.network.cidr = "192.168.10.5/24"),
    path: "cluster.network.cidr",
    message: /host bits set.*"192.168.10.0\/24"/,
  },
  {
    what: "a malformed CIDR",
    edit: (c) => (c.network.cidr = "192.168.10.0/33"),
    path: "cluster.network.cidr",
    message: /not an IPv4 CIDR/,
  },
  {
    what: "a gateway outside the network",
    edit: (c) => (c.network.gateway = "192.168.11.1"),
    path: "cluster.network.gateway",
    message: /not a host address inside 192.168.10.0\/24/,
  },
  {
    what: "no nameservers",
    edit: (c) => (c.network.nameservers = []),
    path: "cluster.network.nameservers",
    message: /is empty/,
  },
  {
    what: "a bad nameserver",
    edit: (c) => (c.network.nameservers = ["dns.google"]),
    path: "cluster.network.nameservers[0]",
    message: /not an IP address/,
  },
  {
    what: "a VLAN out of range",
    edit: (c) => (c.network.vlan = 5000),
    path: "cluster.network.vlan",
    message: /at most 4094/,
  },
  {
    what: "a bad bridge name",
    edit: (c) => (c.network.bridge = "vmbr 0"),
    path: "cluster.network.bridge",
    message: /not a Proxmox bridge name/,
  },
  {
    what: "a VIP outside the network",
    edit: (c) => (c.vip.ip = "10.0.0.50"),
    path: "cluster.vip.ip",
    message: /not a host address inside 192.168.10.0\/24/,
  },
  {
    what: "a VIP on the gateway",
    edit: (c) => (c.vip.ip = "192.168.10.1"),
    path: "cluster.vip.ip",
    message: /is the gateway/,
  },
  {
    what: "an unknown VIP provider",
    edit: (c) => (c.vip.provider = "metallb"),
    path: "cluster.vip.provider",
    message: /Use "talos" \(default\) or "kube-vip"/,
  },
  {
    what: "an even number of control planes",
    edit: (c) => c.controlPlane.nodes.push({ name: "cp-2", pveNode: "pve", ip: "192.168.10.12" }),
    path: "cluster.controlPlane.nodes",
    message: /has 2 nodes; etcd needs an odd number/,
  },
  {
    what: "a control plane below 2 cores",
    edit: (c) => (c.controlPlane.cores = 1),
    path: "cluster.controlPlane.cores",
    message: /at least 2 \(got 1\)/,
  },
  {
    what: "memory as a string",
    edit: (c) => (c.controlPlane.memoryMiB = "4096"),
    path: "cluster.controlPlane.memoryMiB",
    message: /whole number \(got "4096"\)/,
  },
  {
    what: "a worker below 2048 MiB",
    edit: (c) => (c.workerPools[0].memoryMiB = 1024),
    path: "cluster.workerPools[0].memoryMiB",
    message: /at least 2048/,
  },
  {
    what: "a CPU type without x86-64-v2",
    edit: (c) => (c.controlPlane.cpuType = "kvm64"),
    path: "cluster.controlPlane.cpuType",
    message: /lacks x86-64-v2/,
  },
  {
    what: "a CPU type Proxmox does not know",
    edit: (c) => (c.workerPools[0].cpuType = "hots"),
    path: "cluster.workerPools[0].cpuType",
    message: /"hots" is not a QEMU CPU model Proxmox knows .*Did you mean "host"\?/,
  },
  {
    what: "an unknown SCSI controller",
    edit: (c) => (c.workerPools[0].scsiHardware = "lsi"),
    path: "cluster.workerPools[0].scsiHardware",
    message: /"lsi" is not supported\. Use "virtio-scsi-pci" or "virtio-scsi-single"/,
  },
  {
    what: "a malformed node IP",
    edit: (c) => c.workerPools[0].nodes.push({ name: "w-3", pveNode: "pve", ip: "192.168.10.300" }),
    path: "cluster.workerPools[0].nodes[2].ip",
    message: /"192.168.10.300" is not an IPv4 address/,
  },
  {
    what: "a node IP outside the network",
    edit: (c) => (c.workerPools[0].nodes[0].ip = "10.1.1.1"),
    path: "cluster.workerPools[0].nodes[0].ip",
    message: /not a host address inside network.cidr/,
  },
  {
    what: "a node on the broadcast address",
    edit: (c) => (c.workerPools[0].nodes[0].ip = "192.168.10.255"),
    path: "cluster.workerPools[0].nodes[0].ip",
    message: /not a host address/,
  },
  {
    what: "a node on the gateway",
    edit: (c) => (c.controlPlane.nodes[0].ip = "192.168.10.1"),
    path: "cluster.controlPlane.nodes[0].ip",
    message: /is the gateway/,
  },
  {
    what: "a node on the VIP",
    edit: (c) => (c.workerPools[0].nodes[1].ip = "192.168.10.50"),
    path: "cluster.workerPools[0].nodes[1].ip",
    message: /is the VIP/,
  },
  {
    what: "two nodes on one IP",
    edit: (c) => (c.workerPools[0].nodes[1].ip = "192.168.10.21"),
    path: "cluster.workerPools[0].nodes[1].ip",
    message: /already used by workerPools\[0\].nodes\[0\].ip/,
  },
  {
    what: "two nodes with one name",
    edit: (c) => (c.workerPools[0].nodes[0].name = "cp-1"),
    path: "cluster.workerPools[0].nodes[0].name",
    message: /already used by controlPlane.nodes\[0\].name/,
  },
  {
    what: "two VMs with one id",
    edit: (c) => (c.workerPools[0].nodes[1].vmId = 1021),
    path: "cluster.workerPools[0].nodes[1].vmId",
    message: /1021 is already used/,
  },
  {
    what: "a vmId below 100",
    edit: (c) => (c.controlPlane.nodes[0].vmId = 42),
    path: "cluster.controlPlane.nodes[0].vmId",
    message: /at least 100/,
  },
  {
    what: "a bad Proxmox node name",
    edit: (c) => (c.controlPlane.nodes[0].pveNode = "PVE 1"),
    path: "cluster.controlPlane.nodes[0].pveNode",
    message: /DNS label/,
  },
  {
    what: "a node without IP",
    edit: (c) => delete c.workerPools[0].nodes[0].ip,
    path: "cluster.workerPools[0].nodes[0].ip",
    message: /is required/,
  },
  {
    what: "a worker pool with no nodes",
    edit: (c) => c.workerPools.push({ name: "empty", cores: 1, memoryMiB: 2048, diskGiB: 10, nodes: [] }),
    path: "cluster.workerPools[1].nodes",
    message: /is empty/,
  },
  {
    what: "two pools with one name",
    edit: (c) =>
      c.workerPools.push({
        ...c.workerPools[0],
        nodes: [{ name: "x-1", pveNode: "pve", ip: "192.168.10.31" }],
      }),
    path: "cluster.workerPools[1].name",
    message: /already the name of workerPools\[0\]/,
  },
  {
    what: "a typo in a key",
    edit: (c) => ((c.contolPlane = c.controlPlane), delete c.controlPlane),
    path: "cluster.contolPlane",
    message: /Did you mean "controlPlane"\?/,
  },
  {
    what: "a missing cluster name",
    edit: (c) => delete c.name,
    path: "cluster.name",
    message: /is required/,
  },
  {
    what: "an extension without its org",
    edit: (c) => (c.image.extensions = ["qemu-guest-agent"]),
    path: "cluster.image.extensions[0]",
    message:
      /"qemu-guest-agent" is not an official system extension of Talos v1\.13\.9.*Did you mean "siderolabs\/qemu-guest-agent"\?/,
  },
  {
    what: "an extension that does not exist",
    edit: (c) => (c.image.extensions = ["siderolabs/iscsi-tool"]),
    path: "cluster.image.extensions[0]",
    message:
      /"siderolabs\/iscsi-tool" is not an official system extension.*Did you mean "siderolabs\/iscsi-tools"\?/,
  },
  {
    what: "a bad ISO storage",
    edit: (c) => (c.image.datastore = "1local"),
    path: "cluster.image.datastore",
    message: /not a Proxmox storage id/,
  },
  {
    what: "deletionProtection that is no boolean",
    edit: (c) => (c.deletionProtection = "yes"),
    path: "cluster.deletionProtection",
    message: /true or false/,
  },
  {
    what: "protect, the key's name before 0.4",
    edit: (c) => (c.protect = true),
    path: "cluster.protect",
    message: /was renamed to deletionProtection \(see the CHANGELOG\)\. Rename it\./,
  },
  {
    what: "no Proxmox endpoint",
    edit: () => undefined,
    extraConfig: { "proxmoxve:endpoint": undefined },
    path: "proxmoxve:endpoint",
    message: /is not set. Set it with: pulumi config set/,
  },
  {
    what: "a plain-http endpoint",
    edit: () => undefined,
    extraConfig: { "proxmoxve:endpoint": "http://pve:8006" },
    path: "proxmoxve:endpoint",
    message: /must use https/,
  },
  {
    what: "a config patch with a field Talos v1.13 deprecates",
    edit: (c) =>
      (c.workerPools[0].configPatches = [
        { machine: { sysctls: {} } },
        { machine: { time: { servers: ["pool.ntp.org"] } } },
      ]),
    path: "cluster.workerPools[0].configPatches[1]",
    message: /sets "machine\.time", which Talos v1\.13 deprecates .*TimeSyncConfig/,
  },
  {
    what: "a misspelled Proxmox setting",
    edit: () => undefined,
    extraConfig: { "proxmoxve:insecrue": "true" },
    path: "proxmoxve:insecrue",
    message:
      /is not a setting of the Proxmox provider\. This stack reads proxmoxve:endpoint, proxmoxve:apiToken, proxmoxve:insecure\./,
  },
  {
    what: "a Proxmox provider setting the stack's explicit provider would never see",
    edit: () => undefined,
    extraConfig: { "proxmoxve:password": "hunter2" },
    path: "proxmoxve:password",
    message:
      /is a Proxmox provider setting this stack does not pass on \(it passes endpoint, apiToken, insecure\)/,
  },
  {
    what: "an API token in plain text",
    edit: () => undefined,
    extraConfig: { "proxmoxve:apiToken": "pulumi@pve!talos=0b1c2d3e" },
    path: "proxmoxve:apiToken",
    message:
      /is stored in plain text in the stack file\. Encrypt it: pulumi config set --secret proxmoxve:apiToken/,
  },
  {
    what: "prod with one control plane",
    stack: "prod",
    edit: (c) => c.controlPlane.nodes.splice(1, 2),
    path: "cluster.controlPlane.nodes",
    message:
      /has 1 node\(s\), but highAvailability and deletionProtection are on: etcd keeps quorum through a node failure only with at least 3/,
  },
  {
    what: "a protected cluster with one control plane",
    edit: (c) => (c.deletionProtection = true),
    path: "cluster.controlPlane.nodes",
    message: /only with at least 3 control-plane nodes/,
  },
  {
    what: "a Kubernetes version the Talos minor does not support",
    edit: (c) => (c.kubernetesVersion = "1.31.4"),
    path: "cluster.kubernetesVersion",
    message: /Kubernetes 1.31.4 is not supported by Talos v1.14, which runs 1.32 to 1.37/,
  },
  {
    what: "a Talos minor older than the config documents the patches use",
    edit: (c) => (c.talosVersion = "v1.12.6"),
    path: "cluster.talosVersion",
    message:
      /Talos v1\.12 is not supported: this library supports v1\.13\.x and v1\.14\.x .*Use one of them, e\.g\. "v1\.14\.1"/,
  },
  {
    what: "a Talos minor newer than every one it supports",
    edit: (c) => (c.talosVersion = "v1.15.0"),
    path: "cluster.talosVersion",
    message: /Talos v1\.15 is not supported/,
  },
  {
    what: "a Talos v1.14 document in a patch, which the provider's v1.13 machinery cannot load",
    edit: (c) => (c.workerPools[0].configPatches = [{ apiVersion: "v1alpha1", kind: "KubeletConfig" }]),
    path: "cluster.workerPools[0].configPatches[0]",
    message:
      /is a KubeletConfig document, which Talos v1\.14 added: the Talos provider 0\.8\.1 loads patches with its v1\.13 machinery/,
  },
  {
    what: "an unknown CNI",
    edit: (c) => (c.cni = "calico"),
    path: "cluster.cni",
    message: /Use "cilium" \(default\) or "flannel"/,
  },
  {
    what: "Longhorn without its extensions",
    edit: (c) => (c.image.extensions = ["siderolabs/qemu-guest-agent"]),
    path: "cluster.longhorn.enabled",
    message: /Longhorn needs siderolabs\/iscsi-tools and siderolabs\/util-linux-tools in the image/,
  },
  {
    what: "a bad label key",
    edit: (c) => (c.workerPools[0].labels = { "a/b/c": "x" }),
    path: "cluster.workerPools[0].labels.a/b/c",
    message: /not a label key/,
  },
  {
    what: "a label that is no string",
    edit: (c) => (c.workerPools[0].labels = { tier: 1 }),
    path: "cluster.workerPools[0].labels.tier",
    message: /must be a string/,
  },
  {
    what: "a bad taint",
    edit: (c) => (c.workerPools[0].taints = { dedicated: "db" }),
    path: "cluster.workerPools[0].taints.dedicated",
    message: /"value:Effect"/,
  },
  {
    what: "a config patch that is no mapping",
    edit: (c) => (c.controlPlane.configPatches = [42]),
    path: "cluster.controlPlane.configPatches",
    message: /must be a list of mappings or YAML strings/,
  },
  {
    what: "kube-vip and Cilium both owning LoadBalancer IPs",
    edit: (c) => (c.cilium.l2Announcements = { enabled: true, ranges: ["192.168.10.230-192.168.10.239"] }),
    path: "cluster.kubeVip.enabled",
    message: /would both own Service LoadBalancer IPs/,
  },
  {
    what: "a service range outside the network",
    edit: (c) => (c.kubeVip.serviceRanges = ["192.168.11.200-192.168.11.209"]),
    path: "cluster.kubeVip.serviceRanges.global[0]",
    message: /not inside the node network 192.168.10.0\/24/,
  },
  {
    what: "a service range over a node",
    edit: (c) => (c.kubeVip.serviceRanges = ["192.168.10.20-192.168.10.29"]),
    path: "cluster.kubeVip.serviceRanges.global[0]",
    message: /contains 192.168.10.21, which is a node's address/,
  },
  {
    what: "a service range over the VIP",
    edit: (c) => (c.kubeVip.serviceRanges = { global: ["192.168.10.48/29"] }),
    path: "cluster.kubeVip.serviceRanges.global[0]",
    message: /contains 192.168.10.50, which is the API VIP/,
  },
  {
    what: "a service range over the gateway",
    edit: (c) => (c.kubeVip.serviceRanges = ["192.168.10.1-192.168.10.5"]),
    path: "cluster.kubeVip.serviceRanges.global[0]",
    message: /contains 192.168.10.1, which is the gateway/,
  },
  {
    what: "overlapping ranges of two namespaces",
    edit: (c) =>
      (c.kubeVip.serviceRanges = { global: ["192.168.10.200/29"], media: ["192.168.10.204-192.168.10.210"] }),
    path: "cluster.kubeVip.serviceRanges.media[0]",
    message: /overlaps "192.168.10.200\/29"/,
  },
  {
    what: "kube-vip without ranges",
    edit: (c) => (c.kubeVip.serviceRanges = []),
    path: "cluster.kubeVip.serviceRanges",
    message: /is empty/,
  },
  {
    what: "ranges with kube-vip off",
    edit: (c) => (c.kubeVip.enabled = false),
    path: "cluster.kubeVip.serviceRanges",
    message: /services mode is off/,
  },
  {
    what: "L2 announcements without ranges",
    edit: (c) => ((c.kubeVip = { enabled: false }), (c.cilium.l2Announcements = { enabled: true })),
    path: "cluster.cilium.l2Announcements.ranges",
    message: /is empty/,
  },
  {
    what: "Cilium settings with Flannel",
    edit: (c) => (c.cni = "flannel"),
    path: "cluster.cilium",
    message: /is set but cni is "flannel"/,
  },
  {
    what: "a Cilium version with v",
    edit: (c) => (c.cilium.version = "v1.18.6"),
    path: "cluster.cilium.version",
    message: /no "v"/,
  },
  {
    what: "Cilium values that turn kube-proxy replacement off",
    edit: (c) => (c.cilium.values = { kubeProxyReplacement: false }),
    path: "cluster.cilium.values.kubeProxyReplacement",
    message: /Talos runs no kube-proxy under Cilium/,
  },
  {
    what: "SYS_MODULE in the Cilium values",
    edit: (c) => (c.cilium.values = { securityContext: { capabilities: { ciliumAgent: ["SYS_MODULE"] } } }),
    path: "cluster.cilium.values.securityContext.capabilities.ciliumAgent",
    message: /SYS_MODULE is refused by Talos/,
  },
  {
    what: "an unpinned kube-vip",
    edit: (c) => (c.kubeVip.version = "latest"),
    path: "cluster.kubeVip.version",
    message: /not a release tag/,
  },
  {
    what: "a bad kube-vip interface",
    edit: (c) => (c.kubeVip.interface = "en s18"),
    path: "cluster.kubeVip.interface",
    message: /not a network interface name/,
  },
  {
    what: "a service range scope that is no namespace",
    edit: (c) => (c.kubeVip.serviceRanges = { Media: ["192.168.10.200/30"] }),
    path: "cluster.kubeVip.serviceRanges.Media",
    message: /DNS label/,
  },
  {
    what: "a config patch with its own hostname document",
    edit: (c) =>
      (c.workerPools[0].configPatches = [{ apiVersion: "v1alpha1", kind: "HostnameConfig", hostname: "w" }]),
    path: "cluster.workerPools[0].configPatches[0]",
    message:
      /sets a HostnameConfig document, which this library owns: each node's hostname is its name\. Remove it from the patch, and set nodes\[\]\.name instead\./,
  },
  {
    what: "a worker label set through a patch, past the NodeRestriction check",
    edit: (c) =>
      (c.workerPools[0].configPatches = [
        { machine: { nodeLabels: { "node-role.kubernetes.io/worker": "" } } },
      ]),
    path: "cluster.workerPools[0].configPatches[0]",
    message: /sets "machine\.nodeLabels", which this library owns: .*set workerPools\[\]\.labels instead\./,
  },
  {
    what: "worker taints through a patch, which NodeRestriction forbids a worker to set",
    edit: (c) =>
      (c.workerPools[0].configPatches = [{ machine: { nodeTaints: { dedicated: "db:NoSchedule" } } }]),
    path: "cluster.workerPools[0].configPatches[0]",
    message: /sets "machine\.nodeTaints", which this library owns: NodeRestriction forbids a worker/,
  },
  {
    what: "a deprecated field, pointed at the library's setting rather than at a refused document",
    edit: (c) => (c.workerPools[0].configPatches = [{ machine: { features: { stableHostname: true } } }]),
    path: "cluster.workerPools[0].configPatches[0]",
    message: /Use nodes\[\]\.name \(each node's hostname is its name\) instead\./,
  },
  {
    what: "control planes a cluster without workers may not schedule on",
    edit: (c) => {
      c.workerPools = [];
      c.longhorn = { enabled: false };
      c.controlPlane.configPatches = [{ cluster: { allowSchedulingOnControlPlanes: false } }];
    },
    path: "cluster.controlPlane.configPatches[0]",
    message:
      /sets "cluster\.allowSchedulingOnControlPlanes", which this library owns: a cluster without workers runs its workloads on the control planes/,
  },
  {
    what: "a config patch that picks the install disk",
    edit: (c) => (c.controlPlane.configPatches = [{ machine: { install: { disk: "/dev/vda" } } }]),
    path: "cluster.controlPlane.configPatches[0]",
    message:
      /sets "machine\.install\.disk", which this library owns: Talos installs on the VM's own disk, \/dev\/sda/,
  },
  {
    what: "a config patch that sets a CNI under Cilium",
    edit: (c) => (c.workerPools[0].configPatches = [{ cluster: { network: { cni: { name: "custom" } } } }]),
    path: "cluster.workerPools[0].configPatches[0]",
    message: /sets "cluster\.network\.cni", which this library owns: with cni: cilium .*set cni instead/,
  },
  {
    what: "a config patch that turns kube-proxy back on under Cilium",
    edit: (c) => (c.workerPools[0].configPatches = [{ cluster: { proxy: { disabled: false } } }]),
    path: "cluster.workerPools[0].configPatches[0]",
    message:
      /sets "cluster\.proxy\.disabled", which this library owns: with cni: cilium, Cilium replaces kube-proxy/,
  },
  {
    what: "a JSON patch that replaces what holds owned settings, once",
    edit: (c) => (c.workerPools[0].configPatches = ["- op: add\n  path: /cluster\n  value: {}\n"]),
    path: "cluster.workerPools[0].configPatches[0]",
    message:
      /^sets the whole of "\/cluster", which this library owns: it holds cluster\.etcd\.advertisedSubnets, .*Remove it from the patch\.$/,
  },
  {
    what: "a JSON patch that moves an owned setting away",
    edit: (c) =>
      (c.workerPools[0].configPatches = [
        "- op: move\n  from: /machine/install/disk\n  path: /machine/files/0\n",
      ]),
    path: "cluster.workerPools[0].configPatches[0]",
    message: /sets "machine\.install\.disk", which this library owns/,
  },
  {
    what: "a JSON patch that adds a node-IP subnet",
    edit: (c) =>
      (c.workerPools[0].configPatches = [
        "- op: add\n  path: /machine/kubelet/nodeIP/validSubnets/-\n  value: 10.0.0.0/8\n",
      ]),
    path: "cluster.workerPools[0].configPatches[0]",
    message: /sets "machine\.kubelet\.nodeIP", which this library owns: .*set nodes\[\]\.ip instead/,
  },
  {
    what: "a config patch with etcd's advertised subnets",
    edit: (c) =>
      (c.controlPlane.configPatches = [{ cluster: { etcd: { advertisedSubnets: ["10.0.0.0/8"] } } }]),
    path: "cluster.controlPlane.configPatches[0]",
    message:
      /sets "cluster\.etcd\.advertisedSubnets", which this library owns: .*set controlPlane\.nodes\[\]\.ip/,
  },
  {
    what: "a config patch with the API VIP's document",
    edit: (c) =>
      (c.controlPlane.configPatches = [
        { apiVersion: "v1alpha1", kind: "Layer2VIPConfig", name: "192.168.10.50", link: "ens18" },
      ]),
    path: "cluster.controlPlane.configPatches[0]",
    message: /sets a Layer2VIPConfig document for 192\.168\.10\.50, .*set vip\.ip and vip\.provider instead/,
  },
  {
    what: "a config patch that aliases the control planes' NIC",
    edit: (c) =>
      (c.controlPlane.configPatches = [
        { apiVersion: "v1alpha1", kind: "LinkAliasConfig", name: "lan", selector: { match: "true" } },
      ]),
    path: "cluster.controlPlane.configPatches[0]",
    message: /sets a LinkAliasConfig document, .*the alias net0 of the VM's only NIC/,
  },
  {
    what: "a config patch with its own DNS servers",
    edit: (c) =>
      (c.workerPools[0].configPatches = [
        { apiVersion: "v1alpha1", kind: "ResolverConfig", nameservers: [{ address: "9.9.9.9" }] },
      ]),
    path: "cluster.workerPools[0].configPatches[0]",
    message: /sets ResolverConfig nameservers, .*set network\.nameservers instead/,
  },
  {
    what: "a config patch that replaces the cluster's secrets",
    edit: (c) => (c.controlPlane.configPatches = [{ cluster: { secretboxEncryptionSecret: "x" } }]),
    path: "cluster.controlPlane.configPatches[0]",
    message: /sets "cluster\.secretboxEncryptionSecret", which this library owns: the cluster's secrets/,
  },
  {
    what: "a registry password in plain text",
    edit: (c) =>
      (c.workerPools[0].configPatches = [
        {
          apiVersion: "v1alpha1",
          kind: "RegistryAuthConfig",
          name: "ghcr.io",
          username: "u",
          password: "hunter2",
        },
      ]),
    path: "cluster.workerPools[0].configPatches[0]",
    message:
      /holds RegistryAuthConfig password in plain text in the stack file\. Encrypt the patch: pulumi config set --secret --path 'talos-proxmox:cluster\.workerPools\[0\]\.configPatches\[0\]'/,
    stackOnly: true,
  },
  {
    what: "a registry password YAML reads as a number, which Talos takes as its text",
    edit: (c) =>
      (c.workerPools[0].configPatches = [
        "apiVersion: v1alpha1\nkind: RegistryAuthConfig\nname: ghcr.io\nusername: u\npassword: 123456\n",
      ]),
    path: "cluster.workerPools[0].configPatches[0]",
    message: /holds RegistryAuthConfig password in plain text in the stack file/,
    stackOnly: true,
  },
  {
    what: "a roll budget that empties a pool",
    edit: (c) => (c.upgrade.maxParallelWorkers = 2),
    path: "cluster.upgrade.maxParallelWorkers",
    message:
      /is 2, and worker pool "general" \(workerPools\[0\]\) has 2 nodes: a roll could drain and reboot the whole pool at once.*at most 1/,
  },
  {
    what: "a highly available control plane on one Proxmox node",
    stack: "prod",
    edit: (c) => c.controlPlane.nodes.forEach((n: Cluster) => (n.pveNode = "pve1")),
    path: "cluster.controlPlane.nodes[1].pveNode",
    message:
      /"pve1" would run cp-2 next to cp-1, but highAvailability is on: of 3 control planes etcd can lose 1, so a Proxmox node may run at most 1/,
  },
  {
    what: "Longhorn with no workers to prepare",
    edit: (c) => (c.workerPools = []),
    path: "cluster.longhorn.enabled",
    message: /is true, but the cluster has no workers/,
  },
  {
    what: "a node-role label, which NodeRestriction forbids the node",
    edit: (c) => (c.workerPools[0].labels = { "node-role.kubernetes.io/worker": "" }),
    path: "cluster.workerPools[0].labels.node-role.kubernetes.io/worker",
    message: /a label a node may not set on itself .*Use "node\.kubernetes\.io\/worker"/,
  },
  {
    what: "a node-restriction label",
    edit: (c) => (c.workerPools[0].labels = { "node-restriction.kubernetes.io/zone": "a" }),
    path: "cluster.workerPools[0].labels.node-restriction.kubernetes.io/zone",
    message: /a label a node may not set on itself/,
  },
  {
    what: "a Talos pre-release",
    edit: (c) => (c.talosVersion = "v1.13.0-rc.0"),
    path: "cluster.talosVersion",
    message: /"v1\.13\.0-rc\.0" is not a Talos release .*e\.g\. "v1\.13\.9"/,
  },
  {
    what: "a Talos pre-release of a patch the list does not know yet",
    edit: (c) => (c.talosVersion = "v1.13.10-rc.0"),
    path: "cluster.talosVersion",
    message: /"v1\.13\.10-rc\.0" is not a Talos release \(pre-releases are not pinned either\)/,
  },
  {
    what: "a Cilium chart version that was never released",
    edit: (c) => (c.cilium.version = "1.16.14"),
    path: "cluster.cilium.version",
    message: /"1\.16\.14" is not a Cilium chart release .*e\.g\. "1\.16\.19"/,
  },
  {
    what: "a kube-vip version that was never released",
    edit: (c) => (c.kubeVip.version = "v0.5.3"),
    path: "cluster.kubeVip.version",
    message: /"v0\.5\.3" is not a kube-vip release/,
  },
  {
    what: "a kube-vip-cloud-provider version that was never released",
    edit: (c) => (c.kubeVip.cloudProviderVersion = "v0.0.0"),
    path: "cluster.kubeVip.cloudProviderVersion",
    message: /"v0\.0\.0" is not a kube-vip-cloud-provider release .*e\.g\. "v0\.0\.12"/,
  },
  {
    what: "no nameservers key",
    edit: (c) => delete c.network.nameservers,
    path: "cluster.network.nameservers",
    message: /is required: the nodes' DNS servers, given through cloud-init/,
  },
  {
    what: "a last update written into the file",
    edit: (c) => (c.lastUpdate = { nodes: {} }),
    path: "cluster.lastUpdate",
    message: /is not a setting: the stack reads what its last update recorded itself\. Remove it\./,
    stackOnly: true,
  },
  {
    what: "a cluster that is null, with a problem and not a crash",
    edit: () => undefined,
    extraConfig: { "talos-proxmox:cluster": "null" },
    path: "cluster",
    message: /mapping/,
    stackOnly: true,
  },
  {
    what: "an unknown project key",
    edit: () => undefined,
    extraConfig: { "talos-proxmox:clustr": "{}" },
    path: "talos-proxmox:clustr",
    message: /not a known setting/,
  },
];

describe("stack configuration: bad input is refused with its path", () => {
  for (const row of rows) {
    it(`refuses ${row.what} (${row.path})`, async () => {
      const cluster = exampleCluster(row.stack ?? "homelab");
      row.edit(cluster);
      const run = await runStack(row.stack ?? "homelab", cluster, row.extraConfig);
      expect(run.error, "the program must fail").to.be.instanceOf(ValidationError);
      const problems = (run.error as ValidationError).problems;
      const problem = problems.find((p) => p.path === row.path);
      expect(problem, `a problem at ${row.path} among ${JSON.stringify(problems)}`).to.not.equal(undefined);
      expect(problem?.message).to.match(row.message);
      expect(
        run.resources.map((r) => r.type),
        "nothing but the stack may be registered",
      ).to.deep.equal([TYPES.stack]);
      if (row.path.startsWith("cluster") && !row.stackOnly) {
        // The same description through the library: the same problems, at args instead of cluster.
        const library = await runTalosCluster(row.stack ?? "homelab", cluster);
        expect(problemLines(library, "args")).to.deep.equal(problemLines(run, "cluster"));
        expect(library.resources.map((r) => r.type)).to.deep.equal([TYPES.stack]);
      }
    });
  }

  it("lets a JSON patch test an owned setting: a test changes nothing", async () => {
    const cluster = exampleCluster("homelab");
    (cluster.workerPools as Cluster[])[0].configPatches = [
      "- op: test\n  path: /machine/install/disk\n  value: /dev/sda\n",
    ];
    succeeded(await runStack("homelab", cluster));
  });

  it("lets a cluster with workers schedule on its control planes too, through a patch", async () => {
    const cluster = exampleCluster("homelab");
    (cluster.controlPlane as Cluster).configPatches = [{ cluster: { allowSchedulingOnControlPlanes: true } }];
    succeeded(await runStack("homelab", cluster));
  });

  it("reports several problems at once, each with its path", async () => {
    const cluster = exampleCluster("homelab");
    cluster.name = "Bad Name";
    (cluster.controlPlane as Cluster).cores = 1;
    ((cluster.workerPools as Cluster[])[0].nodes as Cluster[])[1].ip = "192.168.10.21";
    const run = await runStack("homelab", cluster);
    const error = run.error as ValidationError;
    expect(error.problems.map((p) => p.path)).to.have.members([
      "cluster.name",
      "cluster.controlPlane.cores",
      "cluster.workerPools[0].nodes[1].ip",
    ]);
    expect(error.message).to.match(
      /^Invalid configuration of stack "homelab": 3 problems\n {2}- cluster\.name: /,
    );
  });

  it("fails as a Pulumi RunError, which pulumi up prints once, without a stack trace", async () => {
    const cluster = exampleCluster("homelab");
    cluster.name = "Not A Label";
    const run = await runStack("homelab", cluster);
    // @pulumi/pulumi cmd/run/run.js logs a RunError's message only; any other error as an "unhandled
    // exception" with its stack.
    expect(pulumi.RunError.isInstance(run.error)).to.equal(true);
  });

  it("carries no stack, which the runtime would source-map for nothing", () => {
    // run.js formats every error for a tracing event, which under ts-node source-maps each frame: 25 s
    // of a refused preview on 2 cores, measured in the engine lane (2 s without a stack).
    const error = new ValidationError("subject", [{ path: "cluster.name", message: "is wrong" }]);
    expect(error.stack).to.not.match(/\n\s+at /);
    expect(new Error("after it").stack, "the limit is restored").to.match(/\n\s+at /);
  });

  it("refuses a stack with no cluster at all", async () => {
    const run = await runStack("homelab", undefined, { "talos-proxmox:cluster": undefined });
    expect((run.error as Error).message).to.match(/talos-proxmox:cluster: is not set/);
  });

  it("accepts the homelab and prod examples", async () => {
    for (const stack of ["homelab", "prod"] as const) {
      const run = await runStack(stack);
      expect(run.error, stack).to.equal(undefined);
    }
  });
});
