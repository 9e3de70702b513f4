import { BadRequestException, Controller, Get, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';

import { Public } from '../auth/route-access';

/** Until an identity provider can be configured, every OIDC call answers this (docs/client-api.md §2). */
export const OIDC_NOT_CONFIGURED = 'No OIDC provider is configured on this server; sign in with a password';

/**
 * What the RustDesk client asks before showing its login form (docs/client-api.md §2). With no
 * identity provider there are no `oidc/<name>` buttons: the client shows the password form alone.
 * The OIDC calls answer `{error}` at once; the poll's error must not contain "No authed oidc is
 * found", which would keep the client polling for three minutes.
 */
@Public()
@ApiTags('rustdesk-client')
@Controller('api')
export class LoginOptionsController {
  @Get('login-options')
  @ApiOperation({ summary: 'RustDesk client: the sign-in methods offered besides the password' })
  loginOptions(): string[] {
    return [];
  }

  @Post('oidc/auth')
  @ApiOperation({ summary: 'RustDesk client: start an OIDC sign-in (answers that none is configured)' })
  startOidc(): never {
    throw new BadRequestException(OIDC_NOT_CONFIGURED);
  }

  @Get('oidc/auth-query')
  @ApiOperation({ summary: 'RustDesk client: poll an OIDC sign-in (answers that none is configured)' })
  pollOidc(): never {
    throw new BadRequestException(OIDC_NOT_CONFIGURED);
  }
}
