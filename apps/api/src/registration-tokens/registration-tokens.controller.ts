import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';

import { type Principal, type RequestOrigin } from '../auth/principal';
import { CurrentOrigin, CurrentPrincipal, RequirePermission } from '../auth/route-access';
import { Answers } from '../http/response-schemas';
import {
  type CreatedRegistrationToken,
  createdRegistrationTokenSchema,
  registrationTokenListSchema,
  type RegistrationTokenView,
} from './registration-token-view';
import { CreateRegistrationTokenBody, RegistrationTokenIdParams } from './registration-tokens.dto';
import { RegistrationTokensService } from './registration-tokens.service';

@ApiTags('registration-tokens')
@Controller('api/v1/registration-tokens')
export class RegistrationTokensController {
  constructor(private readonly tokens: RegistrationTokensService) {}

  @Post()
  @ApiOperation({ summary: 'Create a registration token (shown once)' })
  @RequirePermission('registration_token.manage')
  @Answers(201, createdRegistrationTokenSchema)
  create(
    @Body() body: CreateRegistrationTokenBody,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<CreatedRegistrationToken> {
    return this.tokens.create(body, { principal, origin });
  }

  @Get()
  @ApiOperation({ summary: 'List registration tokens' })
  @RequirePermission('registration_token.manage')
  @Answers(200, registrationTokenListSchema)
  list(): Promise<RegistrationTokenView[]> {
    return this.tokens.list();
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Revoke a registration token' })
  @HttpCode(204)
  @RequirePermission('registration_token.manage')
  revoke(
    @Param() params: RegistrationTokenIdParams,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    return this.tokens.revoke(params.id, { principal, origin });
  }
}
