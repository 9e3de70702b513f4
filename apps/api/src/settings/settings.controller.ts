import { Body, Controller, Delete, Get, HttpCode, Param, Put } from '@nestjs/common';

import { type Principal, type RequestOrigin } from '../auth/principal';
import { CurrentOrigin, CurrentPrincipal, RequirePermission } from '../auth/route-access';
import { PutSettingBodyDto, SettingKeyParamDto, type SettingView } from './settings.dto';
import { SettingsService } from './settings.service';

@Controller('api/v1/settings')
export class SettingsController {
  constructor(private readonly settings: SettingsService) {}

  @Get()
  @RequirePermission('setting.view')
  async list(): Promise<{ settings: SettingView[] }> {
    return { settings: await this.settings.list() };
  }

  @Get(':key')
  @RequirePermission('setting.view')
  get(@Param() { key }: SettingKeyParamDto): Promise<SettingView> {
    return this.settings.get(key);
  }

  @Put(':key')
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
