import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';

import { type Principal, type RequestOrigin } from '../auth/principal';
import { CurrentOrigin, CurrentPrincipal, RequirePermission } from '../auth/route-access';
import { DeviceGroupsService } from './device-groups.service';
import { type DeviceGroupView } from './device-view';
import { CreateDeviceGroupBody, DeviceGroupIdParams } from './devices.dto';

@ApiTags('device-groups')
@Controller('api/v1/device-groups')
export class DeviceGroupsController {
  constructor(private readonly groups: DeviceGroupsService) {}

  @Get()
  @ApiOperation({ summary: 'List device groups' })
  @RequirePermission('device.view')
  list(): Promise<DeviceGroupView[]> {
    return this.groups.list();
  }

  @Post()
  @ApiOperation({ summary: 'Create a device group' })
  @RequirePermission('device.manage')
  create(
    @Body() body: CreateDeviceGroupBody,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<DeviceGroupView> {
    return this.groups.create(body, { principal, origin });
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Delete a device group (its devices keep no group)' })
  @HttpCode(204)
  @RequirePermission('device.manage')
  delete(
    @Param() params: DeviceGroupIdParams,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    return this.groups.delete(params.id, { principal, origin });
  }
}
