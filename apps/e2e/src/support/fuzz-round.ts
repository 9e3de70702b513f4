import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

import {
  emptyTally,
  type FuzzEndpoint,
  fuzzNatTest,
  fuzzSecureTcp,
  fuzzTcp,
  fuzzUdp,
  fuzzWebSocket,
  fuzzWebSocketHeaders,
  loopbackAddresses,
  type StreamTally,
  type UdpFuzzResult,
} from './fuzz-transports';
import { createPeerPool, FuzzRandom, RendezvousFuzzer } from './rendezvous-fuzz';

// One fuzz round against a running signal: every transport at once, each from its own block of
// loopback addresses and with its own generator derived from the seed. It runs in a child node
// process, not in the Jest worker: Jest's sandbox makes every global lookup (Math, Buffer, typed
// arrays) slow enough that the generator and the client side of secure TCP crawled ~100× slower.

export interface RoundVolume {
  udpDatagrams: number;
  tcpConnections: number;
  secureConnections: number;
  natTestConnections: number;
  wsConnections: number;
  wsHeaderConnections: number;
}

export interface RoundRequest {
  readonly target: FuzzEndpoint;
  /** The server's Key (text of id_ed25519.pub): the secure-TCP client checks the server's signature with it. */
  readonly key: string;
  readonly seed: number;
  readonly volume: RoundVolume;
}

export interface RoundResult {
  readonly udp: UdpFuzzResult;
  readonly streams: Record<'tcp' | 'secureTcp' | 'natTest' | 'ws' | 'wsHeaders', StreamTally>;
  /** The ids the generator registers and targets; the first ones, for tests that look them up. */
  readonly poolIds: readonly string[];
  readonly seconds: number;
}

export async function fuzzRound(request: RoundRequest, serverKey: Uint8Array): Promise<RoundResult> {
  const started = Date.now();
  const random = new FuzzRandom(request.seed);
  const pool = createPeerPool(random, 200);
  const fuzzer = () =>
    new RendezvousFuzzer(new FuzzRandom(random.int(2 ** 31)), {
      pool,
      licenceKey: request.key.trim(),
      maxOnlinePeers: 1_500,
    });
  const { target, volume } = request;
  const options = (block: number, connections: number) => ({
    connections,
    concurrency: 48,
    sources: loopbackAddresses(block, 200),
  });
  const [udp, tcp, secureTcp, natTest, ws, wsHeaders] = await Promise.all([
    fuzzUdp(target, fuzzer(), {
      datagrams: volume.udpDatagrams,
      sources: loopbackAddresses(30, 64),
      burst: 64,
    }),
    fuzzTcp(target, fuzzer(), options(31, volume.tcpConnections)),
    fuzzSecureTcp(target, fuzzer(), serverKey, options(32, volume.secureConnections)),
    fuzzNatTest(target, fuzzer(), options(33, volume.natTestConnections)),
    fuzzWebSocket(target, fuzzer(), options(34, volume.wsConnections)),
    volume.wsHeaderConnections > 0
      ? fuzzWebSocketHeaders(target, fuzzer(), { ...options(35, volume.wsHeaderConnections), concurrency: 8 })
      : Promise.resolve(emptyTally()),
  ]);
  return {
    udp,
    streams: { tcp, secureTcp, natTest, ws, wsHeaders },
    poolIds: pool.slice(0, 8).map((peer) => peer.id),
    seconds: (Date.now() - started) / 1000,
  };
}

const ROOT = resolve(__dirname, '../../../..');
const ENTRY = 'apps/e2e/src/support/fuzz-round.main.ts';

/** Runs fuzzRound in a child node process (TypeScript through swc) and returns its result. */
export function fuzzRoundInChild(request: RoundRequest, timeoutMs: number): Promise<RoundResult> {
  return new Promise((resolveRound, reject) => {
    const child = spawn(process.execPath, ['-r', '@swc-node/register', ENTRY], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`fuzz round exited with ${code ?? signal}:\n${stderr.slice(-4000)}`));
        return;
      }
      try {
        resolveRound(JSON.parse(stdout) as RoundResult);
      } catch (error) {
        reject(new Error(`fuzz round printed no result: ${String(error)}\n${stderr.slice(-4000)}`));
      }
    });
    child.stdin.end(JSON.stringify(request));
  });
}
