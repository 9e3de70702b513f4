// Textual IP addresses ↔ bytes, without node:net (this library does no I/O). Output follows
// libuv's inet_ntop, so decoded addresses compare equal to Node's `socket.remoteAddress`.

export type IpFamily = 'IPv4' | 'IPv6';

export interface IpBytes {
  readonly family: IpFamily;
  /** 4 bytes for IPv4, 16 for IPv6, network order. */
  readonly bytes: Uint8Array;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Undefined when the text is neither a dotted IPv4 nor an IPv6 address (a `%zone` suffix is dropped). */
export function parseIp(text: string): IpBytes | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { family: 'IPv4', bytes: v4 };
  const v6 = parseIpv6(text);
  return v6 === undefined ? undefined : { family: 'IPv6', bytes: v6 };
}

export function formatIp(ip: IpBytes): string {
  return ip.family === 'IPv4' ? formatIpv4(ip.bytes) : formatIpv6(ip.bytes);
}

/**
 * The IPv4 address an IPv6 one stands for: `::ffff:a.b.c.d` (mapped) or `::a.b.c.d` (compatible),
 * except the loopback `::1`, as hbb_common's try_into_v4 (Rust's Ipv6Addr::to_ipv4) decides.
 */
export function embeddedIpv4(ipv6: Uint8Array): Uint8Array | undefined {
  for (let i = 0; i < 10; i++) if (ipv6[i] !== 0) return undefined;
  const marker = ((ipv6[10] ?? 0) << 8) | (ipv6[11] ?? 0);
  if (marker !== 0 && marker !== 0xffff) return undefined;
  if (marker === 0 && isIpv6Loopback(ipv6)) return undefined;
  return ipv6.slice(12, 16);
}

function isIpv6Loopback(ipv6: Uint8Array): boolean {
  return ipv6.every((byte, index) => byte === (index === 15 ? 1 : 0));
}

function parseIpv4(text: string): Uint8Array | undefined {
  const match = IPV4.exec(text);
  if (match === null) return undefined;
  const octets = match.slice(1).map(Number);
  return octets.every((octet) => octet <= 255) ? Uint8Array.from(octets) : undefined;
}

function parseIpv6(text: string): Uint8Array | undefined {
  const address = text.split('%', 1)[0] ?? '';
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const head = parseGroups(halves[0] ?? '', halves.length === 1);
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? '', true) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  groups.forEach((group, index) => {
    bytes[index * 2] = group >> 8;
    bytes[index * 2 + 1] = group & 0xff;
  });
  return bytes;
}

/** 16-bit groups of one side of `::`; a dotted IPv4 may end the address. */
function parseGroups(part: string, mayEndWithIpv4: boolean): number[] | undefined {
  if (part === '') return [];
  const pieces = part.split(':');
  const groups: number[] = [];
  for (const [index, piece] of pieces.entries()) {
    if (mayEndWithIpv4 && index === pieces.length - 1 && piece.includes('.')) {
      const v4 = parseIpv4(piece);
      if (v4 === undefined) return undefined;
      groups.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
    } else if (HEX_GROUP.test(piece)) {
      groups.push(parseInt(piece, 16));
    } else {
      return undefined;
    }
  }
  return groups;
}

function formatIpv4(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 4)).join('.');
}

// RFC 5952 as libuv's inet_ntop6 does it: the longest run of two or more zero groups becomes `::`
// (the first on a tie), and an address starting with six zero groups, or five and ffff, ends in
// dotted IPv4.
function formatIpv6(bytes: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[i * 2] ?? 0) << 8) | (bytes[i * 2 + 1] ?? 0));
  let bestStart = -1;
  let bestLength = 0;
  for (let start = 0; start < 8;) {
    let length = 0;
    while (start + length < 8 && groups[start + length] === 0) length++;
    if (length > bestLength) [bestStart, bestLength] = [start, length];
    start += Math.max(length, 1);
  }
  if (bestLength < 2) bestStart = -1;
  let text = '';
  for (let i = 0; i < 8; i++) {
    if (bestStart !== -1 && i >= bestStart && i < bestStart + bestLength) {
      if (i === bestStart) text += ':';
      continue;
    }
    if (i !== 0) text += ':';
    if (i === 6 && bestStart === 0 && (bestLength === 6 || (bestLength === 5 && groups[5] === 0xffff))) {
      return text + formatIpv4(bytes.subarray(12, 16));
    }
    text += (groups[i] ?? 0).toString(16);
  }
  return bestStart !== -1 && bestStart + bestLength === 8 ? text + ':' : text;
}
