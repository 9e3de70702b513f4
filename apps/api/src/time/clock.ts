/**
 * The api's notion of "now". Everything with a timeout (sessions, tokens, the login backoff ladder,
 * TOTP steps) reads it from here, so tests can move time instead of sleeping for minutes.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
