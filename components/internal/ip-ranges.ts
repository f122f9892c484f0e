/**
 * Address ranges for Services of type LoadBalancer: `a.b.c.d-a.b.c.e` or a CIDR. They must lie in the
 * node network (the addresses are announced with ARP there) and must not take an address that is
 * already somebody's: a node, the API VIP, the gateway.
 */
import { Cidr, cidrToString, formatIPv4, isUsableHost, parseCidr, parseIPv4 } from "./ipv4";
import { Problem, show } from "./validation";

export interface IpRange {
  /** As written in the config. */
  text: string;
  first: number;
  last: number;
  /** Present when written as a CIDR. */
  cidr?: Cidr;
}

const RANGE_EXAMPLE = `"192.168.10.200-192.168.10.220" or "192.168.10.224/28"`;

/** Parses one range; `undefined` with a problem when malformed. */
export function parseRange(text: string, path: string): { range?: IpRange; problems: Problem[] } {
  if (text.includes("/")) {
    const cidr = parseCidr(text);
    if (!cidr) {
      return { problems: [{ path, message: `${show(text)} is not a range or CIDR. Use ${RANGE_EXAMPLE}.` }] };
    }
    if (parseIPv4(text.split("/")[0]) !== cidr.network) {
      return {
        problems: [{ path, message: `${show(text)} has host bits set. Use "${cidrToString(cidr)}".` }],
      };
    }
    return { range: { text, first: cidr.first, last: cidr.last, cidr }, problems: [] };
  }
  const [start, stop, extra] = text.split("-");
  const first = parseIPv4(start ?? "");
  const last = parseIPv4(stop ?? "");
  if (first === undefined || last === undefined || extra !== undefined) {
    return { problems: [{ path, message: `${show(text)} is not a range or CIDR. Use ${RANGE_EXAMPLE}.` }] };
  }
  if (first > last) {
    return { problems: [{ path, message: `${show(text)} ends before it starts. Use "${stop}-${start}".` }] };
  }
  return { range: { text, first, last }, problems: [] };
}

export interface TakenAddress {
  address: number;
  /** Who holds it, for the message: `the VIP (cluster.vip.ip)`. */
  owner: string;
}

/**
 * Parses and checks a list of ranges: inside the network, no network/broadcast address, no taken
 * address, no overlap with each other.
 */
export function checkRanges(
  texts: readonly string[],
  path: string,
  network: Cidr | undefined,
  taken: readonly TakenAddress[],
  others: readonly { range: IpRange; path: string }[] = [],
): { ranges: { range: IpRange; path: string }[]; problems: Problem[] } {
  const problems: Problem[] = [];
  const ranges: { range: IpRange; path: string }[] = [];
  texts.forEach((text, i) => {
    const at = `${path}[${i}]`;
    const parsed = parseRange(text, at);
    problems.push(...parsed.problems);
    const range = parsed.range;
    if (!range) {
      return;
    }
    if (network && !(isUsableHost(network, range.first) && isUsableHost(network, range.last))) {
      problems.push({
        path: at,
        message: `${show(text)} is not inside the node network ${cidrToString(network)} (without its network and broadcast addresses): LoadBalancer IPs are announced there with ARP.`,
      });
    }
    for (const { address, owner } of taken) {
      if (address >= range.first && address <= range.last) {
        problems.push({
          path: at,
          message: `${show(text)} contains ${formatIPv4(address)}, which is ${owner}. Leave it out of the range.`,
        });
      }
    }
    for (const other of [...others, ...ranges]) {
      if (range.first <= other.range.last && other.range.first <= range.last) {
        problems.push({
          path: at,
          message: `${show(text)} overlaps ${show(other.range.text)} (${other.path}).`,
        });
      }
    }
    ranges.push({ range, path: at });
  });
  return { ranges, problems };
}

/** What a cluster's add-ons check their ranges against: its node network and the addresses it holds. */
export function rangeContext(addresses: { network?: string; inUse: { ip: string; owner: string }[] }): {
  network: Cidr | undefined;
  taken: TakenAddress[];
} {
  return {
    network: addresses.network === undefined ? undefined : parseCidr(addresses.network),
    taken: takenAddresses(addresses.inUse),
  };
}

/** Addresses in use as ranges are checked against them; what is no IPv4 address takes nothing. */
export function takenAddresses(inUse: readonly { ip: string; owner: string }[]): TakenAddress[] {
  return inUse.flatMap(({ ip, owner }) => {
    const address = parseIPv4(ip);
    return address === undefined ? [] : [{ address, owner }];
  });
}
