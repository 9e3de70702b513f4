import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';

import { type Principal, type RequestOrigin } from '../auth/principal';
import { CurrentOrigin, CurrentPrincipal, RequirePermission } from '../auth/route-access';
import { Answers } from '../http/response-schemas';
import { DeviceGroupsService } from './device-groups.service';
import {
  type DeviceGroupList,
  deviceGroupListSchema,
  type DeviceGroupView,
  deviceGroupViewSchema,
} from './device-view';
import {
  AddDevicesToGroupBody,
  CreateDeviceGroupBody,
  DeviceGroupDeviceParams,
  DeviceGroupIdParams,
  UpdateDeviceGroupBody,
} from './devices.dto';

@ApiTags('device-groups')
@Controller('api/v1/device-groups')
export class DeviceGroupsController {
  constructor(private readonly groups: DeviceGroupsService) {}

  @Get()
  @ApiOperation({ summary: 'List device groups' })
  @RequirePermission('device.view')
  @Answers(200, deviceGroupListSchema)
  list(): Promise<DeviceGroupList> {
    return this.groups.list();
  }

  @Post()
  @ApiOperation({ summary: 'Create a device group' })
  @RequirePermission('device.manage')
  @Answers(201, deviceGroupViewSchema)
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

  @Patch(':id')
  @ApiOperation({ summary: 'Rename a device group or change its note' })
  @RequirePermission('device.manage')
  @Answers(200, deviceGroupViewSchema)
  update(
    @Param() params: DeviceGroupIdParams,
    @Body() body: UpdateDeviceGroupBody,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<DeviceGroupView> {
    return this.groups.update(params.id, body, { principal, origin });
  }

  @Post(':id/devices')
  @ApiOperation({ summary: 'Put devices (RustDesk ids) in a device group, moving them from any other' })
  @HttpCode(200)
  @RequirePermission('device.manage')
  @Answers(200, deviceGroupViewSchema)
  addDevices(
    @Param() params: DeviceGroupIdParams,
    @Body() body: AddDevicesToGroupBody,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<DeviceGroupView> {
    return this.groups.addDevices(params.id, body.devices, { principal, origin });
  }

  @Delete(':id/devices/:deviceId')
  @ApiOperation({ summary: 'Take a device out of a device group' })
  @HttpCode(204)
  @RequirePermission('device.manage')
  removeDevice(
    @Param() params: DeviceGroupDeviceParams,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    return this.groups.removeDevice(params.id, params.deviceId, { principal, origin });
  }
}
