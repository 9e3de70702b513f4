import { Body, Controller, Delete, Get, HttpCode, Param, Put } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';

import { type Principal, type RequestOrigin } from '../auth/principal';
import { CurrentOrigin, CurrentPrincipal, RequirePermission } from '../auth/route-access';
import { PutSettingBodyDto, SettingKeyParamDto, type SettingView } from './settings.dto';
import { SettingsService } from './settings.service';

@ApiTags('settings')
@Controller('api/v1/settings')
export class SettingsController {
  constructor(private readonly settings: SettingsService) {}

  @Get()
  @ApiOperation({ summary: 'List settings' })
  @RequirePermission('setting.view')
  async list(): Promise<{ settings: SettingView[] }> {
    return { settings: await this.settings.list() };
  }

  @Get(':key')
  @ApiOperation({ summary: 'One setting' })
  @RequirePermission('setting.view')
  get(@Param() { key }: SettingKeyParamDto): Promise<SettingView> {
    return this.settings.get(key);
  }

  @Put(':key')
  @ApiOperation({ summary: 'Set a setting (announced to signal and relay)' })
  @RequirePermission('setting.manage')
  put(
    @Param() { key }: SettingKeyParamDto,
    @Body() { value }: PutSettingBodyDto,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<SettingView> {
    return this.settings.put(key, value, principal, origin);
  }

  @Delete(':key')
  @ApiOperation({ summary: 'Remove a setting (back to the configured default)' })
  @HttpCode(204)
  @RequirePermission('setting.manage')
  async delete(
    @Param() { key }: SettingKeyParamDto,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    await this.settings.delete(key, principal, origin);
  }
}
