import { Inject, Injectable } from '@nestjs/common';
import { generateURI, ScureBase32Plugin, verify } from 'otplib';

import { API_CLOCK, API_RANDOM } from '../app.tokens';
import { type RandomSource } from '../random/random-source';
import { type Clock } from '../time/clock';

/** RFC 6238 defaults that every authenticator app understands. */
export const TOTP_PERIOD_SECONDS = 30;
/** Codes of the previous and the next step are accepted too (clock drift, slow typing). */
export const TOTP_WINDOW_STEPS = 1;
export const TOTP_ISSUER = 'Switchboard';
const TOTP_CODE = /^\d{6}$/;
const SECRET_BYTES = 20;
const BASE32 = new ScureBase32Plugin();

/** TOTP (otplib) on the api's clock: secrets, otpauth URIs and code checks. */
@Injectable()
export class TotpCodes {
  constructor(
    @Inject(API_CLOCK) private readonly clock: Clock,
    @Inject(API_RANDOM) private readonly random: RandomSource,
  ) {}

  /** 20 random bytes in base32, as authenticator apps expect. */
  newSecret(): string {
    // As otplib's generateSecret, but drawn from the api's RandomSource.
    return BASE32.encode(this.random.bytes(SECRET_BYTES), { padding: false });
  }

  /** `otpauth://totp/Switchboard:<user>?secret=…&issuer=Switchboard`, ready for a QR code. */
  uri(username: string, secret: string): string {
    return generateURI({ issuer: TOTP_ISSUER, label: username, secret, period: TOTP_PERIOD_SECONDS });
  }

  /**
   * The time step the code belongs to, or null when it matches none within ±1 step. Whether the
   * step was already used (a replay) is the caller's atomic check against users.totp_last_step;
   * `afterStep` lets otplib refuse an already-used step before that.
   */
  async matchStep(secret: string, code: string, afterStep: number | null): Promise<number | null> {
    if (!TOTP_CODE.test(code)) return null;
    const result = await verify({
      secret,
      token: code,
      period: TOTP_PERIOD_SECONDS,
      epoch: Math.floor(this.clock.now().getTime() / 1000),
      epochTolerance: TOTP_WINDOW_STEPS * TOTP_PERIOD_SECONDS,
      ...(afterStep === null ? {} : { afterTimeStep: afterStep }),
    });
    // verify() is typed for TOTP and HOTP alike; only a TOTP result carries its timeStep.
    return result.valid && 'timeStep' in result ? result.timeStep : null;
  }
}
