import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';

import { ApiKeyAuthenticator } from '../api-keys/api-key.authenticator';
import { API_SECRETS } from '../app.tokens';
import { ClientSessions } from '../client-auth/client-sessions';
import { type ApiSecrets } from '../secrets';
import { AccessGuard } from './access.guard';
import { AccessTokens, jwtOptionsFor } from './access-tokens';
import { ApiKeyBearer } from './api-key-bearer';
import { AUTHENTICATORS, type Authenticator } from './authenticator';
import { BearerTokenAuthenticator } from './bearer-token.authenticator';
import { BrowserSessions } from './browser-sessions';
import { OriginPolicy } from './origin-policy';
import { PasswordHasher } from './password-hasher';
import { SessionAuthenticator } from './session.authenticator';

/**
 * Who is calling and whether they may: the authenticators (tried in order, the first whose
 * credential is present decides) and the one global AccessGuard.
 */
@Global()
@Module({
  imports: [
    JwtModule.registerAsync({
      inject: [API_SECRETS],
      useFactory: (secrets: ApiSecrets) => jwtOptionsFor(secrets.jwtSecret),
    }),
  ],
  providers: [
    AccessTokens,
    PasswordHasher,
    ApiKeyAuthenticator,
    ApiKeyBearer,
    BrowserSessions,
    ClientSessions,
    OriginPolicy,
    BearerTokenAuthenticator,
    SessionAuthenticator,
    {
      provide: AUTHENTICATORS,
      // Order matters: the first whose credential is present decides; an explicit X-API-Key or
      // `Authorization: Bearer` header wins over a cookie the browser sent along.
      inject: [ApiKeyAuthenticator, BearerTokenAuthenticator, SessionAuthenticator],
      useFactory: (...authenticators: Authenticator[]): readonly Authenticator[] => authenticators,
    },
    { provide: APP_GUARD, useClass: AccessGuard },
  ],
  exports: [
    AccessTokens,
    ApiKeyBearer,
    PasswordHasher,
    BrowserSessions,
    ClientSessions,
    OriginPolicy,
    SessionAuthenticator,
  ],
})
export class AuthModule {}
