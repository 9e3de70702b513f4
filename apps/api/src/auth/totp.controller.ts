import { Body, Controller, HttpCode, Post } from '@nestjs/common';

import { TotpCodeDto, TotpDisableDto } from './auth.dto';
import { type Principal, type RequestOrigin } from './principal';
import { CurrentOrigin, CurrentPrincipal, SelfService } from './route-access';
import { type RecoveryCodes, type TotpEnrolment, TotpService } from './totp.service';

/** The signed-in user's own second factor. */
@Controller('api/v1/auth')
export class TotpController {
  constructor(private readonly totp: TotpService) {}

  @SelfService()
  @Post('totp/enroll')
  @HttpCode(200)
  enroll(
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<TotpEnrolment> {
    return this.totp.enroll(principal, origin);
  }

  @SelfService()
  @Post('totp/confirm')
  @HttpCode(200)
  confirm(
    @Body() body: TotpCodeDto,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<RecoveryCodes> {
    return this.totp.confirm(principal, body.code, origin);
  }

  @SelfService()
  @Post('totp/disable')
  @HttpCode(204)
  async disable(
    @Body() body: TotpDisableDto,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    await this.totp.disable(principal, body, origin);
  }

  @SelfService()
  @Post('recovery-codes')
  @HttpCode(200)
  regenerate(
    @Body() body: TotpCodeDto,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<RecoveryCodes> {
    return this.totp.regenerateRecoveryCodes(principal, body.code, origin);
  }
}
