import { Injectable } from '@nestjs/common';
import argon2 from 'argon2';

/** argon2id with the library's defaults (64 MiB, t=3, p=4): above OWASP's minimum for argon2id. */
@Injectable()
export class PasswordHasher {
  hash(password: string): Promise<string> {
    return argon2.hash(password, { type: argon2.argon2id });
  }

  /** False for a wrong password and for a malformed hash alike; never throws on bad input. */
  async verify(hash: string, password: string): Promise<boolean> {
    try {
      return await argon2.verify(hash, password);
    } catch (error) {
      if (error instanceof TypeError) return false; // not a PHC string argon2 can read
      throw error;
    }
  }
}
