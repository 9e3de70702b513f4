import { decodeConnAuditRef, generateIdentityKeyPair } from '@switchboard/crypto';
import { encodeClientAccessToken, EventSigningKey } from '@switchboard/events';
import { NatType, type PunchHoleRequest, type RendezvousPayload } from '@switchboard/protocol';

import { CoreHarness, ManualClock, peerIdentity, RELAY } from '../test/core-harness';
import { ConnAuditRefIssuer } from './conn-audit-refs';

// The controlled side's context on every message that asks it to accept a connection: PunchHole,
// FetchLocalAddr and RequestRelay (rustdesk src/rendezvous_mediator.rs reads it from all three).

const B = { id: '123456789', ip: '198.51.100.70', port: 21300 };
const A = { address: '203.0.113.80', port: 52000 };
const apiKey = EventSigningKey.generate();

function punch(token: string, licenceKey: string): PunchHoleRequest {
  return {
    id: B.id,
    natType: NatType.ASYMMETRIC,
    licenceKey,
    connType: 0,
    token,
    version: '1.4.9',
    udpPort: 0,
    forceRelay: false,
    upnpPort: 0,
    socketAddrV6: Buffer.alloc(0),
    switchCode: '',
  };
}

describe('conn_audit_ref in the controlled side’s context', () => {
  let clock: ManualClock;
  let harness: CoreHarness;
  let token: string;

  beforeEach(() => {
    clock = new ManualClock(1_800_000_000_000);
    const identity = generateIdentityKeyPair();
    harness = new CoreHarness({
      clock,
      key: { licenceKey: Buffer.from(identity.publicKey).toString('base64'), signingKeyPair: identity },
      auditRefs: new ConnAuditRefIssuer(apiKey.verifyKey, identity.secretKey),
    });
    const { uuid, pk } = peerIdentity(7);
    harness.udp(
      { $case: 'registerPk', value: { id: B.id, uuid, pk, oldId: '', noRegisterDevice: false } },
      B.ip,
      B.port,
    );
    token = encodeClientAccessToken(
      { sessionId: 's', userId: 'u', username: 'alice', expiresAt: clock.now() + 60_000, nonce: 'n' },
      apiKey,
    );
  });
  afterEach(() => harness.close());

  const settle = () => new Promise((resolve) => setImmediate(resolve));

  function toB(kind: RendezvousPayload['$case']): RendezvousPayload | undefined {
    return harness.datagrams.find((d) => d.address === B.ip && d.message?.$case === kind)?.message;
  }

  function refIn(message: RendezvousPayload | undefined): string | undefined {
    if (message === undefined) throw new Error('B got nothing');
    const value = message.value as { controlledContext?: { connAuditRef: string } };
    return value.controlledContext?.connAuditRef;
  }

  it('PunchHole and FetchLocalAddr carry a reference to B, signed by signal', async () => {
    harness.connect('tcp', A).send({ $case: 'punchHoleRequest', value: punch(token, harness.licence) });
    harness
      .connect('tcp', { address: B.ip, port: 40000 })
      .send({ $case: 'punchHoleRequest', value: punch(token, harness.licence) });
    await settle();
    const publicKey = harness.serverKey.signingKeyPair?.publicKey ?? new Uint8Array(32);
    for (const kind of ['punchHole', 'fetchLocalAddr'] as const) {
      expect(decodeConnAuditRef(refIn(toB(kind)) ?? '', publicKey)).toEqual({
        sessionId: 's',
        userId: 'u',
        username: 'alice',
        targetId: B.id,
        issuedAt: clock.now(),
      });
    }
  });

  it('RequestRelay carries one too, and never A’s token', async () => {
    harness.connect('tcp', A).send({
      $case: 'requestRelay',
      value: {
        id: B.id,
        uuid: 'u-1',
        socketAddr: Buffer.alloc(0),
        relayServer: RELAY,
        secure: true,
        licenceKey: '',
        connType: 0,
        token,
        switchCode: '',
      },
    });
    await settle();
    const message = toB('requestRelay');
    expect(refIn(message)).toMatch(/\./);
    expect(message?.$case === 'requestRelay' && message.value.token).toBe('');
  });

  it('an absent or expired token gives no context and the punch still goes to B', async () => {
    harness.connect('tcp', A).send({ $case: 'punchHoleRequest', value: punch('', harness.licence) });
    await settle();
    expect(refIn(toB('punchHole'))).toBeUndefined();
    clock.advance(120_000);
    harness.udp({ $case: 'registerPeer', value: { id: B.id, serial: 0 } }, B.ip, B.port);
    harness.datagrams.length = 0;
    harness
      .connect('tcp', { address: '203.0.113.81', port: 1 })
      .send({ $case: 'punchHoleRequest', value: punch(token, harness.licence) });
    await settle();
    expect(refIn(toB('punchHole'))).toBeUndefined();
    expect(await harness.metric('switchboard_signal_caller_tokens_total', { outcome: 'absent' })).toBe(1);
    expect(await harness.metric('switchboard_signal_caller_tokens_total', { outcome: 'expired' })).toBe(1);
  });
});
