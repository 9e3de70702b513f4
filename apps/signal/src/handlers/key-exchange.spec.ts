import nacl from 'tweetnacl';

import { encodeFrame, encodeRendezvous } from '@switchboard/protocol';

import { CoreHarness } from '../test/core-harness';

const remote = { address: '192.0.2.50', port: 6000 };

describe('secure TCP on 21116 (docs/protocol.md §4)', () => {
  let harness: CoreHarness;
  beforeEach(() => {
    harness = new CoreHarness();
  });
  afterEach(() => harness.close());

  it('offers a box key signed by the server key, then seals both directions after the client’s KeyExchange', async () => {
    const client = harness.connect('tcp', remote);
    const signed = await client.secure(harness.identity!.publicKey);
    expect(signed).toHaveLength(96);
    expect(nacl.sign.open(signed, harness.identity!.publicKey)).toHaveLength(32);

    client.send({ $case: 'testNatRequest', value: { serial: 0 } });
    expect(await client.expect('testNatResponse')).toMatchObject({ port: remote.port });
    await client.closed;
  });

  it('keeps each connection’s box key fresh', async () => {
    const first = await harness.connect('tcp', remote).expect('keyExchange');
    const second = await harness.connect('tcp', remote).expect('keyExchange');
    expect(first.keys[0]).not.toEqual(second.keys[0]);
  });

  it('stays plaintext when the first message is not a KeyExchange', async () => {
    const client = harness.connect('tcp', remote);
    await client.expect('keyExchange');
    client.send({ $case: 'testNatRequest', value: { serial: 0 } });
    expect((await client.expect('testNatResponse')).port).toBe(remote.port);
  });

  it('offers nothing on 21115, on WebSocket, or without a signing key', async () => {
    for (const listener of ['nat-test', 'ws'] as const) {
      const client = harness.connect(listener, remote);
      expect(await client.quietFor(30)).toBe(true);
      client.destroy();
    }
    const unsigned = new CoreHarness({ key: { licenceKey: 'just a licence', signingKeyPair: undefined } });
    const client = unsigned.connect('tcp', remote);
    expect(await client.quietFor(30)).toBe(true);
    unsigned.close();
  });

  it('closes on a malformed KeyExchange and on a frame that does not decrypt', async () => {
    const bad = harness.connect('tcp', remote);
    await bad.expect('keyExchange');
    bad.send({ $case: 'keyExchange', value: { keys: [Buffer.alloc(32)] } });
    await bad.closed;
    expect(
      await harness.metric('switchboard_signal_secure_channel_failures_total', { kind: 'wrong-key-count' }),
    ).toBe(1);

    const forged = harness.connect('tcp', remote);
    await forged.secure(harness.identity!.publicKey);
    forged.sendRaw(encodeFrame(Buffer.alloc(40, 7)));
    await forged.closed;
    expect(
      await harness.metric('switchboard_signal_secure_channel_failures_total', { kind: 'decrypt-failed' }),
    ).toBe(1);
    expect(
      await harness.metric('switchboard_signal_connections_closed_total', { reason: 'decrypt-failed' }),
    ).toBe(1);
  });

  it('refuses a second KeyExchange on a secured link', async () => {
    const client = harness.connect('tcp', remote);
    await client.secure(harness.identity!.publicKey);
    client.send({ $case: 'keyExchange', value: { keys: [Buffer.alloc(32), Buffer.alloc(48)] } });
    await client.closed;
    expect(
      await harness.metric('switchboard_signal_connections_closed_total', { reason: 'unexpected-message' }),
    ).toBe(1);
  });

  it('leaves empty heartbeat frames in the clear on a secured link', async () => {
    const client = harness.connect('tcp', remote);
    await client.secure(harness.identity!.publicKey);
    client.sendRaw(encodeFrame(Buffer.alloc(0)));
    client.send({ $case: 'testNatRequest', value: { serial: 0 } });
    expect((await client.expect('testNatResponse')).port).toBe(remote.port);
    // And a plaintext message after securing is garbage to the channel.
    const other = harness.connect('tcp', remote);
    await other.secure(harness.identity!.publicKey);
    other.sendRaw(encodeFrame(encodeRendezvous({ $case: 'testNatRequest', value: { serial: 0 } })));
    await other.closed;
  });
});
