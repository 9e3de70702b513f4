import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';

import { type RequestOrigin } from '../auth/principal';
import { CurrentOrigin, Public } from '../auth/route-access';
import { SwitchGrantBody } from './switch-grant.dto';
import { type SwitchGrantAnswer, SwitchGrantsService } from './switch-grants.service';

/** A device's switch-sides grant, signed with its own key: no credential besides that signature. */
@Public()
@ApiTags('rustdesk-client')
@Controller('api')
export class SwitchGrantsController {
  constructor(private readonly grants: SwitchGrantsService) {}

  @Post('switch-grant')
  @HttpCode(200)
  @ApiOperation({ summary: 'RustDesk client: announce a switch of sides, signed with the device key' })
  register(
    @Body() body: SwitchGrantBody,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<SwitchGrantAnswer> {
    return this.grants.register(body, origin);
  }
}
