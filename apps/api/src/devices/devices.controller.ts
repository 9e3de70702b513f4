import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';

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
@ApiTags('devices')
@Controller('api/v1/devices')
export class DevicesController {
  constructor(private readonly devices: DevicesService) {}

  @Get()
  @ApiOperation({ summary: 'List devices (filters: online, banned, pending, tag, group, deleted; search q)' })
  @RequirePermission('device.view')
  list(@Query() query: ListDevicesQuery): Promise<DevicePageView> {
    return this.devices.list(query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One device by RustDesk id' })
  @RequirePermission('device.view')
  get(@Param() params: DeviceIdParams): Promise<DeviceDetailsView> {
    return this.devices.get(params.id);
  }

  @Patch(':id')
  @ApiOperation({ summary: "Edit a device's note, tags, group or owner" })
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
  @ApiOperation({ summary: 'Approve a pending device' })
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
  @ApiOperation({ summary: 'Ban a device (cuts its live connections)' })
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
  @ApiOperation({ summary: 'Unban a device' })
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
  @ApiOperation({ summary: 'Delete a device (its row stays, so the id cannot register again)' })
  @HttpCode(204)
  @RequirePermission('device.manage')
  delete(
    @Param() params: DeviceIdParams,
    @Query() _query: DeleteDeviceQuery,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    return this.devices.delete(params.id, { principal, origin });
  }

  @Post(':id/purge')
  @ApiOperation({ summary: 'Purge a device: forget its id (refused while it is banned or revoked)' })
  @HttpCode(204)
  @RequirePermission('device.purge')
  purge(
    @Param() params: DeviceIdParams,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    return this.devices.purge(params.id, { principal, origin });
  }

  @Post(':id/revoke')
  @ApiOperation({
    summary: 'Revoke a device: soft-delete, ban, cut connections (optionally its linked devices)',
  })
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
  @ApiOperation({ summary: "Rename a device's RustDesk id" })
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
  @ApiOperation({ summary: 'Link two devices (revoked together)' })
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
  @ApiOperation({ summary: 'Unlink two devices' })
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
