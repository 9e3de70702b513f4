import { randomBytes, randomInt, randomUUID } from 'node:crypto';

/**
 * The api's randomness: keys, tokens, one-time passwords, nonces and ids all draw from here. Always
 * crypto-quality in the api; injected (API_RANDOM) so a test can pin what a service generates.
 */
export interface RandomSource {
  bytes(size: number): Buffer;
  /** A uniform integer in [0, max), without modulo bias. */
  int(max: number): number;
  uuid(): string;
}

export const cryptoRandom: RandomSource = {
  bytes: (size) => randomBytes(size),
  int: (max) => randomInt(max),
  uuid: () => randomUUID(),
};
