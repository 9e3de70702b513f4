import { z } from 'zod';

import { eventSchemas, isEventType, type EventPayload, type EventType } from './event-map';

/** What a subscriber receives: the payload plus its place in the global order. */
export interface EventEnvelope<T extends EventType = EventType> {
  type: T;
  /** Global, gap-free, strictly increasing across all publishers. */
  seq: number;
  /** ISO-8601 time the publisher sent it. */
  at: string;
  payload: EventPayload<T>;
}

/** The envelope as a discriminated union, so `switch (event.type)` narrows the payload. */
export type AnyEventEnvelope = { [K in EventType]: EventEnvelope<K> }[EventType];

/**
 * A message read off the channel. Only `event` is delivered; the others still carry a seq so the
 * subscriber can keep its count (an unknown type is skipped, an invalid payload forces a resync).
 */
export type DecodedFrame =
  | { kind: 'event'; seq: number; envelope: AnyEventEnvelope }
  | { kind: 'unknown-type'; seq: number; type: string }
  | { kind: 'invalid-payload'; seq: number; type: EventType; problem: string }
  | { kind: 'malformed'; problem: string };

export type SequencedFrame = Exclude<DecodedFrame, { kind: 'malformed' }>;

const frameSchema = z.object({
  type: z.string().min(1),
  seq: z.number().int().positive(),
  at: z.iso.datetime(),
  payload: z.unknown(),
});

/** Never throws: whatever arrives on a shared channel is data, not a programming error. */
export function decodeFrame(raw: string): DecodedFrame {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    return { kind: 'malformed', problem: `not JSON: ${(error as Error).message}` };
  }
  const frame = frameSchema.safeParse(json);
  if (!frame.success) return { kind: 'malformed', problem: z.prettifyError(frame.error) };
  const { type, seq, at } = frame.data;
  if (!isEventType(type)) return { kind: 'unknown-type', seq, type };
  const payload = eventSchemas[type].safeParse(frame.data.payload);
  if (!payload.success) {
    return { kind: 'invalid-payload', seq, type, problem: z.prettifyError(payload.error) };
  }
  const envelope = { type, seq, at, payload: payload.data } as AnyEventEnvelope;
  return { kind: 'event', seq, envelope };
}

/** Publisher side: throws a ZodError so a bad payload fails at its source, not in every subscriber. */
export function validatePayload<T extends EventType>(type: T, payload: EventPayload<T>): EventPayload<T> {
  if (!isEventType(type)) throw new Error(`unknown event type "${String(type)}"`);
  return eventSchemas[type].parse(payload) as EventPayload<T>;
}
