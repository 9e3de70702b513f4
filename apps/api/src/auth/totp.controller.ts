import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';

import { TotpCodeDto, TotpDisableDto, TotpEnrollDto } from './auth.dto';
import { type Principal, type RequestOrigin } from './principal';
import { CurrentOrigin, CurrentPrincipal, SelfService } from './route-access';
import { TotpService } from './totp.service';
import {
  type RecoveryCodes,
  recoveryCodesSchema,
  type TotpEnrolment,
  totpEnrolmentSchema,
} from './auth-responses';
import { Answers } from '../http/response-schemas';

/** The signed-in user's own second factor. */
@ApiTags('auth')
@Controller('api/v1/auth')
export class TotpController {
  constructor(private readonly totp: TotpService) {}

  @SelfService({ person: true })
  @Post('totp/enroll')
  @ApiOperation({
    summary: 'Start TOTP enrolment (needs the password): the secret and an otpauth URI for a QR code',
  })
  @HttpCode(200)
  @Answers(200, totpEnrolmentSchema)
  enroll(
    @Body() body: TotpEnrollDto,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<TotpEnrolment> {
    return this.totp.enroll(principal, body.password, origin);
  }

  @SelfService({ person: true })
  @Post('totp/confirm')
  @ApiOperation({ summary: 'Confirm TOTP with a first code; returns recovery codes once' })
  @HttpCode(200)
  @Answers(200, recoveryCodesSchema)
  confirm(
    @Body() body: TotpCodeDto,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<RecoveryCodes> {
    return this.totp.confirm(principal, body.code, origin);
  }

  @SelfService({ person: true })
  @Post('totp/disable')
  @ApiOperation({ summary: 'Turn TOTP off (password and a code)' })
  @HttpCode(204)
  async disable(
    @Body() body: TotpDisableDto,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    await this.totp.disable(principal, body, origin);
  }

  @SelfService({ person: true })
  @Post('recovery-codes')
  @ApiOperation({ summary: 'Replace the recovery codes (needs a TOTP code)' })
  @HttpCode(200)
  @Answers(200, recoveryCodesSchema)
  regenerate(
    @Body() body: TotpCodeDto,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<RecoveryCodes> {
    return this.totp.regenerateRecoveryCodes(principal, body.code, origin);
  }
}
