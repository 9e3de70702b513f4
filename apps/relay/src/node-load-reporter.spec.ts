import { type RelayNodeStats } from '@switchboard/relay-registry';

import { NodeLoadReporter, webSocketAddressOf } from './node-load-reporter';

describe('NodeLoadReporter', () => {
  it('reports live sessions and bytes/s averaged over each interval', () => {
    const source = { liveSessions: 0, bytesRelayed: 1_000 };
    const sent: RelayNodeStats[] = [];
    let now = 0;
    const reporter = new NodeLoadReporter(source, { update: (stats) => sent.push(stats) }, 2_000, () => now);
    reporter.start();
    Object.assign(source, { liveSessions: 3, bytesRelayed: 5_000 });
    now = 2_000;
    reporter.report();
    now = 4_000;
    reporter.report();
    reporter.stop();
    expect(sent).toEqual([
      { sessions: 3, bytesPerSecond: 2_000 },
      { sessions: 3, bytesPerSecond: 0 },
    ]);
  });
});

describe('webSocketAddressOf', () => {
  it('is the relay address with port + 2, as clients derive it', () => {
    expect(webSocketAddressOf('relay.example.com:21117')).toBe('relay.example.com:21119');
    expect(webSocketAddressOf('relay.example.com')).toBe('relay.example.com:21119');
    expect(webSocketAddressOf('[2001:db8::1]:31117')).toBe('[2001:db8::1]:31119');
  });
});
