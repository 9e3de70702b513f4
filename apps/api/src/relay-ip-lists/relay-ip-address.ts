import { isIP } from 'node:net';

import ipaddr from 'ipaddr.js';

/**
 * An IP as a relay compares it (apps/relay ip-access-lists.ts): IPv4 dotted, IPv6 in RFC 5952 form
 * (lower case, the longest zero run compressed), which is how Node prints a socket's remote address.
 * An IPv4-mapped IPv6 address is stored as its IPv4, since a relay compares those as IPv4. hbbr's
 * lists hold single IPs, so ranges and zone ids are refused. Null when `text` is no such IP.
 */
export function canonicalRelayIp(text: string): string | null {
  const trimmed = text.trim();
  // isIP is strict (no "1.2.3", no leading zeros); ipaddr.js only formats what it accepted.
  if (isIP(trimmed) === 0 || trimmed.includes('%')) return null;
  return ipaddr.process(trimmed).toString();
}
