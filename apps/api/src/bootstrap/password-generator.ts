import { cryptoRandom } from '../random/random-source';

/** One-time passwords for the first admin: 18 random bytes, 24 URL-safe characters, 144 bits. */
export class PasswordGenerator {
  constructor(private readonly random: (size: number) => Buffer = (size) => cryptoRandom.bytes(size)) {}

  generate(): string {
    return this.random(18).toString('base64url');
  }
}
