/**
 * Network rules shared by TalosVm (args) and the stack config (`cluster.network.*`, node IPs).
 */
import { isIP } from "node:net";
import { checkInteger, Problem, show } from "./validation";

const LINUX_INTERFACE = /^[a-zA-Z][a-zA-Z0-9_.-]{0,14}$/;

/** A Linux interface name: a letter, then at most 14 letters, digits, '-', '_' or '.'. */
function checkInterfaceName(name: string, path: string, what: string, fix: string): Problem[] {
  if (LINUX_INTERFACE.test(name)) {
    return [];
  }
  return [
    {
      path,
      message: `${show(name)} is not ${what}: a letter, then up to 14 letters, digits, '-', '_' or '.'. ${fix}`,
    },
  ];
}

/** A Proxmox bridge or SDN VNet. */
export function checkBridge(bridge: string, path: string): Problem[] {
  return checkInterfaceName(
    bridge,
    path,
    "a Proxmox bridge name",
    `Use the bridge shown under the node's Network tab, e.g. "vmbr0".`,
  );
}

/** A node's network interface as Talos names it (`talosctl get links`). */
export function checkNodeInterface(name: string, path: string): Problem[] {
  return checkInterfaceName(
    name,
    path,
    "a network interface name",
    `Leave it unset to use the interface of the default route, or copy a name from "talosctl get links".`,
  );
}

export function checkVlan(vlan: number, path: string): Problem[] {
  return checkInteger(vlan, path, { min: 1, max: 4094, what: "the VLAN tag" });
}

export function checkNameservers(nameservers: readonly string[], path: string): Problem[] {
  if (nameservers.length === 0) {
    return [{ path, message: `is empty: nodes need a DNS server. List at least one, e.g. ["1.1.1.1"].` }];
  }
  return nameservers.flatMap((server, i) =>
    isIP(server) === 0
      ? [{ path: `${path}[${i}]`, message: `${show(server)} is not an IP address. Use e.g. "1.1.1.1".` }]
      : [],
  );
}
