import { Body, Controller, Delete, Get, HttpCode, Param, Put } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';

import { type Principal, type RequestOrigin } from '../auth/principal';
import { CurrentOrigin, CurrentPrincipal, RequirePermission } from '../auth/route-access';
import { Answers } from '../http/response-schemas';
import {
  PutSettingBodyDto,
  SettingKeyParamDto,
  type SettingList,
  settingListSchema,
  type SettingView,
  settingViewSchema,
} from './settings.dto';
import { SettingsService } from './settings.service';

@ApiTags('settings')
@Controller('api/v1/settings')
export class SettingsController {
  constructor(private readonly settings: SettingsService) {}

  @Get()
  @ApiOperation({ summary: 'List settings' })
  @RequirePermission('setting.view')
  @Answers(200, settingListSchema)
  async list(): Promise<SettingList> {
    return { settings: await this.settings.list() };
  }

  @Get(':key')
  @ApiOperation({ summary: 'One setting' })
  @RequirePermission('setting.view')
  @Answers(200, settingViewSchema)
  get(@Param() { key }: SettingKeyParamDto): Promise<SettingView> {
    return this.settings.get(key);
  }

  @Put(':key')
  @ApiOperation({ summary: 'Set a setting (announced to signal and relay)' })
  @RequirePermission('setting.manage')
  @Answers(200, settingViewSchema)
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
