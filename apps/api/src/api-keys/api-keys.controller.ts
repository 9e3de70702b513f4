import { Body, Controller, Delete, Get, Header, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';

import { type Principal, type RequestOrigin } from '../auth/principal';
import { CurrentOrigin, CurrentPrincipal, SelfService } from '../auth/route-access';
import { Answers } from '../http/response-schemas';
import {
  ApiKeyIdDto,
  type ApiKeyPage,
  apiKeyPageSchema,
  CreateApiKeyDto,
  type CreatedApiKey,
  createdApiKeySchema,
  ListApiKeysDto,
} from './api-key.dto';
import { ApiKeysService } from './api-keys.service';

/** One's own API keys (self-service); `api_key.manage_all` reaches everyone's. */
@SelfService()
@ApiTags('api-keys')
@Controller('api/v1/api-keys')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  // A key is a credential: only the person may mint one, so a leaked key cannot spawn keys that outlive it.
  @SelfService({ person: true })
  @Post()
  @ApiOperation({ summary: 'Create an API key for yourself (shown once; not with an API key)' })
  // The answer carries the key itself, shown this once: no cache may keep it.
  @Header('Cache-Control', 'no-store')
  @Answers(201, createdApiKeySchema)
  create(
    @Body() body: CreateApiKeyDto,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<CreatedApiKey> {
    return this.apiKeys.create(body, principal, origin);
  }

  @Get()
  @ApiOperation({ summary: "List your API keys (all=true: everyone's, with api_key.manage_all)" })
  @Answers(200, apiKeyPageSchema)
  list(@Query() query: ListApiKeysDto, @CurrentPrincipal() principal: Principal): Promise<ApiKeyPage> {
    return this.apiKeys.list(query, principal);
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Revoke an API key' })
  @HttpCode(204)
  revoke(
    @Param() params: ApiKeyIdDto,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    return this.apiKeys.revoke(params.id, principal, origin);
  }
}
