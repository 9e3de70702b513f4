import { BlockList, isIP } from 'node:net';
import { type IncomingHttpHeaders } from 'node:http';

export interface PeerEndpoint {
  readonly address: string;
  readonly port: number;
}

/** `::ffff:1.2.3.4` (an IPv4 client on a dual-stack socket) → `1.2.3.4`, as hbbs normalises. */
export function normalizeAddress(address: string): string {
  // Called per datagram: the common case (plain IPv4) is settled without a regex.
  if (address.charCodeAt(0) !== 0x3a /* ':' */) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address;
}

/**
 * The proxies whose forwarding headers we believe. A client can write any X-Forwarded-For, so the
 * header counts only when the direct peer is one of these.
 */
export class TrustedProxies {
  private readonly list = new BlockList();
  private readonly empty: boolean;

  /** Entries are IPs or CIDR ranges, already validated by the config schema. */
  constructor(entries: readonly string[]) {
    this.empty = entries.length === 0;
    for (const entry of entries) {
      const [address = '', prefix] = entry.split('/');
      const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) this.list.addAddress(address, type);
      else this.list.addSubnet(address, Number(prefix), type);
    }
  }

  has(address: string): boolean {
    if (this.empty) return false;
    const normalized = normalizeAddress(address);
    const family = isIP(normalized);
    return family !== 0 && this.list.check(normalized, family === 6 ? 'ipv6' : 'ipv4');
  }

  /**
   * The client behind a WebSocket upgrade: X-Real-IP, else the nearest untrusted X-Forwarded-For hop,
   * when the socket peer is a trusted proxy. Port 0 then, as upstream does (RUSTDESK.md §0).
   */
  clientEndpoint(
    socket: { remoteAddress?: string; remotePort?: number },
    headers: IncomingHttpHeaders,
  ): PeerEndpoint {
    const direct = { address: normalizeAddress(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 };
    if (!this.has(direct.address)) return direct;
    const realIp = firstHeader(headers['x-real-ip'])?.trim();
    if (realIp && isIP(realIp)) return { address: normalizeAddress(realIp), port: 0 };
    const hops = (firstHeader(headers['x-forwarded-for']) ?? '')
      .split(',')
      .map((hop) => normalizeAddress(hop.trim()))
      .filter((hop) => isIP(hop) !== 0);
    const client = [...hops].reverse().find((hop) => !this.has(hop)) ?? hops[0];
    return client ? { address: client, port: 0 } : direct;
  }
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
