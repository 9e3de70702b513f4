import { Module } from '@nestjs/common';

import { AccountController } from './account.controller';
import { AccountService } from './account.service';
import { LoginController } from './login.controller';
import { LoginFailures } from './login-failures';
import { LoginMetrics } from './login-metrics';
import { LoginService } from './login.service';
import { LoginThrottle } from './login-throttle';
import { LogoutService } from './logout.service';
import { Reauthentication } from './reauthentication';
import { RecoveryCodeRekeying } from './recovery-code-rekeying';
import { RecoveryCodeDigests } from './recovery-codes';
import { RefreshTokenService } from './refresh-tokens.service';
import { SecondFactor } from './second-factor';
import { SecretBox } from './secret-box';
import { SpentMfaTokens } from './spent-mfa-tokens';
import { TotpController } from './totp.controller';
import { TotpCodes } from './totp-codes';
import { TotpService } from './totp.service';

/**
 * Authentication for people (issue 5 §1): password login with the backoff ladder, TOTP 2FA, browser
 * sessions, refresh tokens, logout and self-service. AuthModule (global) holds what the guard needs
 * on every request: the authenticators, token signing, session lookup.
 */
@Module({
  controllers: [LoginController, TotpController, AccountController],
  providers: [
    AccountService,
    LoginFailures,
    LoginMetrics,
    LoginService,
    LoginThrottle,
    LogoutService,
    Reauthentication,
    RecoveryCodeDigests,
    RecoveryCodeRekeying,
    RefreshTokenService,
    SecondFactor,
    SecretBox,
    SpentMfaTokens,
    TotpCodes,
    TotpService,
  ],
  // The RustDesk client's login (apps/api/src/client-account) lands through the same service.
  exports: [LoginService],
})
export class AuthenticationModule {}
