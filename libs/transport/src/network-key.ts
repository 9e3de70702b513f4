import { isIP } from 'node:net';

import { normalizeAddress } from './client-address';

/** One IPv6 customer usually holds a whole /64, so a per-address limit is no limit at all there. */
export const DEFAULT_IPV6_PREFIX_LENGTH = 64;

/**
 * The key every per-IP counter uses (login ladder, deploy throttle, signal and relay caps): an IPv4
 * address as it is, an IPv6 address cut to its network (`2001:db8:1:2::/64`). Anything that is not an
 * IP address is returned unchanged, so a counter never throws on odd input.
 *
 * Called per datagram in signal: IPv4 is settled without parsing.
 */
export function rateLimitKey(address: string, ipv6PrefixLength: number = DEFAULT_IPV6_PREFIX_LENGTH): string {
  const normalized = normalizeAddress(address);
  if (normalized.indexOf(':') === -1) return normalized;
  if (ipv6PrefixLength >= 128 || isIP(normalized) !== 6) return normalized;
  const groups = expandIpv6(normalized);
  if (!groups) return normalized;
  return `${formatIpv6(maskGroups(groups, ipv6PrefixLength))}/${ipv6PrefixLength}`;
}

/** Eight 16-bit groups, or undefined for a form this does not handle (a zone id, an IPv4 tail). */
function expandIpv6(address: string): number[] | undefined {
  if (address.includes('%') || address.includes('.')) return undefined;
  const [head = '', tail, extra] = address.split('::');
  if (extra !== undefined) return undefined;
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - headGroups.length - tailGroups.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined;
  const all = [...headGroups, ...new Array<string>(missing).fill('0'), ...tailGroups];
  return all.map((group) => parseInt(group, 16));
}

function maskGroups(groups: readonly number[], prefixLength: number): number[] {
  return groups.map((group, index) => {
    const bitsInGroup = Math.min(16, Math.max(0, prefixLength - index * 16));
    return bitsInGroup === 0 ? 0 : group & ((0xffff << (16 - bitsInGroup)) & 0xffff);
  });
}

/** RFC 5952's short form: lower case, the longest run of two or more zero groups as `::`. */
function formatIpv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < groups.length;) {
    if (groups[start] !== 0) {
      start += 1;
      continue;
    }
    let end = start;
    while (end < groups.length && groups[end] === 0) end += 1;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
