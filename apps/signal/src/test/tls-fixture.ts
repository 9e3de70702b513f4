import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { freeSignalPorts } from '@switchboard/test-net';
import { type ListenerTlsMode, type ThrowawayCa, TlsCredentials, TlsListenerMetrics } from '@switchboard/tls';
import { TrustedProxies } from '@switchboard/transport';

import { KeyStore, loadServerKey } from '../key-store';
import { SignalServer } from '../server';
import { type SignalLimits } from '../signal-core';
import { CoreHarness, ManualClock, silentLogger } from './core-harness';

// A signal server on hbbs's port layout with TLS from a throwaway CA, for the TLS integration tests.

export interface TlsSignalOptions {
  tcpMode: ListenerTlsMode;
  wsMode?: ListenerTlsMode;
  /** The folder holding id_ed25519 (the server's signing key). */
  keyDir: string;
  ca: ThrowawayCa;
  limits?: Partial<SignalLimits>;
  handshakeTimeoutMs?: number;
  maxPendingHandshakes?: number;
  upgradeTimeoutMs?: number;
  /** Longer than production's 200 ms by default: a loaded test machine can delay a ClientHello. */
  plainAfterSilenceMs?: number;
}

export interface TlsSignal {
  harness: CoreHarness;
  clock: ManualClock;
  server: SignalServer;
  credentials: TlsCredentials;
  /** SIGNAL_PORT; the NAT test is on port−1, the WebSocket port on port+2. */
  port: number;
  /** The text of id_ed25519.pub: the Key clients are configured with. */
  key: string;
  certFile: string;
  keyFile: string;
  close(): Promise<void>;
}

export async function startTlsSignal(options: TlsSignalOptions): Promise<TlsSignal> {
  const serverKey = await loadServerKey('-', new KeyStore(options.keyDir, silentLogger));
  const key = await readFile(join(options.keyDir, 'id_ed25519.pub'), 'utf8');
  const clock = new ManualClock(Date.now());
  const harness = new CoreHarness({ clock, key: serverKey, limits: options.limits });
  const { certFile, keyFile } = await options.ca.issueServer();
  const credentials = await TlsCredentials.load({
    files: { certFile, keyFile },
    logger: silentLogger,
    registry: harness.registry,
    // Tests reload by hand (checkNow).
    reloadIntervalMs: 0,
  });
  const { port } = await freeSignalPorts();
  const server = new SignalServer(harness.core, {
    ports: { host: '127.0.0.1', port, natTestPort: port - 1, wsPort: port + 2 },
    trustedProxies: new TrustedProxies([]),
    logger: silentLogger,
    upgradeTimeoutMs: options.upgradeTimeoutMs,
    tls: {
      tcpMode: options.tcpMode,
      wsMode: options.wsMode ?? options.tcpMode,
      credentials,
      metrics: new TlsListenerMetrics(harness.registry),
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 5_000,
      maxPendingHandshakes: options.maxPendingHandshakes ?? 256,
      plainAfterSilenceMs: options.plainAfterSilenceMs ?? 1_000,
    },
  });
  await server.start();
  return {
    harness,
    clock,
    server,
    credentials,
    port,
    key,
    certFile,
    keyFile,
    close: () => server.close(),
  };
}
