/**
 * What a cluster knows of its nodes, so that a pool joining it is checked where the two meet: names,
 * addresses and VM ids unique across the cluster, one network, the VIP free, the cluster's Talos
 * version, and what Longhorn needs in the image. The same rules the stack config applies to the whole
 * file, with paths relative to the joining pool's args.
 */
import { LONGHORN_EXTENSIONS } from "./schematic";
import { blockOf, Cidr, cidrToString, formatIPv4, isUsableHost, parseIPv4 } from "./ipv4";
import { Problem, show } from "./validation";

/** The parts of a pool's args that joining a cluster checks. */
export interface JoiningPool {
  /** The pool's image: its Talos version must be the cluster's. */
  image: {
    /** e.g. "v1.14.1". */
    talosVersion: string;
    /** The image's system extensions. */
    extensions: readonly string[];
  };
  /** Must be the cluster's. */
  prefixLength: number;
  /** Must be the cluster's. */
  gateway: string;
  /** Names, addresses and VM ids the cluster must not have yet; addresses in its network, not its VIP. */
  nodes: readonly { name: string; ip: string; vmId?: number }[];
  /** Longhorn needs iscsi-tools and util-linux-tools in the image. @default false */
  longhorn?: boolean;
  /** The pool's config patches: none may set what the cluster owns. @default [] */
  configPatches?: readonly string[];
}

interface Member {
  /** e.g. `ControlPlane "lab" node cp-1`. */
  where: string;
  name: string;
  ip: number | undefined;
  vmId: number | undefined;
}

export class ClusterMembers {
  private readonly members: Member[] = [];
  private readonly block: Cidr | undefined;

  constructor(
    private readonly talosVersion: string,
    private readonly vip: string,
    private readonly gateway: string,
    firstIp: string | undefined,
    prefixLength: number,
  ) {
    const first = firstIp === undefined ? undefined : parseIPv4(firstIp);
    this.block =
      first === undefined || !Number.isInteger(prefixLength) ? undefined : blockOf(first, prefixLength);
  }

  /** The node network, when the first control plane's address is one. */
  network(): string | undefined {
    return this.block && cidrToString(this.block);
  }

  /** Every address the cluster holds: its nodes', the VIP and the gateway, each with its holder. */
  addressesInUse(): { ip: string; owner: string }[] {
    return [
      ...this.members.flatMap((m) =>
        m.ip === undefined ? [] : [{ ip: formatIPv4(m.ip), owner: `${m.where}'s address` }],
      ),
      { ip: this.vip, owner: "the API VIP" },
      { ip: this.gateway, owner: "the gateway" },
    ];
  }

  /** Records a pool's nodes as the cluster's. */
  add(owner: string, pool: JoiningPool): void {
    for (const node of pool.nodes) {
      this.members.push({
        where: `${owner} node ${node.name}`,
        name: node.name,
        ip: parseIPv4(node.ip),
        vmId: node.vmId,
      });
    }
  }

  /** The problems of a pool joining the cluster (nothing is recorded). */
  check(pool: JoiningPool): Problem[] {
    const problems: Problem[] = [];
    if (pool.image.talosVersion !== this.talosVersion) {
      problems.push({
        path: "args.image",
        message:
          `is an image of Talos ${pool.image.talosVersion}, but the cluster runs ${this.talosVersion}. ` +
          `Give the pool the cluster's image.`,
      });
    }
    const network = this.block ? cidrToString(this.block) : "the control plane's network";
    if (this.block && pool.prefixLength !== this.block.prefixLength) {
      problems.push({
        path: "args.prefixLength",
        message: `is ${show(pool.prefixLength)}, but the cluster's network is ${network}. Use ${this.block.prefixLength}.`,
      });
    }
    if (pool.gateway !== this.gateway) {
      problems.push({
        path: "args.gateway",
        message: `is ${show(pool.gateway)}, but the cluster's gateway is ${show(this.gateway)}. Use it.`,
      });
    }
    if (pool.longhorn) {
      const missing = LONGHORN_EXTENSIONS.filter((e) => !pool.image.extensions.includes(e));
      if (missing.length > 0) {
        problems.push({
          path: "args.longhorn",
          message: `Longhorn needs ${missing.join(" and ")} in the image. Add ${missing.length === 1 ? "it" : "them"} to the TalosImage's extensions.`,
        });
      }
    }
    pool.nodes.forEach((node, i) => {
      const path = `args.nodes[${i}]`;
      const ip = parseIPv4(node.ip);
      const byName = this.members.find((m) => m.name === node.name);
      if (byName) {
        problems.push({
          path: `${path}.name`,
          message: `${show(node.name)} is already used by ${byName.where}. Node names must be unique.`,
        });
      }
      const byId = node.vmId === undefined ? undefined : this.members.find((m) => m.vmId === node.vmId);
      if (byId) {
        problems.push({
          path: `${path}.vmId`,
          message: `${String(node.vmId)} is already used by ${byId.where}. Give each VM its own id.`,
        });
      }
      if (ip === undefined) {
        return;
      }
      const byIp = this.members.find((m) => m.ip === ip);
      if (byIp) {
        problems.push({
          path: `${path}.ip`,
          message: `${show(node.ip)} is already used by ${byIp.where}. Give each node its own address.`,
        });
      }
      if (node.ip === this.vip) {
        problems.push({
          path: `${path}.ip`,
          message: `${show(node.ip)} is the VIP, which floats between control planes. Use another address.`,
        });
      }
      if (this.block && !isUsableHost(this.block, ip)) {
        problems.push({
          path: `${path}.ip`,
          message: `${show(node.ip)} is not a host address inside the cluster's network ${network}. Every node shares it.`,
        });
      }
    });
    return problems;
  }
}
