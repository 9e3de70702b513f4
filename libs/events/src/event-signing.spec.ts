import { EventSigningKey, EventVerifyKey, isEventKeyText } from './event-signing';

const body = JSON.stringify({ type: 'DeviceUnbanned', seq: 4, at: '2026-01-01T00:00:00.000Z', payload: {} });

describe('event signing', () => {
  it('opens a frame sealed by the matching signing key', () => {
    const key = EventSigningKey.generate();
    expect(key.verifyKey.open('sb:events', key.seal('sb:events', body))).toEqual({ body });
  });

  it('round-trips both keys through their base64 form', () => {
    const key = EventSigningKey.generate();
    const restored = EventSigningKey.fromBase64(key.toBase64());
    const verifyKey = EventVerifyKey.fromBase64(key.verifyKey.toBase64());
    expect(restored.verifyKey.toBase64()).toBe(key.verifyKey.toBase64());
    expect(verifyKey.open('c', restored.seal('c', body))).toEqual({ body });
  });

  it('refuses a frame signed by another key, for another channel, or altered', () => {
    const key = EventSigningKey.generate();
    const frame = key.seal('sb:events', body);
    const altered = JSON.stringify({ ...JSON.parse(frame), body: body.replace('"seq":4', '"seq":5') });

    expect(key.verifyKey.open('sb:events', EventSigningKey.generate().seal('sb:events', body))).toEqual({
      problem: 'bad signature',
    });
    expect(key.verifyKey.open('other:events', frame)).toEqual({ problem: 'bad signature' });
    expect(key.verifyKey.open('sb:events', altered)).toEqual({ problem: 'bad signature' });
  });

  it('refuses unsigned and malformed frames without throwing', () => {
    const { verifyKey } = EventSigningKey.generate();
    expect(verifyKey.open('c', body)).toEqual({ problem: 'not a signed frame' });
    expect(verifyKey.open('c', '{nope')).toEqual({ problem: 'not JSON' });
    expect(verifyKey.open('c', JSON.stringify({ body, sig: 'AAAA' }))).toEqual({
      problem: 'signature is not 64 bytes',
    });
  });

  it('accepts only 32 bytes of base64 as key text', () => {
    expect(isEventKeyText(Buffer.alloc(32, 1).toString('base64'))).toBe(true);
    expect(isEventKeyText(Buffer.alloc(31, 1).toString('base64'))).toBe(false);
    expect(isEventKeyText('not base64!')).toBe(false);
    expect(() => EventVerifyKey.fromBase64('short')).toThrow('32 bytes in base64');
  });
});
