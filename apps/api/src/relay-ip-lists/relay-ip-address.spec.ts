import { canonicalRelayIp } from './relay-ip-address';

describe('canonicalRelayIp', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    [' 203.0.113.7 ', '203.0.113.7'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['::ffff:198.51.100.4', '198.51.100.4'],
    ['::', '::'],
  ])('%s is kept as %s', (input, expected) => {
    expect(canonicalRelayIp(input)).toBe(expected);
  });

  it.each(['', '1.2.3', '01.2.3.4', '256.1.1.1', '10.0.0.0/8', 'fe80::1%eth0', 'example.com', '1.2.3.4 x'])(
    'refuses %j',
    (input) => {
      expect(canonicalRelayIp(input)).toBeNull();
    },
  );
});
