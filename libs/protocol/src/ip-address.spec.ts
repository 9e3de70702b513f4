import { isIP, SocketAddress as NodeSocketAddress } from 'node:net';

import { embeddedIpv4, formatIp, parseIp } from './ip-address';

// node:net is the oracle here: the library cannot import it (no I/O), but its parser and libuv's
// formatter are what our decoded addresses must agree with.
function nodeFormat(address: string): string {
  return new NodeSocketAddress({ address, family: isIP(address) === 6 ? 'ipv6' : 'ipv4' }).address;
}

describe('parseIp / formatIp', () => {
  it.each([
    '0.0.0.0',
    '192.168.16.32',
    '255.255.255.255',
    '::',
    '::1',
    '::2',
    '1::',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::7f00:1',
    '::ffff:0:0',
    '2001:db8::1',
    '2001:db8:0:0:1:0:0:1',
    '2001:0:0:1:0:0:0:1',
    '2001:DB8:FF::1111',
    'fe80::1%eth0',
    '1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6::8',
    '0:0:0:0:0:ffff:1.2.3.4',
  ])('%s formats as Node does', (text) => {
    const ip = parseIp(text);
    expect(ip).toBeDefined();
    expect(formatIp(ip!)).toBe(nodeFormat(text.split('%')[0]!));
  });

  it('agrees with Node on random IPv6 addresses, sparse ones included', () => {
    for (let i = 0; i < 2000; i++) {
      const groups = Array.from({ length: 8 }, () =>
        Math.random() < 0.5 ? 0 : Math.floor(Math.random() * 0x10000),
      );
      const text = groups.map((group) => group.toString(16)).join(':');
      expect(formatIp(parseIp(text)!)).toBe(nodeFormat(text));
    }
  });

  it.each([
    '',
    '1.2.3',
    '1.2.3.256',
    '1.2.3.4.5',
    ':::',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '12345::',
    'g::1',
    '1:2:3:4:5:6:7::8',
    '::1.2.3',
    'localhost',
  ])('rejects %j', (text) => {
    expect(parseIp(text)).toBeUndefined();
    expect(isIP(text)).toBe(0);
  });
});

describe('embeddedIpv4 (hbb_common try_into_v4)', () => {
  const v6 = (text: string) => parseIp(text)!.bytes;

  it('unwraps mapped and compatible addresses', () => {
    expect(Array.from(embeddedIpv4(v6('::ffff:127.0.0.1'))!)).toEqual([127, 0, 0, 1]);
    expect(Array.from(embeddedIpv4(v6('::127.0.0.1'))!)).toEqual([127, 0, 0, 1]);
    expect(Array.from(embeddedIpv4(v6('::'))!)).toEqual([0, 0, 0, 0]);
  });

  it('keeps the loopback and real IPv6 addresses', () => {
    expect(embeddedIpv4(v6('::1'))).toBeUndefined();
    expect(embeddedIpv4(v6('ef::fe'))).toBeUndefined();
    expect(embeddedIpv4(v6('::fffe:1.2.3.4'))).toBeUndefined();
    expect(embeddedIpv4(v6('2001:db8::1'))).toBeUndefined();
  });
});
