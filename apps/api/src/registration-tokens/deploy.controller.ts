import { Body, Controller, Headers, HttpCode, Post, UseFilters } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';

import { type RequestOrigin } from '../auth/principal';
import { CurrentOrigin, Public } from '../auth/route-access';
import { DeployErrorFilter } from './deploy-error.filter';
import { DeployService } from './deploy.service';
import { DeployDeviceBody } from './registration-tokens.dto';

/**
 * The RustDesk client's deploy call, `rustdesk --deploy --token T` (client source: rustdesk
 * src/ui_interface.rs and src/core_main.rs). Public as far as the guard goes: the registration token
 * in `Authorization` is the credential, checked by DeployService.
 */
@ApiTags('rustdesk-client')
@Controller('api/devices')
@UseFilters(DeployErrorFilter)
export class DeployController {
  constructor(private readonly deployments: DeployService) {}

  @Post('deploy')
  @ApiOperation({
    summary: 'RustDesk client: admit this device with a registration token (rustdesk --deploy)',
  })
  @HttpCode(200)
  @Public()
  async deploy(
    @Headers('authorization') authorization: string | undefined,
    @Body() body: DeployDeviceBody,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<{ result: 'OK' }> {
    await this.deployments.deploy(authorization, body, origin);
    return { result: 'OK' };
  }
}
