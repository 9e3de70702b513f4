import { embeddedIpv4, formatIp, parseIp, type IpFamily } from './ip-address';

// The socket_addr encoding (docs/protocol.md §3; hbb_common src/lib.rs AddrMangle and try_into_v4).
// The server mangles addresses, peers echo them back as opaque bytes, and clients decode them to
// find the address to dial, so this must match upstream bit for bit.

export interface SocketAddress {
  readonly family: IpFamily;
  /** Textual, as Node's sockets report it: `192.0.2.1`, `2001:db8::1`. */
  readonly address: string;
  readonly port: number;
}

const U32 = 0xffffffffn;
const U16 = 0xffffn;
const IPV6_MANGLED_BYTES = 18;

/** Microseconds since the Unix epoch from the wall clock, the `tm` upstream salts IPv4 addresses with. */
export function wallClockMicros(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
}

/**
 * The address as hbbs sees it: IPv4-mapped and IPv4-compatible IPv6 addresses (but not `::1`) become
 * IPv4. Throws RangeError for text that is not an IP address or a port outside 0–65535: callers pass
 * what a socket reported, so either is a bug.
 */
export function normalizeSocketAddress(address: string, port: number): SocketAddress {
  assertPort(port);
  const ip = parseIp(address);
  if (ip === undefined) throw new RangeError(`not an IP address: ${JSON.stringify(address)}`);
  const v4 = ip.family === 'IPv6' ? embeddedIpv4(ip.bytes) : ip.bytes;
  return v4 === undefined
    ? { family: 'IPv6', address: formatIp(ip), port }
    : { family: 'IPv4', address: formatIp({ family: 'IPv4', bytes: v4 }), port };
}

/**
 * Mangles `address:port`. `nowMicros` is the current time in µs since the epoch (wallClockMicros in
 * production); only its low 32 bits matter. Throws like normalizeSocketAddress.
 */
export function encodeAddrMangle(address: { address: string; port: number }, nowMicros: bigint): Buffer {
  assertPort(address.port);
  const ip = parseIp(address.address);
  if (ip === undefined) throw new RangeError(`not an IP address: ${JSON.stringify(address.address)}`);
  const v4 = ip.family === 'IPv6' ? embeddedIpv4(ip.bytes) : ip.bytes;
  if (v4 === undefined) {
    const out = Buffer.alloc(IPV6_MANGLED_BYTES);
    out.set(ip.bytes, 0);
    out.writeUInt16LE(address.port, 16);
    return out;
  }
  const tm = BigInt.asUintN(32, nowMicros);
  const ipLe = BigInt(Buffer.from(v4).readUInt32LE(0));
  const value = ((ipLe + tm) << 49n) | (tm << 17n) | (BigInt(address.port) + (tm & U16));
  const bytes = Buffer.alloc(16);
  bytes.writeBigUInt64LE(BigInt.asUintN(64, value), 0);
  bytes.writeBigUInt64LE(value >> 64n, 8);
  let length = 16;
  while (length > 0 && bytes[length - 1] === 0) length--;
  return bytes.subarray(0, length);
}

/**
 * Decodes a mangled address. Undefined for lengths that encode nothing: above 16 bytes and not 18
 * (upstream silently yields `[::]:0` there, which is never a useful peer).
 */
export function decodeAddrMangle(bytes: Uint8Array): SocketAddress | undefined {
  if (bytes.length === IPV6_MANGLED_BYTES) {
    const ip = bytes.slice(0, 16);
    const port = ((bytes[17] ?? 0) << 8) | (bytes[16] ?? 0);
    return { family: 'IPv6', address: formatIp({ family: 'IPv6', bytes: ip }), port };
  }
  if (bytes.length > 16) return undefined;
  const padded = Buffer.alloc(16);
  padded.set(bytes, 0);
  const n = padded.readBigUInt64LE(0) | (padded.readBigUInt64LE(8) << 64n);
  const tm = (n >> 17n) & U32;
  const ip = BigInt.asUintN(32, (n >> 49n) - tm);
  const port = Number(BigInt.asUintN(16, (n & 0xffffffn) - (tm & U16)));
  const octets = Buffer.alloc(4);
  octets.writeUInt32LE(Number(ip), 0);
  return { family: 'IPv4', address: formatIp({ family: 'IPv4', bytes: octets }), port };
}

function assertPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new RangeError(`not a port: ${port}`);
}
