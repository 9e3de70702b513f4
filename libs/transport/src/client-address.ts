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

export interface TrustedProxiesOptions {
  /**
   * Believe X-Real-IP from a trusted proxy before X-Forwarded-For (TRUST_X_REAL_IP). Only for a proxy
   * that overwrites the header: one that passes a client's own X-Real-IP through lets it pick its address.
   */
  readonly realIpHeader?: boolean;
}

/**
 * The proxies whose forwarding headers we believe. A client can write any X-Forwarded-For, so the
 * header counts only when the direct peer is one of these.
 */
export class TrustedProxies {
  private readonly list = new BlockList();
  private readonly empty: boolean;
  private readonly realIpHeader: boolean;

  /** Entries are IPs or CIDR ranges, already validated by the config schema. */
  constructor(entries: readonly string[], options: TrustedProxiesOptions = {}) {
    this.empty = entries.length === 0;
    this.realIpHeader = options.realIpHeader ?? false;
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
   * The client behind a WebSocket upgrade when the socket peer is a trusted proxy: the right-most
   * X-Forwarded-For hop that is not a trusted proxy, as the api (proxy-addr) takes it, since every hop
   * left of it was written by someone we do not trust; X-Real-IP first only when configured. Port 0
   * then, as upstream does (docs/protocol.md §0).
   */
  clientEndpoint(
    socket: { remoteAddress?: string; remotePort?: number },
    headers: IncomingHttpHeaders,
  ): PeerEndpoint {
    const direct = { address: normalizeAddress(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 };
    if (!this.has(direct.address)) return direct;
    if (this.realIpHeader) {
      const realIp = firstHeader(headers['x-real-ip'])?.trim();
      if (realIp && isIP(realIp)) return { address: normalizeAddress(realIp), port: 0 };
    }
    const forwardedFor = firstHeader(headers['x-forwarded-for']);
    if (forwardedFor === undefined) return direct;
    const hops = forwardedFor.split(',');
    let client: string | undefined;
    for (let index = hops.length - 1; index >= 0; index -= 1) {
      client = normalizeAddress((hops[index] as string).trim());
      // A hop we cannot read ends the walk: whoever wrote it is not one of our proxies.
      if (isIP(client) === 0) return direct;
      if (!this.has(client)) break;
    }
    return client === undefined ? direct : { address: client, port: 0 };
  }
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
