import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';

import { type Principal, type RequestOrigin } from '../auth/principal';
import { CurrentOrigin, CurrentPrincipal, RequirePermission } from '../auth/route-access';
import { type DeviceDetailsView } from './device-view';
import {
  BanDeviceBody,
  ChangeDeviceIdBody,
  DeleteDeviceQuery,
  DeviceIdParams,
  DeviceLinkParams,
  ListDevicesQuery,
  RevokeDeviceBody,
  UpdateDeviceBody,
} from './devices.dto';
import { type DevicePageView, DevicesService } from './devices.service';

/** Device administration (operator API). Devices are addressed by their RustDesk id. */
@Controller('api/v1/devices')
export class DevicesController {
  constructor(private readonly devices: DevicesService) {}

  @Get()
  @RequirePermission('device.view')
  list(@Query() query: ListDevicesQuery): Promise<DevicePageView> {
    return this.devices.list(query);
  }

  @Get(':id')
  @RequirePermission('device.view')
  get(@Param() params: DeviceIdParams): Promise<DeviceDetailsView> {
    return this.devices.get(params.id);
  }

  @Patch(':id')
  @RequirePermission('device.manage')
  update(
    @Param() params: DeviceIdParams,
    @Body() body: UpdateDeviceBody,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<DeviceDetailsView> {
    return this.devices.update(params.id, body, { principal, origin });
  }

  @Post(':id/approve')
  @HttpCode(200)
  @RequirePermission('device.manage')
  approve(
    @Param() params: DeviceIdParams,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<DeviceDetailsView> {
    return this.devices.approve(params.id, { principal, origin });
  }

  @Post(':id/ban')
  @HttpCode(200)
  @RequirePermission('device.ban')
  ban(
    @Param() params: DeviceIdParams,
    @Body() body: BanDeviceBody,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<DeviceDetailsView> {
    return this.devices.ban(params.id, body.reason, { principal, origin });
  }

  @Post(':id/unban')
  @HttpCode(200)
  @RequirePermission('device.ban')
  unban(
    @Param() params: DeviceIdParams,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<DeviceDetailsView> {
    return this.devices.unban(params.id, { principal, origin });
  }

  @Delete(':id')
  @HttpCode(204)
  @RequirePermission('device.manage')
  delete(
    @Param() params: DeviceIdParams,
    @Query() query: DeleteDeviceQuery,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    return this.devices.delete(params.id, query.hard, { principal, origin });
  }

  @Post(':id/revoke')
  @HttpCode(200)
  @RequirePermission('device.manage')
  revoke(
    @Param() params: DeviceIdParams,
    @Body() body: RevokeDeviceBody,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<DeviceDetailsView> {
    return this.devices.revoke(params.id, body, { principal, origin });
  }

  @Post(':id/change-id')
  @HttpCode(200)
  @RequirePermission('device.manage')
  changeId(
    @Param() params: DeviceIdParams,
    @Body() body: ChangeDeviceIdBody,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<DeviceDetailsView> {
    return this.devices.changeId(params.id, body.newId, { principal, origin });
  }

  @Post(':id/links/:otherId')
  @HttpCode(200)
  @RequirePermission('device.manage')
  link(
    @Param() params: DeviceLinkParams,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<DeviceDetailsView> {
    return this.devices.link(params.id, params.otherId, { principal, origin });
  }

  @Delete(':id/links/:otherId')
  @HttpCode(204)
  @RequirePermission('device.manage')
  unlink(
    @Param() params: DeviceLinkParams,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    return this.devices.unlink(params.id, params.otherId, { principal, origin });
  }
}
