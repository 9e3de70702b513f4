import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';

import { type Principal, type RequestOrigin } from '../auth/principal';
import { CurrentOrigin, CurrentPrincipal, RequirePermission } from '../auth/route-access';
import { Answers } from '../http/response-schemas';
import {
  bulkResultSchema,
  type BulkResultView,
  deviceDetailsViewSchema,
  type DeviceDetailsView,
  deviceLinksSchema,
  type DeviceLinksView,
  devicePageSchema,
  type DevicePageView,
  revokePreviewSchema,
  type RevokePreviewView,
} from './device-view';
import {
  BanDeviceBody,
  BulkDeviceActionBody,
  ChangeDeviceIdBody,
  DeleteDeviceQuery,
  DeviceIdParams,
  DeviceLinkParams,
  ListDevicesQuery,
  RevokeDeviceBody,
  UpdateDeviceBody,
} from './devices.dto';
import { DevicesService } from './devices.service';

/** Device administration (operator API). Devices are addressed by their RustDesk id. */
@ApiTags('devices')
@Controller('api/v1/devices')
export class DevicesController {
  constructor(private readonly devices: DevicesService) {}

  @Get()
  @ApiOperation({
    summary:
      'List devices (filters: online, banned, pending, admission, os, tag, group, deleted; search q; ' +
      'sort rustdeskId|hostname|os|lastSeenAt|createdAt with order asc|desc; cursor-paged; total with withTotal=true)',
  })
  @Answers(200, devicePageSchema)
  @RequirePermission('device.view')
  list(@Query() query: ListDevicesQuery): Promise<DevicePageView> {
    return this.devices.list(query);
  }

  @Post('bulk')
  @ApiOperation({
    summary:
      'Approve, ban, unban or delete up to 500 devices, each as its own route does it (audited one by one); ' +
      'dryRun answers what would happen. Needs device.ban, and the action’s own permission (approve and ' +
      'delete: device.manage)',
  })
  @Answers(200, bulkResultSchema)
  @HttpCode(200)
  @RequirePermission('device.ban')
  bulk(
    @Body() body: BulkDeviceActionBody,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<BulkResultView> {
    return this.devices.bulk(body, { principal, origin });
  }

  @Get(':id')
  @ApiOperation({ summary: 'One device by RustDesk id' })
  @Answers(200, deviceDetailsViewSchema)
  @RequirePermission('device.view')
  get(@Param() params: DeviceIdParams): Promise<DeviceDetailsView> {
    return this.devices.get(params.id);
  }

  @Get(':id/links')
  @ApiOperation({ summary: 'The devices linked directly to this one (either direction)' })
  @Answers(200, deviceLinksSchema)
  @RequirePermission('device.view')
  links(@Param() params: DeviceIdParams): Promise<DeviceLinksView> {
    return this.devices.links(params.id);
  }

  @Get(':id/revoke-preview')
  @ApiOperation({
    summary: 'What POST .../revoke with cascade would take down: the linked devices, transitively',
  })
  @Answers(200, revokePreviewSchema)
  @RequirePermission('device.view')
  revokePreview(@Param() params: DeviceIdParams): Promise<RevokePreviewView> {
    return this.devices.revokePreview(params.id);
  }

  @Patch(':id')
  @ApiOperation({ summary: "Edit a device's note, tags, group or owner" })
  @Answers(200, deviceDetailsViewSchema)
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
  @Answers(200, deviceDetailsViewSchema)
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
  @Answers(200, deviceDetailsViewSchema)
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
  @Answers(200, deviceDetailsViewSchema)
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
  @Answers(200, deviceDetailsViewSchema)
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
  @Answers(200, deviceDetailsViewSchema)
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
  @Answers(200, deviceDetailsViewSchema)
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
