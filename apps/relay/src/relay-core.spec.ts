import { Duplex } from 'node:stream';

import { RecordingAuditSink } from '@switchboard/audit-queue';
import { createLogger, createMetricsRegistry, type Registry } from '@switchboard/observability';
import { encodeFrame, encodeFrameHeader, encodeRendezvous, RequestRelay } from '@switchboard/protocol';
import { metric, streamPair } from '@switchboard/test-net';

import { type CloseReason, RelayConnection } from './relay-connection';
import { DEFAULT_RELAY_LIMITS, RelayCore, type RelayCoreOptions } from './relay-core';
import { createRelayNodeMetrics } from './relay-metrics';
import { type RelayTicketView, type TicketSource } from './ports';
import { StreamChunkReader } from './transport/chunk-reader';

// The core over in-memory stream pairs: pairing, refusals, bans and drain without sockets. The same
// behaviour over real TCP, WebSocket and Redis is in relay-flows.int-spec.ts.

const logger = createLogger({ name: 'relay-core-test', level: 'silent' });
const remote = { address: '192.0.2.20', port: 50000 };
const UUID = '67e55044-10b1-426f-9247-bb680e5fe0c8';

const closeOf = (stream: Duplex) => new Promise<void>((resolve) => stream.once('close', () => resolve()));
const tick = () => new Promise((resolve) => setImmediate(resolve));

function requestRelay(fields: Partial<RequestRelay>): Buffer {
  return encodeFrame(
    encodeRendezvous({ $case: 'requestRelay', value: RequestRelay.fromPartial({ uuid: UUID, ...fields }) }),
  );
}

/** Everything a client end receives, as one buffer. */
function collect(stream: Duplex): () => Buffer {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return () => Buffer.concat(chunks);
}

const THIS_RELAY = 'relay1.test:21117';

/** Peers by uuid; the rest of each ticket defaults to this node and both ends at `remote`. */
class MapTickets implements TicketSource {
  readonly tickets = new Map<string, string[]>();
  readonly claims = new Map<string, Partial<RelayTicketView>>();
  get(uuid: string): Promise<RelayTicketView | undefined> {
    const peers = this.tickets.get(uuid);
    if (peers === undefined) return Promise.resolve(undefined);
    const defaults = { relay: THIS_RELAY, requesterIp: remote.address, answererIp: remote.address };
    return Promise.resolve({ peers, ...defaults, ...this.claims.get(uuid) });
  }
  spend(uuid: string) {
    this.tickets.delete(uuid);
    return Promise.resolve();
  }
  take(uuid: string) {
    const ticket = this.get(uuid);
    this.tickets.delete(uuid);
    return ticket;
  }
}

describe('RelayConnection', () => {
  const limits = { firstFrameTimeoutMs: 150, maxFirstFrameBytes: 1024, closeGraceMs: 100 };

  function open() {
    const { server, client } = streamPair();
    const seen: { frame?: Buffer; rest?: Buffer; reason?: CloseReason } = {};
    const connection = new RelayConnection(
      server,
      new StreamChunkReader(server),
      'tcp',
      remote,
      limits,
      {
        firstFrame: (_connection, frame, rest) => Object.assign(seen, { frame, rest }),
        closed: (_connection, reason) => (seen.reason = reason),
      },
      logger,
    );
    connection.start();
    return { server, client, connection, seen };
  }

  it('hands over the first frame and every byte after it untouched, however it was split', async () => {
    const { client, seen, server, connection } = open();
    const request = Buffer.from('92011a0a0475756964', 'hex');
    const signedId = encodeFrame(Buffer.alloc(80, 0xab));
    const bytes = Buffer.concat([encodeFrame(request), signedId, Buffer.from([1, 2, 3])]);
    client.write(bytes.subarray(0, 2));
    client.write(bytes.subarray(2, 20));
    await tick();
    expect(seen.frame).toEqual(request);
    expect(seen.rest).toEqual(bytes.subarray(1 + request.length, 20));
    expect(connection.phase).toBe('admitting');
    // After the first frame the relay stops reading: later bytes wait in the socket for the pairing.
    client.write(bytes.subarray(20));
    await tick();
    expect(seen.rest).toEqual(bytes.subarray(1 + request.length, 20));
    expect(server.isPaused()).toBe(true);
  });

  it('closes when no first frame arrives in time', async () => {
    const { server, seen } = open();
    await closeOf(server);
    expect(seen.reason).toBe('timeout');
    expect(seen.frame).toBeUndefined();
  });

  it('closes on an oversized first frame without waiting for it', async () => {
    const { server, client, seen } = open();
    const closed = closeOf(server);
    client.write(encodeFrameHeader(1025));
    await closed;
    expect(seen.reason).toBe('frame-too-large');
  });

  it('a graceful close cuts a reader that never takes the last bytes after the grace', async () => {
    const stuck = new Duplex({ read() {}, write() {} }); // never calls back: a reader that stopped reading
    const connection = new RelayConnection(
      stuck,
      new StreamChunkReader(stuck),
      'tcp',
      remote,
      limits,
      { firstFrame: () => undefined, closed: () => undefined },
      logger,
    );
    connection.start();
    stuck.write(Buffer.alloc(10));
    const started = Date.now();
    connection.close('partner-closed');
    await closeOf(stuck);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });
});

describe('RelayCore', () => {
  let registry: Registry;
  let tickets: MapTickets;
  const cores: RelayCore[] = [];

  beforeEach(() => {
    registry = createMetricsRegistry({ defaultMetrics: false });
    tickets = new MapTickets();
  });
  afterEach(async () => {
    await Promise.all(cores.splice(0).map((core) => core.drain(0)));
  });

  function core(options: Partial<RelayCoreOptions> = {}): RelayCore {
    const created = new RelayCore({
      logger,
      registry,
      tickets,
      ...options,
      limits: { ticketWaitMs: 100, ...options.limits },
    });
    cores.push(created);
    return created;
  }

  function join(relay: RelayCore, first: Buffer, address = remote.address) {
    const { server, client } = streamPair();
    const received = collect(client);
    relay.handle(server, 'tcp', { address, port: 40000 });
    client.write(first);
    return { server, client, received, closed: closeOf(server) };
  }

  it('has hbbr-compatible defaults', () => {
    expect(DEFAULT_RELAY_LIMITS).toEqual({
      firstFrameTimeoutMs: 30_000,
      maxFirstFrameBytes: 16_384,
      closeGraceMs: 5_000,
      unpairedTimeoutMs: 30_000,
      idleTimeoutMs: 30_000,
      sweepIntervalMs: 1_000,
      maxConnectionsPerIp: 256,
      ipv6PrefixLength: 64,
      maxConnections: 10_000,
      ticketWaitMs: 3_000,
    });
    expect(() => new RelayCore({ logger, registry, strict: true })).toThrow(/ticket source/);
  });

  it('pairs two ends of a ticketed uuid and relays both ways, bytes sent before pairing first', async () => {
    tickets.tickets.set(UUID, ['111111111', '222222222']);
    const relay = core();
    const b = join(relay, Buffer.concat([requestRelay({}), Buffer.from('signed-id')]));
    await tick();
    expect(relay.waitingConnections).toBe(1);
    const a = join(relay, requestRelay({ id: '222222222' }));
    await tick();
    expect(relay.liveSessions).toBe(1);
    expect(a.received().toString()).toBe('signed-id');
    a.client.write('public-key');
    await tick();
    expect(b.received().toString()).toBe('public-key');
    // The ticket is spent: the uuid admits no second pair.
    expect(tickets.tickets.has(UUID)).toBe(false);
    expect(await metric(registry, 'switchboard_relay_pairs_total')).toBe(1);
    a.client.end();
    await Promise.all([a.closed, b.closed]);
    expect(relay.liveSessions).toBe(0);
    expect(relay.bytesRelayed).toBe('signed-id'.length + 'public-key'.length);
  });

  it('reads a uuid’s ticket once when both ends arrive during the same lookup', async () => {
    tickets.tickets.set(UUID, ['111111111', '222222222']);
    // Redis answers only when told to, so both ends are admitted while the one read is in flight.
    let answer: () => void = () => undefined;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    let reads = 0;
    const slowTickets: TicketSource = {
      get: async (uuid) => {
        reads++;
        await answered;
        return tickets.get(uuid);
      },
      take: (uuid) => tickets.take(uuid),
      spend: (uuid) => tickets.spend(uuid),
    };
    const relay = core({ tickets: slowTickets });
    const b = join(relay, Buffer.concat([requestRelay({}), Buffer.from('signed-id')]));
    const a = join(relay, requestRelay({ id: '222222222' }));
    await tick();
    expect(relay.liveSessions).toBe(0);
    answer();
    await tick();
    expect(relay.liveSessions).toBe(1);
    expect(reads).toBe(1);
    expect(a.received().toString()).toBe('signed-id');
    a.client.end();
    await Promise.all([a.closed, b.closed]);
  });

  it('refuses silently: not a RequestRelay, wrong licence, empty uuid, no ticket', async () => {
    tickets.tickets.set('ticketed', []);
    const relay = core({ licenceKey: 'secret' });
    const refused = [
      join(relay, encodeFrame(Buffer.from('garbage that is no protobuf'))),
      join(relay, requestRelay({ uuid: 'ticketed', licenceKey: 'wrong' })),
      join(relay, requestRelay({ uuid: '', licenceKey: 'secret' })),
      join(relay, requestRelay({ uuid: 'unticketed', licenceKey: 'secret' })),
    ];
    await Promise.all(refused.map((end) => end.closed));
    for (const end of refused) expect(end.received()).toHaveLength(0);
    for (const reason of ['not-request-relay', 'licence-mismatch', 'empty-uuid', 'no-ticket']) {
      expect(await metric(registry, 'switchboard_relay_refusals_total', { reason })).toBe(1);
    }
    const admitted = join(relay, requestRelay({ uuid: 'ticketed', licenceKey: 'secret' }));
    await tick();
    expect(relay.waitingConnections).toBe(1);
    admitted.client.destroy();
  });

  it('strict: looks a missing ticket up again for a while, since an end may beat signal’s write to Redis', async () => {
    const relay = core({ limits: { ticketWaitMs: 1_000 } });
    const b = join(relay, requestRelay({}));
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(b.server.destroyed).toBe(false);
    tickets.tickets.set(UUID, ['111111111']);
    const a = join(relay, requestRelay({ id: '111111111' }));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(relay.liveSessions).toBe(1);
    a.client.end();
    await b.closed;
  });

  describe('strict: a ticket binds the uuid to this node and to the two addresses signal saw', () => {
    const A_IP = '203.0.113.80';
    const B_IP = '198.51.100.70';
    const policy = { addresses: [THIS_RELAY], checkIp: true, ipv6PrefixLength: 64 };

    beforeEach(() => {
      tickets.tickets.set(UUID, ['222222222']);
      tickets.claims.set(UUID, { requesterIp: A_IP, answererIp: B_IP });
    });

    it('pairs B from B’s address with A from A’s, in either order', async () => {
      const relay = core({ ticketPolicy: policy });
      const a = join(relay, requestRelay({ id: '222222222' }), A_IP);
      await tick();
      const b = join(relay, requestRelay({}), B_IP);
      await tick();
      expect(relay.liveSessions).toBe(1);
      a.client.end();
      await Promise.all([a.closed, b.closed]);
    });

    it('refuses an end from neither address, and a second end from the side that is already waiting', async () => {
      const relay = core({ ticketPolicy: policy });
      const stranger = join(relay, requestRelay({}), '192.0.2.99');
      await stranger.closed;
      const a = join(relay, requestRelay({ id: '222222222' }), A_IP);
      await tick();
      // The attacker of issue 10 item 6: a second connection of A's own, with A's uuid.
      const second = join(relay, requestRelay({}), A_IP);
      await second.closed;
      expect(relay.waitingConnections).toBe(1);
      expect(await metric(registry, 'switchboard_relay_refusals_total', { reason: 'wrong-address' })).toBe(2);
      const b = join(relay, requestRelay({}), B_IP);
      await tick();
      expect(relay.liveSessions).toBe(1);
      a.client.end();
      await Promise.all([a.closed, b.closed]);
    });

    it('refuses a ticket that names another relay, and accepts one naming an alias of this node', async () => {
      tickets.claims.set(UUID, { requesterIp: A_IP, answererIp: B_IP, relay: 'relay2.test:21117' });
      const relay = core({ ticketPolicy: { ...policy, addresses: [THIS_RELAY, 'Relay.Example.com'] } });
      const elsewhere = join(relay, requestRelay({}), B_IP);
      await elsewhere.closed;
      expect(await metric(registry, 'switchboard_relay_refusals_total', { reason: 'wrong-relay' })).toBe(1);

      tickets.claims.set(UUID, { requesterIp: A_IP, answererIp: B_IP, relay: 'relay.example.com' });
      const b = join(relay, requestRelay({}), B_IP);
      await tick();
      expect(relay.waitingConnections).toBe(1);
      b.client.destroy();
    });

    it('matches an IPv6 end anywhere in its prefix (RATE_LIMIT_IPV6_PREFIX), not outside it', async () => {
      tickets.claims.set(UUID, { requesterIp: '2001:db8:1:2::10', answererIp: B_IP });
      const relay = core({ ticketPolicy: policy });
      const a = join(relay, requestRelay({ id: '222222222' }), '2001:db8:1:2:aaaa::1');
      await tick();
      expect(relay.waitingConnections).toBe(1);
      const other = join(relay, requestRelay({}), '2001:db8:1:3::1');
      await other.closed;
      expect(relay.waitingConnections).toBe(1);
      a.client.destroy();
    });

    it('with the IP check off (RELAY_TICKET_IP_CHECK=false), admits both ends from anywhere', async () => {
      const lax = core({ ticketPolicy: { ...policy, checkIp: false } });
      const anywhere = join(lax, requestRelay({}), '192.0.2.99');
      const alsoAnywhere = join(lax, requestRelay({ id: '222222222' }), '192.0.2.98');
      await tick();
      expect(lax.liveSessions).toBe(1);
      anywhere.client.end();
      await Promise.all([anywhere.closed, alsoAnywhere.closed]);
    });

    it('audits the refusals with the uuid and the device the ticket named', async () => {
      const audit = new RecordingAuditSink();
      const relay = core({ ticketPolicy: policy, audit });
      await join(relay, requestRelay({}), '192.0.2.99').closed;
      expect(audit.facts).toContainEqual({
        action: 'relay.session_refused',
        uuid: UUID,
        reason: 'wrong-address',
        ip: '192.0.2.99',
        devices: ['222222222'],
      });
    });
  });

  it('in compatibility mode pairs any uuid, as hbbr', async () => {
    const relay = core({ strict: false, tickets: undefined });
    const b = join(relay, requestRelay({ uuid: 'anything at all' }));
    const a = join(relay, requestRelay({ uuid: 'anything at all', id: '123456789' }));
    await tick();
    expect(relay.liveSessions).toBe(1);
    b.client.write('hello');
    await tick();
    expect(a.received().toString()).toBe('hello');
    a.client.destroy();
  });

  it('refuses a session carrying a denied device and cuts live ones when a device becomes denied', async () => {
    const denied = new Set(['666666666']);
    tickets.tickets.set('banned-uuid', ['666666666', '111111111']);
    tickets.tickets.set(UUID, ['333333333', '444444444']);
    const relay = core({ devices: { isDenied: (id) => denied.has(id) } });
    const refused = join(relay, requestRelay({ uuid: 'banned-uuid' }));
    await refused.closed;
    expect(await metric(registry, 'switchboard_relay_refusals_total', { reason: 'denied-device' })).toBe(1);

    const b = join(relay, requestRelay({}));
    const a = join(relay, requestRelay({ id: '444444444' }));
    await tick();
    expect(relay.liveSessions).toBe(1);
    denied.add('333333333');
    expect(relay.cutDevices(['333333333'])).toBe(1);
    await Promise.all([a.closed, b.closed]);
    expect(await metric(registry, 'switchboard_relay_sessions_closed_total', { reason: 'denied' })).toBe(1);
  });

  it('audits refused sessions (no ticket, denied device) and sessions a ban cut, with uuid and devices', async () => {
    const audit = new RecordingAuditSink();
    const denied = new Set(['666666666']);
    tickets.tickets.set('banned-uuid', ['666666666', '111111111']);
    tickets.tickets.set(UUID, ['333333333', '444444444']);
    const relay = core({ audit, devices: { isDenied: (id) => denied.has(id) } });
    await join(relay, requestRelay({ uuid: 'unticketed' }), '198.51.100.1').closed;
    await join(relay, requestRelay({ uuid: 'banned-uuid' }), '198.51.100.2').closed;
    // Refusals the audit log does not want: garbage and a missing uuid.
    await join(relay, encodeFrame(Buffer.from('garbage'))).closed;
    await join(relay, requestRelay({ uuid: '' })).closed;
    const b = join(relay, requestRelay({}));
    const a = join(relay, requestRelay({ id: '444444444' }));
    await tick();
    denied.add('333333333');
    relay.cutDevices(['333333333']);
    await Promise.all([a.closed, b.closed]);
    expect(audit.facts).toEqual([
      {
        action: 'relay.session_refused',
        uuid: 'unticketed',
        reason: 'no-ticket',
        ip: '198.51.100.1',
        devices: [],
      },
      {
        action: 'relay.session_refused',
        uuid: 'banned-uuid',
        reason: 'denied-device',
        ip: '198.51.100.2',
        devices: ['666666666', '111111111'],
      },
      {
        action: 'relay.session_closed_by_ban',
        uuid: UUID,
        devices: expect.arrayContaining(['333333333', '444444444']),
      },
    ]);
  });

  it('closes an end whose partner never comes, and a pair that goes quiet', async () => {
    tickets.tickets.set('lonely', []);
    tickets.tickets.set(UUID, []);
    const relay = core({ limits: { unpairedTimeoutMs: 100, idleTimeoutMs: 150, sweepIntervalMs: 20 } });
    const lonely = join(relay, requestRelay({ uuid: 'lonely' }));
    const b = join(relay, requestRelay({}));
    const a = join(relay, requestRelay({}));
    const paired = Date.now();
    await lonely.closed;
    expect(await metric(registry, 'switchboard_relay_unpaired_timeouts_total')).toBe(1);
    expect(a.server.destroyed).toBe(false);
    await Promise.all([a.closed, b.closed]);
    expect(Date.now() - paired).toBeGreaterThanOrEqual(140);
    expect(await metric(registry, 'switchboard_relay_sessions_closed_total', { reason: 'idle' })).toBe(1);
  });

  it('caps connections per IP at accept and releases a slot when its socket closes', () => {
    const relay = core({ limits: { maxConnectionsPerIp: 2 } });
    const first = relay.admitSocket('198.51.100.7');
    const second = relay.admitSocket('198.51.100.7');
    expect(first).toBeDefined();
    expect(second).toBeDefined();
    expect(relay.admitSocket('198.51.100.7')).toBeUndefined();
    expect(relay.admitSocket('198.51.100.8')).toBeDefined();
    first?.();
    first?.(); // released once only
    expect(relay.admitSocket('198.51.100.7')).toBeDefined();
    expect(relay.admitSocket('198.51.100.7')).toBeUndefined();
  });

  it('caps an IPv6 client by its /64, not by each address it picks from it', async () => {
    const relay = core({ limits: { maxConnectionsPerIp: 2 } });
    expect(relay.admitSocket('2001:db8:5:6::1')).toBeDefined();
    expect(relay.admitSocket('2001:db8:5:6:ffff::2')).toBeDefined();
    expect(relay.admitSocket('2001:db8:5:6::3')).toBeUndefined();
    expect(relay.admitSocket('2001:db8:5:7::1')).toBeDefined();
    expect(await metric(registry, 'switchboard_relay_refusals_total', { reason: 'per-ip-limit' })).toBe(1);
  });

  it('caps connections of all addresses together and frees a slot when its socket closes', async () => {
    const relay = core({ limits: { maxConnections: 3 } });
    const releases = ['198.51.100.1', '198.51.100.2', '2001:db8::1'].map((ip) => relay.admitSocket(ip));
    expect(releases.every((release) => release !== undefined)).toBe(true);
    expect(relay.admitSocket('198.51.100.4')).toBeUndefined();
    expect(await metric(registry, 'switchboard_relay_refusals_total', { reason: 'connection-cap' })).toBe(1);
    releases[0]?.();
    releases[0]?.(); // released once only
    expect(relay.admitSocket('198.51.100.4')).toBeDefined();
    expect(relay.admitSocket('198.51.100.5')).toBeUndefined();
  });

  it('drain closes unpaired ends at once, waits for paired sessions, and refuses newcomers', async () => {
    tickets.tickets.set(UUID, []);
    tickets.tickets.set('waiting', []);
    const relay = core();
    createRelayNodeMetrics(registry, { capacity: 40, draining: () => relay.draining });
    const waiting = join(relay, requestRelay({ uuid: 'waiting' }));
    const b = join(relay, requestRelay({}));
    const a = join(relay, requestRelay({}));
    await tick();
    expect(await metric(registry, 'switchboard_relay_draining')).toBe(0);
    let drained: number | undefined;
    const draining = relay.drain(5_000).then((cut) => (drained = cut));
    expect(await metric(registry, 'switchboard_relay_draining')).toBe(1);
    expect(await metric(registry, 'switchboard_relay_sessions_capacity')).toBe(40);
    await waiting.closed;
    expect(relay.admitSocket('203.0.113.1')).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(drained).toBeUndefined();
    a.client.write('still flowing');
    await tick();
    expect(b.received().toString()).toBe('still flowing');
    a.client.end();
    await draining;
    expect(drained).toBe(0);
  });

  it('drain cuts the sessions still live at the deadline', async () => {
    tickets.tickets.set(UUID, []);
    const relay = core();
    const b = join(relay, requestRelay({}));
    join(relay, requestRelay({}));
    await tick();
    const started = Date.now();
    expect(await relay.drain(100)).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    await b.closed;
    expect(await metric(registry, 'switchboard_relay_sessions_closed_total', { reason: 'shutdown' })).toBe(1);
  });
});
