import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';

import { type Principal, type RequestOrigin } from '../auth/principal';
import { CurrentOrigin, CurrentPrincipal, RequirePermission } from '../auth/route-access';
import { DeviceIdParams } from '../devices/devices.dto';
import { AnswersNothing } from '../http/response-schemas';
import { DisconnectBody } from './device-sync.dto';
import { DeviceDisconnectService } from './device-disconnect.service';

/** Operator API: end one session on a device, delivered by the device's next heartbeat. */
@ApiTags('devices')
@Controller('api/v1/devices')
export class DeviceDisconnectController {
  constructor(private readonly disconnects: DeviceDisconnectService) {}

  @Post(':id/disconnect')
  @HttpCode(202)
  @ApiOperation({ summary: "End a session (by the conn id of the device's heartbeat) on its next heartbeat" })
  @AnswersNothing(202, "Recorded: the device's next heartbeat carries it, once.")
  @RequirePermission('device.disconnect')
  disconnect(
    @Param() params: DeviceIdParams,
    @Body() body: DisconnectBody,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    return this.disconnects.request(params.id, body.connId, { principal, origin });
  }
}
