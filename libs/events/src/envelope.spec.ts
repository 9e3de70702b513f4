import pino from 'pino';
import { ZodError } from 'zod';

import { decodeFrame, validatePayload } from './envelope';
import { type EventBusLogger } from './event-bus';
import { isEventType } from './event-map';

const at = '2025-01-02T03:04:05.678Z';
const frame = (fields: Record<string, unknown>) =>
  JSON.stringify({ type: 'DeviceBanned', seq: 7, at, ...fields });

describe('decodeFrame', () => {
  it('decodes a valid envelope into a typed event', () => {
    const decoded = decodeFrame(
      frame({ payload: { deviceId: '123456789', reason: 'stolen', actor: 'admin' } }),
    );
    expect(decoded).toEqual({
      kind: 'event',
      seq: 7,
      envelope: {
        type: 'DeviceBanned',
        seq: 7,
        at,
        payload: { deviceId: '123456789', reason: 'stolen', actor: 'admin' },
      },
    });
  });

  it('accepts custom ids with dashes and underscores and strips unknown payload fields', () => {
    const decoded = decodeFrame(
      frame({
        type: 'DeviceRevoked',
        payload: { deviceId: 'my_pc-1', cascade: ['a1', 'b-2'], actor: 'x', extra: 1 },
      }),
    );
    expect(decoded.kind).toBe('event');
    if (decoded.kind === 'event') {
      expect(decoded.envelope.payload).toEqual({ deviceId: 'my_pc-1', cascade: ['a1', 'b-2'], actor: 'x' });
    }
  });

  it.each([
    ['not JSON', 'nope{'],
    ['a JSON array', '[1,2]'],
    ['a missing seq', JSON.stringify({ type: 'DeviceBanned', at, payload: {} })],
    ['a zero seq', frame({ seq: 0, payload: {} })],
    ['a fractional seq', frame({ seq: 1.5, payload: {} })],
    ['a string seq', frame({ seq: '7', payload: {} })],
    ['a non-ISO time', frame({ at: 'yesterday', payload: {} })],
    ['an empty type', frame({ type: '', payload: {} })],
  ])('reports %s as malformed', (_label, raw) => {
    expect(decodeFrame(raw).kind).toBe('malformed');
  });

  it('keeps the seq of an unknown event type so the subscriber can skip it without a gap', () => {
    expect(decodeFrame(frame({ type: 'DeviceTeleported', payload: {} }))).toEqual({
      kind: 'unknown-type',
      seq: 7,
      type: 'DeviceTeleported',
    });
  });

  it.each([
    ['a missing actor', { deviceId: '123' }],
    ['an id with a space', { deviceId: '12 3', actor: 'a' }],
    ['an over-long id', { deviceId: 'a'.repeat(33), actor: 'a' }],
    ['a non-string reason', { deviceId: '123', actor: 'a', reason: 5 }],
  ])('reports a payload with %s as invalid, keeping its seq', (_label, payload) => {
    const decoded = decodeFrame(frame({ payload }));
    expect(decoded).toMatchObject({ kind: 'invalid-payload', seq: 7, type: 'DeviceBanned' });
  });

  it('does not treat inherited object keys as event types', () => {
    expect(isEventType('toString')).toBe(false);
    expect(decodeFrame(frame({ type: 'constructor', payload: {} })).kind).toBe('unknown-type');
  });
});

describe('validatePayload', () => {
  it('returns the parsed payload', () => {
    expect(
      validatePayload('ConfigChanged', { key: 'registration.policy', value: { mode: 'token' }, actor: 'a' }),
    ).toEqual({ key: 'registration.policy', value: { mode: 'token' }, actor: 'a' });
  });

  it('throws a ZodError for a payload that subscribers would drop', () => {
    expect(() => validatePayload('DeviceDeleted', { deviceId: '1', actor: 'a' } as never)).toThrow(ZodError);
    expect(() => validatePayload('ConfigChanged', { key: 'bad key!', value: 1, actor: 'a' })).toThrow(
      ZodError,
    );
    // undefined is not JSON: it would vanish on the wire.
    expect(() =>
      validatePayload('ConfigChanged', { key: 'k', value: undefined as never, actor: 'a' }),
    ).toThrow(ZodError);
    expect(() =>
      validatePayload('RelayBlocklistChanged', {
        list: 'allowlist',
        action: 'add',
        entry: '1.2.3.4',
      } as never),
    ).toThrow(ZodError);
  });

  it('rejects an unknown type at run time', () => {
    expect(() => validatePayload('Nope' as never, {} as never)).toThrow('unknown event type');
  });
});

// Compile-time check: a pino logger satisfies the logger interface the buses accept.
const _pinoFits: EventBusLogger = pino({ enabled: false });
