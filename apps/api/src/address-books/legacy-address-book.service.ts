import { BadRequestException, ForbiddenException, Inject, Injectable } from '@nestjs/common';
import { AddressBookRepository, type AddressBookTagRecord } from '@switchboard/data-access';

import { ChangeRunner, type Changes } from '../changes/change-runner';
import { type Repositories } from '../database/repositories';
import { AddressBookSecrets } from './address-book-secrets';
import { defaultTagColor } from './address-book-view';
import { type LegacyBlob, legacyBlobSchema, legacyTagColorsSchema } from './client-address-book.dto';
import {
  type ClientActor,
  ClientAddressBooksService,
  clientEntry,
  emptyPeer,
  PERSONAL_BOOK_NAME,
} from './client-address-books.service';
import { type ClientCaller } from '../client-auth/client-caller';

/** The legacy blob's inner JSON, as the client serialises it (ab_model.dart `_serialize`). */
interface LegacyBlobView {
  tags: string[];
  peers: {
    id: string;
    hash: string;
    username: string;
    hostname: string;
    platform: string;
    alias: string;
    tags: string[];
  }[];
  /** A JSON string of `{tag: colour}`. */
  tag_colors: string;
}

/**
 * The legacy address book: one JSON blob per user (docs/client-api.md §3.4; ab_model.dart legacy
 * mode, src/ui/ab.tis for the Sciter UI). It is a view of the caller's personal book, so the v2 and
 * legacy calls read and write the same peers and tags. A push replaces the book's contents; fields
 * the blob does not carry (note, RDP settings) stay as they were on peers it keeps.
 */
@Injectable()
export class LegacyAddressBookService {
  constructor(
    @Inject(AddressBookRepository) private readonly books: Repositories['addressBooks'],
    @Inject(ChangeRunner) private readonly changes: Changes,
    private readonly secrets: AddressBookSecrets,
    private readonly v2: ClientAddressBooksService,
  ) {}

  /** `GET /api/ab`: null for an empty (or never used) book, which the client reads as empty. */
  async pull(caller: ClientCaller): Promise<{ data: string } | null> {
    const blob = await this.blob(caller);
    if (blob === null || (blob.view.peers.length === 0 && blob.view.tags.length === 0)) return null;
    return { data: JSON.stringify(blob.view) };
  }

  /** `POST /api/ab/get` (Sciter): always a blob, and when it last changed. */
  async pullWithTime(caller: ClientCaller): Promise<{ data: string; updated_at: string | null }> {
    const blob = await this.blob(caller);
    const view = blob?.view ?? { tags: [], peers: [], tag_colors: '{}' };
    return { data: JSON.stringify(view), updated_at: blob?.updatedAt.toISOString() ?? null };
  }

  /** `POST /api/ab`: a malformed blob is refused before anything is written. */
  async push(data: string, actor: ClientActor): Promise<void> {
    const blob = parseBlob(data);
    const tagColors = parseTagColors(blob.tag_colors);
    const peers = dedupeById(blob.peers ?? []);
    const maxPeers = await this.v2.maxPeers();
    if (maxPeers > 0 && peers.length > maxPeers) {
      throw new ForbiddenException(`The address book is full (at most ${maxPeers} peers)`);
    }
    const tagNames = [...new Set([...(blob.tags ?? []), ...peers.flatMap((peer) => peer.tags ?? [])])];
    const tags: AddressBookTagRecord[] = tagNames.map((name) => ({
      name,
      color: tagColors[name] ?? defaultTagColor(name),
    }));
    await this.changes.run(async ({ addressBooks }) => {
      const { book } = await addressBooks.ensurePersonal(actor.caller.userId, PERSONAL_BOOK_NAME);
      await addressBooks.lockBook(book.id);
      const removed = await addressBooks.deletePeersExcept(
        book.id,
        peers.map((peer) => peer.id),
      );
      for (const peer of peers) {
        const fields = {
          hashSealed: this.secrets.sealPeer(book.id, peer.id, 'hash', peer.hash ?? ''),
          username: peer.username ?? null,
          hostname: peer.hostname ?? null,
          platform: peer.platform ?? null,
          alias: peer.alias ?? null,
          tags: [...new Set(peer.tags ?? [])],
        };
        await addressBooks.upsertPeer(book.id, peer.id, { ...emptyPeer(), ...fields }, fields);
      }
      await addressBooks.replaceTags(book.id, tags);
      await addressBooks.touch(book.id);
      return {
        result: undefined,
        audit: [
          clientEntry(actor, 'address_book.legacy_push', book.id, {
            peers: peers.length,
            removed,
            tags: tags.length,
          }),
        ],
      };
    });
  }

  private async blob(caller: ClientCaller): Promise<{ view: LegacyBlobView; updatedAt: Date } | null> {
    const book = await this.books.findPersonal(caller.userId, PERSONAL_BOOK_NAME);
    if (book === null) return null;
    const [peers, tags] = await Promise.all([
      this.books.listPeers(book.id, 0, Number.MAX_SAFE_INTEGER),
      this.books.listTags(book.id),
    ]);
    return {
      updatedAt: book.updatedAt,
      view: {
        tags: tags.map((tag) => tag.name),
        peers: peers.map((peer) => ({
          id: peer.rustdeskId,
          hash: this.secrets.openPeer(book.id, peer.rustdeskId, 'hash', peer.hashSealed),
          username: peer.username ?? '',
          hostname: peer.hostname ?? '',
          platform: peer.platform ?? '',
          alias: peer.alias ?? '',
          tags: peer.tags,
        })),
        tag_colors: JSON.stringify(Object.fromEntries(tags.map((tag) => [tag.name, tag.color]))),
      },
    };
  }
}

function parseBlob(data: string): LegacyBlob {
  let inner: unknown;
  try {
    inner = JSON.parse(data);
  } catch {
    throw new BadRequestException('data is not valid JSON');
  }
  // The Sciter UI may push an empty book as null.
  if (inner === null) return {};
  const parsed = legacyBlobSchema.safeParse(inner);
  if (!parsed.success) throw new BadRequestException(parsed.error.issues.map(issueText));
  return parsed.data;
}

function parseTagColors(text: string | undefined): Record<string, number> {
  if (text === undefined || text === '') return {};
  let inner: unknown;
  try {
    inner = JSON.parse(text);
  } catch {
    throw new BadRequestException('data.tag_colors is not valid JSON');
  }
  const parsed = legacyTagColorsSchema.safeParse(inner);
  if (!parsed.success) throw new BadRequestException(parsed.error.issues.map(issueText));
  return parsed.data;
}

function issueText(issue: { path: PropertyKey[]; message: string }): string {
  return `data.${issue.path.map(String).join('.')}: ${issue.message}`;
}

/** The last entry of an id wins, as in the client's own list. */
function dedupeById<T extends { id: string }>(peers: readonly T[]): T[] {
  return [...new Map(peers.map((peer) => [peer.id, peer])).values()];
}
