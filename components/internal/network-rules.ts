/**
 * Network rules shared by TalosVm (args) and the stack config (`cluster.network.*`, node IPs).
 */
import { isIP } from "node:net";
import { checkInteger, Problem, show } from "./validation";

const LINUX_BRIDGE = /^[a-zA-Z][a-zA-Z0-9_.-]{0,14}$/;

/** A Proxmox bridge or SDN VNet: a Linux interface name (at most 15 characters). */
export function checkBridge(bridge: string, path: string): Problem[] {
  if (LINUX_BRIDGE.test(bridge)) {
    return [];
  }
  return [
    {
      path,
      message:
        `${show(bridge)} is not a Proxmox bridge name: a letter, then up to 14 letters, digits, ` +
        `'-', '_' or '.'. Use the bridge shown under the node's Network tab, e.g. "vmbr0".`,
    },
  ];
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
