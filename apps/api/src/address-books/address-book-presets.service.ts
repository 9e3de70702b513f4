import { Inject, Injectable } from '@nestjs/common';
import { type AuditAppendInput } from '@switchboard/data-access';

import { ChangeRunner, type Changes } from '../changes/change-runner';
import { type Repositories } from '../database/repositories';
import { AddressBookSecrets } from './address-book-secrets';
import { defaultTagColor } from './address-book-view';
import { emptyPeer } from './client-address-books.service';

/**
 * A device's address-book preset: the `preset-address-book-{name,tag,alias,password,note}` options
 * its sysinfo upload carries (src/hbbs_http/sync.rs), or `rustdesk --assign --address_book_name …`
 * (src/core_main.rs, `address_book_{name,tag,alias,password,note}`).
 */
export interface DeviceAddressBookPreset {
  readonly rustdeskId: string;
  readonly hostname?: string | undefined;
  readonly username?: string | undefined;
  readonly platform?: string | undefined;
  /** The shared book's name. */
  readonly bookName: string;
  readonly tag?: string | undefined;
  readonly alias?: string | undefined;
  readonly password?: string | undefined;
  readonly note?: string | undefined;
}

export type PresetOutcome = 'added' | 'updated' | 'book_not_found';

/** Who applied it: the device itself (sysinfo) or an API token's user (--assign). */
export interface PresetActor {
  readonly actorType: string;
  readonly actorId: string;
  readonly ip: string | null;
}

/**
 * Puts a device into a shared address book by name, as Pro does with the client's presets. The
 * client re-sends them at every service start, so applying one is idempotent: the device's facts
 * (hostname, username, platform) follow the device, the tag is added if missing (and created in the
 * book), and alias, password and note only fill what is empty, never undoing a user's edit.
 */
@Injectable()
export class AddressBookPresetsService {
  constructor(
    @Inject(ChangeRunner) private readonly changes: Changes,
    private readonly secrets: AddressBookSecrets,
  ) {}

  /** In a transaction of its own, with its audit entry (for callers outside another change). */
  async applyDevicePreset(preset: DeviceAddressBookPreset, actor: PresetActor): Promise<PresetOutcome> {
    return this.changes.run(async (repositories) => {
      const applied = await this.applyWithin(repositories, preset);
      if (applied.outcome === 'book_not_found') return { result: applied.outcome, audit: [] };
      const entry: AuditAppendInput = {
        ...actor,
        action: 'address_book.device_preset',
        targetType: 'address_book',
        targetId: applied.bookId,
        details: { peer: preset.rustdeskId, outcome: applied.outcome, tag: applied.tag },
      };
      return { result: applied.outcome, audit: [entry] };
    });
  }

  /**
   * The same on the repositories of the caller's transaction (sysinfo presets, `--assign`), whose
   * audit entry then covers it.
   */
  async applyWithin(
    { addressBooks }: Pick<Repositories, 'addressBooks'>,
    preset: DeviceAddressBookPreset,
  ): Promise<{ outcome: PresetOutcome; bookId: string | null; tag: string | null }> {
    const found = await addressBooks.findSharedByName(preset.bookName);
    if (found === null || !(await addressBooks.lockBook(found.id))) {
      return { outcome: 'book_not_found', bookId: null, tag: null };
    }
    const bookId = found.id;
    const tag = nonEmpty(preset.tag);
    if (tag !== undefined && !(await addressBooks.listTags(bookId)).some((t) => t.name === tag)) {
      await addressBooks.addTag(bookId, { name: tag, color: defaultTagColor(tag) });
    }
    const facts = {
      ...(nonEmpty(preset.hostname) === undefined ? {} : { hostname: preset.hostname }),
      ...(nonEmpty(preset.username) === undefined ? {} : { username: preset.username }),
      ...(nonEmpty(preset.platform) === undefined ? {} : { platform: preset.platform }),
    };
    const password = nonEmpty(preset.password);
    const sealedPassword =
      password === undefined ? null : this.secrets.sealPeer(bookId, preset.rustdeskId, 'password', password);
    const existing = await addressBooks.findPeer(bookId, preset.rustdeskId);
    if (existing === null) {
      await addressBooks.addPeer(bookId, {
        ...emptyPeer(),
        ...facts,
        rustdeskId: preset.rustdeskId,
        alias: nonEmpty(preset.alias) ?? null,
        note: nonEmpty(preset.note) ?? null,
        passwordSealed: sealedPassword,
        tags: tag === undefined ? [] : [tag],
      });
      return { outcome: 'added', bookId, tag: tag ?? null };
    }
    await addressBooks.updatePeer(bookId, preset.rustdeskId, {
      ...facts,
      ...(existing.alias ? {} : { alias: nonEmpty(preset.alias) }),
      ...(existing.note ? {} : { note: nonEmpty(preset.note) }),
      ...(existing.passwordSealed !== null || sealedPassword === null
        ? {}
        : { passwordSealed: sealedPassword }),
      ...(tag === undefined || existing.tags.includes(tag) ? {} : { tags: [...existing.tags, tag] }),
    });
    return { outcome: 'updated', bookId, tag: tag ?? null };
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
