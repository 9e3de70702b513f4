import { isIPv6 } from 'node:net';

// Address strings as RustDesk clients handle them (hbb_common src/socket_client.rs check_port,
// src/websocket.rs check_ws): `host`, `host:port`, `[v6]:port`, or already a ws(s):// URL.

export const RELAY_PORT = 21117;

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Parses `host[:port]`, filling in `defaultPort` as check_port does. Throws on a bad port. */
export function parseHostPort(text: string, defaultPort: number): HostPort {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) return { host: bracketed[1] ?? '', port: toPort(bracketed[2], defaultPort, text) };
  if (isIPv6(text)) return { host: text, port: defaultPort };
  const colon = text.lastIndexOf(':');
  if (colon === -1) return { host: text, port: defaultPort };
  return { host: text.slice(0, colon), port: toPort(text.slice(colon + 1), defaultPort, text) };
}

export function formatHostPort({ host, port }: HostPort): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

export function isWebSocketUrl(text: string): boolean {
  return text.startsWith('ws://') || text.startsWith('wss://');
}

/**
 * What a client on WebSocket dials for a relay named `host:port`: the same host, port + 2 (hbbr's
 * 21117 → 21119), as check_ws maps IP hosts; wss:// for a peer that speaks TLS.
 */
export function relayWebSocketUrl(relay: string, secure = false): string {
  if (isWebSocketUrl(relay)) return relay;
  const { host, port } = parseHostPort(relay, RELAY_PORT);
  return `${secure ? 'wss' : 'ws'}://${formatHostPort({ host, port: port + 2 })}`;
}

function toPort(text: string | undefined, defaultPort: number, whole: string): number {
  if (text === undefined || text === '') return defaultPort;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`bad port in "${whole}"`);
  return port;
}
