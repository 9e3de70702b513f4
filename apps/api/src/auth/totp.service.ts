import { BadRequestException, ConflictException, Inject, Injectable } from '@nestjs/common';
import { UserCredentialRepository } from '@switchboard/data-access';

import { API_CLOCK, API_RANDOM } from '../app.tokens';
import { ChangeRunner } from '../changes/change-runner';
import { type RandomSource } from '../random/random-source';
import { type Clock } from '../time/clock';
import { authAuditEntry } from './auth-audit';
import { type Principal, type RequestOrigin } from './principal';
import { Reauthentication } from './reauthentication';
import { newRecoveryCodes, RecoveryCodeDigests } from './recovery-codes';
import { type RecoveryCodes, type TotpEnrolment } from './auth-responses';
import { SecretBox } from './secret-box';
import { TotpCodes } from './totp-codes';

/**
 * TOTP 2FA, self-service: enrol (password; a pending secret, sealed at rest), confirm with a first
 * code (2FA on, recovery codes issued), disable (password + code), regenerate recovery codes (code).
 * An admin can clear someone else's (UsersService.clearSecondFactor), the CLI's reset-admin too.
 */
@Injectable()
export class TotpService {
  constructor(
    private readonly reauth: Reauthentication,
    private readonly codes: TotpCodes,
    private readonly box: SecretBox,
    private readonly recoveryDigests: RecoveryCodeDigests,
    private readonly credentials: UserCredentialRepository,
    private readonly changes: ChangeRunner,
    @Inject(API_CLOCK) private readonly clock: Clock,
    @Inject(API_RANDOM) private readonly random: RandomSource,
  ) {}

  async enroll(principal: Principal, password: string, origin: RequestOrigin): Promise<TotpEnrolment> {
    const user = await this.reauth.personOf(principal);
    if (user.totpEnabled) throw new ConflictException('Two-factor authentication is already enabled');
    const secret = this.codes.newSecret();
    await this.reauth.withProof(user, { password }, { action: 'totp_enroll', origin }, () =>
      this.changes.run(async (repositories) => {
        await repositories.credentials.storePendingTotpSecret(user.id, this.box.seal(secret, user.id));
        return {
          result: undefined,
          audit: [authAuditEntry('auth.totp_enrollment_started', { userId: user.id, origin })],
        };
      }),
    );
    return { secret, otpauthUri: this.codes.uri(user.username, secret) };
  }

  async confirm(principal: Principal, code: string, origin: RequestOrigin): Promise<RecoveryCodes> {
    const user = await this.reauth.personOf(principal);
    if (user.totpEnabled) throw new ConflictException('Two-factor authentication is already enabled');
    const state = await this.credentials.findTotpState(user.id);
    if (state?.sealedSecret == null) {
      throw new ConflictException('No enrolment in progress: POST /api/v1/auth/totp/enroll first');
    }
    const step = await this.codes.matchStep(this.box.open(state.sealedSecret, user.id), code, state.lastStep);
    if (step === null) throw new BadRequestException('code: does not match the enrolled secret');

    const recoveryCodes = newRecoveryCodes(this.random);
    const now = this.clock.now();
    await this.changes.run(async (repositories) => {
      const credentials = repositories.credentials;
      // The confirming code is used: it cannot open the first login too.
      if (!(await credentials.claimTotpStep(user.id, step))) {
        throw new BadRequestException('code: already used');
      }
      await credentials.enableTotp(user.id);
      await repositories.recoveryCodes.replace(
        user.id,
        recoveryCodes.map((code) => this.recoveryDigests.stored(code)),
        now,
      );
      return { result: undefined, audit: [authAuditEntry('auth.totp_enabled', { userId: user.id, origin })] };
    });
    return { recoveryCodes };
  }

  async disable(
    principal: Principal,
    proof: { password: string; code: string },
    origin: RequestOrigin,
  ): Promise<void> {
    const user = await this.reauth.personOf(principal);
    if (!user.totpEnabled) throw new ConflictException('Two-factor authentication is not enabled');
    await this.reauth.withProof(
      user,
      { ...proof, allowRecoveryCode: true },
      { action: 'totp_disable', origin },
      () =>
        this.changes.run(async (repositories) => {
          await repositories.credentials.disableTotp(user.id);
          await repositories.recoveryCodes.deleteAll(user.id);
          return {
            result: undefined,
            audit: [authAuditEntry('auth.totp_disabled', { userId: user.id, origin })],
          };
        }),
    );
  }

  async regenerateRecoveryCodes(
    principal: Principal,
    code: string,
    origin: RequestOrigin,
  ): Promise<RecoveryCodes> {
    const user = await this.reauth.personOf(principal);
    if (!user.totpEnabled) throw new ConflictException('Two-factor authentication is not enabled');
    const recoveryCodes = newRecoveryCodes(this.random);
    const now = this.clock.now();
    await this.reauth.withProof(user, { code }, { action: 'recovery_codes_regenerate', origin }, () =>
      this.changes.run(async (repositories) => {
        await repositories.recoveryCodes.replace(
          user.id,
          recoveryCodes.map((code) => this.recoveryDigests.stored(code)),
          now,
        );
        return {
          result: undefined,
          audit: [authAuditEntry('auth.recovery_codes_regenerated', { userId: user.id, origin })],
        };
      }),
    );
    return { recoveryCodes };
  }
}
