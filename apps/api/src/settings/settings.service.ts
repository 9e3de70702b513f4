import { BadRequestException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { canonicalJson, type JsonValue } from '@switchboard/audit';
import { type SettingRecord, SettingRepository } from '@switchboard/data-access';
import { type EventPayload, knownSettingSchemas } from '@switchboard/events';

import { API_CONFIG } from '../app.tokens';
import { type ApiConfig } from '../config';
import { auditActorOf, eventActorOf, type Principal, type RequestOrigin } from '../auth/principal';
import { ChangeRunner } from '../changes/change-runner';
import { type Repositories } from '../database/repositories';
import { isSecretSettingKey, SECRET_VALUE_NOT_RECORDED } from './secret-settings';
import { type SettingView } from './settings.dto';

/**
 * Settings: JSON values under free-form keys, of which some are known to the data plane
 * (libs/events settings.ts) and validated as such. Every change commits with its `setting.changed`
 * entry (old and new value, except for a secret's: secret-settings.ts) and is then announced as
 * ConfigChanged, which signal applies live.
 * Writing the value a key already holds changes nothing, and records and announces nothing.
 */
@Injectable()
export class SettingsService {
  constructor(
    @Inject(SettingRepository) private readonly settings: Repositories['settings'],
    private readonly changes: ChangeRunner,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  async list(): Promise<SettingView[]> {
    return (await this.settings.list()).map(toView);
  }

  async get(key: string): Promise<SettingView> {
    const setting = await this.settings.find(key);
    if (setting === null) throw notFound(key);
    return toView(setting);
  }

  async put(
    key: string,
    value: SettingValue,
    principal: Principal,
    origin: RequestOrigin,
  ): Promise<SettingView> {
    this.check(key, value);
    const actor = eventActorOf(principal);
    return this.changes.run(async ({ settings }) => {
      const before = await settings.lockAndFind(key);
      if (before !== null && canonicalJson(before.value) === canonicalJson(value)) {
        return { result: toView(before), audit: [] };
      }
      const after = await settings.write(key, value, actor);
      return {
        result: toView(after),
        audit: [changedEntry(key, before?.value ?? null, value, principal, origin)],
        events: [{ type: 'ConfigChanged', payload: { key, value, actor } }],
      };
    });
  }

  /** The data plane falls back to its configured default (signal: REGISTRATION_POLICY). */
  async delete(key: string, principal: Principal, origin: RequestOrigin): Promise<void> {
    await this.changes.run(async ({ settings }) => {
      const before = await settings.lockAndFind(key);
      if (before === null) throw notFound(key);
      await settings.remove(key);
      return {
        result: undefined,
        audit: [changedEntry(key, before.value, null, principal, origin, { deleted: true })],
        events: [{ type: 'ConfigChanged', payload: { key, value: null, actor: eventActorOf(principal) } }],
      };
    });
  }

  private check(key: string, value: SettingValue): void {
    const bytes = Buffer.byteLength(canonicalJson(value));
    if (bytes > this.config.SETTING_VALUE_MAX_BYTES) {
      throw new BadRequestException([
        `value: larger than ${this.config.SETTING_VALUE_MAX_BYTES} bytes as JSON`,
      ]);
    }
    // hasOwn: a key such as "constructor" must not find Object.prototype's.
    const schema = Object.hasOwn(knownSettingSchemas, key) ? knownSettingSchemas[key] : undefined;
    const parsed = schema?.safeParse(value);
    if (parsed !== undefined && !parsed.success) {
      throw new BadRequestException(parsed.error.issues.map((issue) => `value: ${issue.message}`));
    }
  }
}

/** Any JSON, as the request body and ConfigChanged carry it. */
type SettingValue = EventPayload<'ConfigChanged'>['value'];

function changedEntry(
  key: string,
  oldValue: JsonValue,
  newValue: JsonValue,
  principal: Principal,
  origin: RequestOrigin,
  extra: { deleted?: true } = {},
) {
  const secret = isSecretSettingKey(key);
  const recorded = (value: JsonValue) => (secret && value !== null ? SECRET_VALUE_NOT_RECORDED : value);
  return {
    ...auditActorOf(principal),
    action: 'setting.changed',
    targetType: 'setting',
    targetId: key,
    ip: origin.ip,
    details: {
      old: recorded(oldValue),
      new: recorded(newValue),
      ...(secret ? { secret: true } : {}),
      ...extra,
      ...(origin.userAgent === null ? {} : { userAgent: origin.userAgent }),
    },
  };
}

function notFound(key: string): NotFoundException {
  return new NotFoundException(`No setting "${key}"`);
}

function toView(setting: SettingRecord): SettingView {
  return {
    key: setting.key,
    value: setting.value,
    updatedAt: setting.updatedAt.toISOString(),
    updatedBy: setting.updatedBy,
  };
}
