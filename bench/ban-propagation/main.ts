// Ban propagation benchmark (bench/README.md "ban-propagation"): over BENCH_BANS bans made through
// the api's HTTP API, the time from the api's reply to the banned device's live signal link closing,
// against a bare Redis PUBLISH → subscriber hop measured in the same run (the floor: every ban
// crosses Redis once).
//   node -r @swc-node/register bench/ban-propagation/main.ts
// The api and signal under test are the real processes (apps/e2e/src/support), on a scratch database
// and a Redis prefix of their own; devices are reference RustDesk clients holding TCP registration links.
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';

import { Redis } from 'ioredis';

import { NatType } from '@switchboard/protocol';
import { createTestDatabase, type FramedLink } from '@switchboard/testing';

import { startApi } from '../../apps/e2e/src/support/api-process';
import { Fleet, linkOf, newMachine } from '../../apps/e2e/src/support/fleet';
import { startSignal } from '../../apps/e2e/src/support/signal-process';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const BANS = positive('BENCH_BANS', 200);
const CLOSE_TIMEOUT_MS = 5_000;

function positive(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function summary(samples: readonly number[]): { p50: number; p99: number; max: number } {
  const sorted = [...samples].sort((x, y) => x - y);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN };
}

const ms = (value: number): string => `${value.toFixed(2)} ms`;

/**
 * Milliseconds from sending a PUBLISH to the subscriber's message event, `count` times in a row (the
 * message can arrive before PUBLISH's own reply, so the clock starts at the send).
 */
async function redisHop(count: number): Promise<number[]> {
  const publisher = new Redis(REDIS_URL);
  const subscriber = new Redis(REDIS_URL);
  const channel = `bench-ban-hop-${randomUUID()}`;
  await subscriber.subscribe(channel);
  const samples: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const received = new Promise<number>((resolve) =>
        subscriber.once('message', () => resolve(performance.now())),
      );
      const sent = performance.now();
      await publisher.publish(channel, JSON.stringify({ i, payload: 'x'.repeat(120) }));
      samples.push((await received) - sent);
    }
  } finally {
    await Promise.all([publisher.quit(), subscriber.quit()]);
  }
  return samples;
}

async function main(): Promise<void> {
  const prefix = `bench-ban-${process.pid}`;
  const database = await createTestDatabase();
  const signal = await startSignal({
    DATABASE_URL: database.url,
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: 'warn',
  });
  const api = await startApi({ DATABASE_URL: database.url, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: 'warn' });
  const fleet = new Fleet({ host: signal.host, port: signal.port, key: signal.publicKeyFile });
  const authorization = `Bearer ${await api.adminToken()}`;
  const ban = async (id: string): Promise<void> => {
    const response = await fetch(`${api.baseUrl}/api/v1/devices/${id}/ban`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'bench' }),
    });
    if (response.status !== 200) throw new Error(`ban ${id}: ${response.status} ${await response.text()}`);
    await response.arrayBuffer();
  };

  try {
    process.stdout.write(
      `ban propagation bench: ${BANS} bans, load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}\n`,
    );
    const devices: { id: string; link: FramedLink }[] = [];
    for (let i = 0; i < BANS + 1; i++) {
      const machine = newMachine();
      const { peer, outcome } = await fleet.register(machine, 'tcp', { natType: NatType.ASYMMETRIC });
      if (!outcome.answered) throw new Error(`device ${machine.id} did not register`);
      devices.push({ id: machine.id, link: linkOf(peer) });
    }
    const [warmUp, ...timed] = devices;
    if (warmUp !== undefined) await ban(warmUp.id); // opens the api's pools and connections

    const replyToClose: number[] = [];
    const requestToReply: number[] = [];
    const requestToClose: number[] = [];
    for (const device of timed) {
      const closed = device.link.closed.then(() => performance.now());
      const started = performance.now();
      await ban(device.id);
      const replied = performance.now();
      const closedAt = await Promise.race([
        closed,
        new Promise<number>((_, reject) =>
          setTimeout(() => reject(new Error(`${device.id} still linked`)), CLOSE_TIMEOUT_MS),
        ),
      ]);
      requestToReply.push(replied - started);
      requestToClose.push(closedAt - started);
      // A link closed before the reply arrived counts as 0: the ban was already in force.
      replyToClose.push(Math.max(0, closedAt - replied));
    }
    const hop = summary(await redisHop(BANS));
    const cut = summary(replyToClose);
    const reply = summary(requestToReply);
    const whole = summary(requestToClose);
    process.stdout.write(
      [
        `api reply (request → 200)            p50 ${ms(reply.p50)}  p99 ${ms(reply.p99)}  max ${ms(reply.max)}`,
        `request → device link closed         p50 ${ms(whole.p50)}  p99 ${ms(whole.p99)}  max ${ms(whole.max)}`,
        `reply → device link closed           p50 ${ms(cut.p50)}  p99 ${ms(cut.p99)}  max ${ms(cut.max)}   aim p99 < 20 ms`,
        `reference: Redis PUBLISH → message   p50 ${ms(hop.p50)}  p99 ${ms(hop.p99)}  max ${ms(hop.max)}`,
        `ratio p99 (cut / Redis hop)          ${(cut.p99 / hop.p99).toFixed(1)}x`,
        `load after: ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
      ].join('\n') + '\n',
    );
  } finally {
    await fleet.stopAll();
    await Promise.all([api.stop(), signal.stop()]);
    await database.drop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
