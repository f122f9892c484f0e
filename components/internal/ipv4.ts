/**
 * IPv4 arithmetic for validation: addresses as unsigned 32-bit numbers, CIDRs as network + prefix.
 * Strict parsing: dotted quads only, no leading zeros (they read as octal in some tools).
 */

const OCTET = /^(0|[1-9][0-9]{0,2})$/;

/** Parses a dotted-quad IPv4 address; `undefined` when it is not one. */
export function parseIPv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) {
    return undefined;
  }
  let value = 0;
  for (const part of parts) {
    if (!OCTET.test(part)) {
      return undefined;
    }
    const octet = Number(part);
    if (octet > 255) {
      return undefined;
    }
    value = value * 256 + octet;
  }
  return value;
}

export function formatIPv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

export interface Cidr {
  /** The network address, as a number. */
  readonly network: number;
  readonly prefixLength: number;
  /** The first and last address of the block (network and broadcast for prefixes below 31). */
  readonly first: number;
  readonly last: number;
}

/** Parses `a.b.c.d/nn`; `undefined` when malformed. Host bits are allowed here: see {@link hostBitsSet}. */
export function parseCidr(text: string): Cidr | undefined {
  const match = /^([^/]+)\/([0-9]{1,2})$/.exec(text);
  if (!match) {
    return undefined;
  }
  const address = parseIPv4(match[1]);
  const prefixLength = Number(match[2]);
  if (address === undefined || prefixLength > 32) {
    return undefined;
  }
  return blockOf(address, prefixLength);
}

/** The block of `prefixLength` bits that holds `address`. */
export function blockOf(address: number, prefixLength: number): Cidr {
  const size = 2 ** (32 - prefixLength);
  const network = address - (address % size);
  return { network, prefixLength, first: network, last: network + size - 1 };
}

/** True when `text` names an address inside the block rather than the block itself (192.168.1.5/24). */
export function hostBitsSet(text: string, cidr: Cidr): boolean {
  return parseIPv4(text.split("/")[0]) !== cidr.network;
}

export function cidrToString(cidr: Cidr): string {
  return `${formatIPv4(cidr.network)}/${cidr.prefixLength}`;
}

export function contains(cidr: Cidr, address: number): boolean {
  return address >= cidr.first && address <= cidr.last;
}

/**
 * True when the address can be given to a host: inside the block and, for prefixes up to /30,
 * neither the network nor the broadcast address.
 */
export function isUsableHost(cidr: Cidr, address: number): boolean {
  if (!contains(cidr, address)) {
    return false;
  }
  if (cidr.prefixLength >= 31) {
    return true;
  }
  return address !== cidr.first && address !== cidr.last;
}

/** An example usable address of the block, for error messages that show a fix. */
export function exampleHost(cidr: Cidr): string {
  return formatIPv4(
    cidr.prefixLength >= 31 ? cidr.first : cidr.first + Math.min(10, cidr.last - cidr.first - 1),
  );
}
