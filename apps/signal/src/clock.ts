import { wallClockMicros } from '@switchboard/protocol';

/**
 * Time for the rendezvous core, behind one interface so tests can move it by hand. `now` drives
 * every window and timeout (milliseconds); `micros` salts AddrMangle as upstream does (docs/protocol.md §3).
 */
export interface Clock {
  now(): number;
  micros(): bigint;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  micros: () => wallClockMicros(),
};
