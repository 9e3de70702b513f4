import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { encodeFrame, encodeFrameHeader, encodeRendezvous, RequestRelay } from '@switchboard/protocol';
import { metric, waitFor } from '@switchboard/test-net';
import { WebSocket } from 'ws';

import { BulkPeer } from './test/bulk-peer';
import { RelayFixture } from './test/relay-fixture';

// Thousands of hostile connections against one relay node: each is closed, none crashes anything,
// and the heap returns to where it was once they are gone (docs/architecture.md "Input").

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const MiB = 1024 * 1024;

type Attack = (tcpPort: number, wsPort: number) => Promise<void>;

function tcp(port: number, bytes: Buffer | undefined): Promise<void> {
  return new Promise((resolve) => {
    const socket: Socket = createConnection({ host: '127.0.0.1', port }, () => {
      if (bytes) socket.write(bytes);
    });
    // The relay answers nothing; it closes. Errors (resets) are part of the attack.
    socket.on('data', () => resolve(Promise.reject(new Error('the relay sent a byte'))));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
  });
}

const ATTACKS: Record<string, Attack> = {
  garbage: (port) => tcp(port, encodeFrame(Buffer.from('\x16\x03\x01 not a protobuf at all'))),
  'oversized length prefix': (port) => tcp(port, encodeFrameHeader(0x3fffffff)),
  'half-open, silent': (port) => tcp(port, undefined),
  'truncated frame': (port) => tcp(port, encodeFrameHeader(10_000).subarray(0, 2)),
  'unticketed uuid': (port) =>
    tcp(
      port,
      encodeFrame(
        encodeRendezvous({ $case: 'requestRelay', value: RequestRelay.fromPartial({ uuid: randomUUID() }) }),
      ),
    ),
  'half an HTTP upgrade': (_port, wsPort) =>
    tcp(wsPort, Buffer.from('GET /ws/relay HTTP/1.1\r\nHost: x\r\n')),
  'WebSocket garbage': async (_port, wsPort) => {
    const ws = new WebSocket(`ws://127.0.0.1:${wsPort}/`);
    ws.on('error', () => undefined);
    await once(ws, 'open');
    ws.send(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]));
    await once(ws, 'close');
  },
};

describe('relay node under hostile input (real sockets, real Redis)', () => {
  let fixture: RelayFixture;
  beforeEach(() => (fixture = new RelayFixture()));
  afterEach(() => fixture.close());

  it('closes thousands of bad connections, keeps serving, and its heap returns to baseline', async () => {
    const relay = await fixture.startNode({
      limits: { firstFrameTimeoutMs: 300, ticketWaitMs: 200, maxConnectionsPerIp: 1_000 },
      upgradeTimeoutMs: 300,
    });
    const attacks = Object.values(ATTACKS);
    const wave = async (count: number) => {
      for (let sent = 0; sent < count; sent += 150) {
        await Promise.all(
          Array.from({ length: Math.min(150, count - sent) }, (_, index) =>
            (attacks[(sent + index) % attacks.length] as Attack)(relay.tcp, relay.ws),
          ),
        );
      }
      await waitFor(() => relay.node.core.liveConnections === 0, 'every bad connection closed');
    };
    // Warm up, so lazily built code and pools count in the baseline rather than as growth.
    await wave(300);
    collectGarbage();
    collectGarbage();
    const baseline = process.memoryUsage();

    await wave(3_500);
    collectGarbage();
    collectGarbage();
    const after = process.memoryUsage();

    const refusals = await metric(relay.registry, 'switchboard_relay_refusals_total');
    expect(refusals).toBeGreaterThanOrEqual(3_000);
    expect(after.heapUsed - baseline.heapUsed).toBeLessThan(4 * MiB);
    expect(after.rss - baseline.rss).toBeLessThan(64 * MiB);

    // Still serving.
    const uuid = randomUUID();
    await fixture.ticket(uuid);
    const b = await BulkPeer.join({ transport: 'tcp', port: relay.tcp, uuid });
    const a = await BulkPeer.join({ transport: 'ws', port: relay.ws, uuid });
    const sent = await a.send(MiB);
    expect(await b.receive(MiB)).toBe(sent);
    a.close();
    b.close();
  }, 120_000);
});
