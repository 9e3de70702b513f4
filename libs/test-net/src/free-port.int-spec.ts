import { ephemeralPort, freeRelayPorts, freeSignalPorts } from './free-port';

// A service binds derived ports itself (hbbs: port − 1 and port + 2; hbbr: port + 2). Before this
// reservation, a port picked after the block could be one of those neighbours, and the service
// started second failed with EADDRINUSE (seen in CI: the bare-metal api on a relay's WebSocket port).

describe('ephemeralPortBlock', () => {
  it('never hands out a neighbour of a signal or relay block to a later pick', async () => {
    const signal = await freeSignalPorts();
    const relay = await freeRelayPorts();
    const reserved = new Set([signal.port - 1, signal.port, signal.port + 2, relay.port, relay.port + 2]);
    expect(reserved.size).toBe(5);
    expect(reserved.has(signal.metricsPort) || reserved.has(relay.metricsPort)).toBe(false);

    // Draw most of this worker's slice: a pick that ignored the reservation would land on one of
    // the five neighbours with near certainty.
    const later = new Set<number>();
    for (let pick = 0; pick < 1_000; pick += 1) later.add(await ephemeralPort());
    expect(later.size).toBe(1_000);
    expect([...reserved].filter((port) => later.has(port))).toEqual([]);
  }, 60_000);
});
