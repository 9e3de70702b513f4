import { Injectable } from '@nestjs/common';
import { UserCredentialRepository } from '@switchboard/data-access';

import { SecretBox } from './secret-box';
import { TotpCodes } from './totp-codes';

export type TotpCheck = 'ok' | 'wrong' | 'replayed';

/** Checks a user's TOTP code against their sealed secret, using each time step at most once. */
@Injectable()
export class SecondFactor {
  constructor(
    private readonly credentials: UserCredentialRepository,
    private readonly box: SecretBox,
    private readonly codes: TotpCodes,
  ) {}

  /** `ok` also consumes the code's time step, so the same code (or an older one) never works again. */
  async checkTotp(userId: string, code: string): Promise<TotpCheck> {
    const state = await this.credentials.findTotpState(userId);
    if (state?.sealedSecret == null) return 'wrong';
    const secret = this.box.open(state.sealedSecret, userId);
    // Without afterStep first: a correct but used code is told apart (and audited) as a replay.
    const step = await this.codes.matchStep(secret, code, null);
    if (step === null) return 'wrong';
    if (state.lastStep !== null && step <= state.lastStep) return 'replayed';
    return (await this.credentials.claimTotpStep(userId, step)) ? 'ok' : 'replayed';
  }

  /** For enrolment: the secret being confirmed, opened. */
  async pendingSecret(userId: string): Promise<string | null> {
    const state = await this.credentials.findTotpState(userId);
    return state?.sealedSecret == null ? null : this.box.open(state.sealedSecret, userId);
  }
}
