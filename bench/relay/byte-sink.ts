// The receiving end of bench/relay's throughput transfers, in a process of its own (forked by
// throughput.ts) so that reading does not share an event loop, or a core, with the sender.
import { type Socket } from 'node:net';

import { joinRelay, listenLocal, portOf } from './endpoints';

export type SinkCommand =
  { kind: 'listen'; bytes: number } | { kind: 'join'; relayPort: number; uuid: string; bytes: number };

export type SinkReport = { kind: 'ready'; port: number } | { kind: 'received'; bytes: number };

function count(socket: Socket, bytes: number): void {
  let received = 0;
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received === bytes) report({ kind: 'received', bytes: received });
    if (received > bytes) fail(new Error(`received ${received} bytes, ${bytes} were sent`));
  });
  socket.once('close', () => {
    if (received < bytes) fail(new Error(`connection closed after ${received} of ${bytes} bytes`));
  });
  socket.once('error', fail);
}

async function handle(command: SinkCommand): Promise<void> {
  if (command.kind === 'listen') {
    const server = await listenLocal((socket) => {
      server.close();
      count(socket, command.bytes);
    });
    report({ kind: 'ready', port: portOf(server) });
    return;
  }
  count(await joinRelay(command.relayPort, command.uuid), command.bytes);
  report({ kind: 'ready', port: command.relayPort });
}

function report(message: SinkReport): void {
  process.send?.(message);
}

function fail(error: unknown): void {
  console.error('byte sink failed:', error);
  process.exit(1);
}

process.once('message', (command: SinkCommand) => void handle(command).catch(fail));
process.on('disconnect', () => process.exit(0));
