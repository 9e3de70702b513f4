import { Module } from '@nestjs/common';

import { SettingsController } from './settings.controller';
import { SettingsService } from './settings.service';

/** GET/PUT/DELETE /api/v1/settings (admin only: setting.view, setting.manage). */
@Module({ controllers: [SettingsController], providers: [SettingsService] })
export class SettingsModule {}
