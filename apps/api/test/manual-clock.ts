import { type Clock } from '../src/time/clock';

/** A clock tests move by hand: session idle limits, lock rungs and token expiry without sleeping. */
export class ManualClock implements Clock {
  private epochMs: number;

  constructor(start: Date | number = Date.now()) {
    this.epochMs = typeof start === 'number' ? start : start.getTime();
  }

  now(): Date {
    return new Date(this.epochMs);
  }

  advance(ms: number): void {
    this.epochMs += ms;
  }

  advanceSeconds(seconds: number): void {
    this.advance(seconds * 1000);
  }
}
