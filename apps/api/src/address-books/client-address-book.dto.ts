import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

// Request shapes of the client's address-book calls (docs/client-api.md §3), as
// flutter/lib/models/ab_model.dart and peer_model.dart send them. Objects ignore unknown fields: a
// newer client may add some. Limits follow the columns in schema.prisma.

export const MAX_TAGS_PER_PEER = 100;
export const MAX_IDS_PER_REQUEST = 10_000;
/** Largest ARGB colour: the client's tag colours are uint32. */
export const MAX_TAG_COLOR = 0xffff_ffff;

/** A peer id as typed into the client: no whitespace, control characters or `" < > / \ | ? *`. */
export const peerIdSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(253, 'must be at most 253 characters')
  .regex(/^[^\s\p{Cc}"<>/\\|?*]+$/u, 'must be a peer id (no spaces, control characters or " < > / \\ | ? *)');

export const tagNameSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(/^[^\p{Cc}]+$/u, 'must not contain control characters');

export const tagColorSchema = z
  .number({ error: 'must be an ARGB colour (0 to 4294967295)' })
  .int('must be an ARGB colour (0 to 4294967295)')
  .min(0, 'must be an ARGB colour (0 to 4294967295)')
  .max(MAX_TAG_COLOR, 'must be an ARGB colour (0 to 4294967295)');

const text = (max: number) => z.string().max(max, `must be at most ${max} characters`).nullable();
const secret = z.string().max(1_024, 'must be at most 1024 characters').nullable();

/** peer_model.dart sends the string "true"/"false"; a boolean is read too. */
const flag = z
  .union([z.boolean(), z.enum(['true', 'false'])], { error: 'must be "true" or "false"' })
  .transform((value) => value === true || value === 'true');

/** A string in the client; a number is read too. */
const port = z
  .union([z.string().max(16, 'must be at most 16 characters'), z.number().int().min(0).max(65_535)])
  .nullable()
  .transform((value) => (value === null || value === '' ? null : String(value)));

const peerBody = z.object({
  id: peerIdSchema,
  alias: text(255).optional(),
  hash: secret.optional(),
  password: secret.optional(),
  username: text(255).optional(),
  hostname: text(255).optional(),
  platform: text(64).optional(),
  tags: z
    .array(tagNameSchema)
    .max(MAX_TAGS_PER_PEER, `must hold at most ${MAX_TAGS_PER_PEER} tags`)
    .nullable()
    .optional(),
  note: text(4_000).optional(),
  forceAlwaysRelay: flag.optional(),
  rdpPort: port.optional(),
  rdpUsername: text(255).optional(),
  loginName: text(255).optional(),
  device_group_name: text(128).optional(),
  same_server: z.boolean().nullable().optional(),
});

/** One peer as `POST /api/ab/peer/add/{guid}` and `PUT /api/ab/peer/update/{guid}` carry it. */
export type PeerBody = z.infer<typeof peerBody>;

export class PeerBodyDto extends createZodDto(peerBody) {}

export class PeerIdsBody extends createZodDto(
  z.array(peerIdSchema).max(MAX_IDS_PER_REQUEST, `must hold at most ${MAX_IDS_PER_REQUEST} ids`),
) {}

export class TagBody extends createZodDto(z.object({ name: tagNameSchema, color: tagColorSchema })) {}

export class TagRenameBody extends createZodDto(z.object({ old: tagNameSchema, new: tagNameSchema })) {}

export class TagNamesBody extends createZodDto(
  z.array(tagNameSchema).max(MAX_IDS_PER_REQUEST, `must hold at most ${MAX_IDS_PER_REQUEST} tags`),
) {}

/** The address book's guid in a path or query. Any string: an unknown guid is a 404, not a 400. */
export class GuidParams extends createZodDto(z.object({ guid: z.string().max(64) })) {}

export class PeersQuery extends createZodDto(
  z.object({
    ab: z.string({ error: 'ab (the address book guid) is required' }).max(64),
    current: z.string().optional(),
    pageSize: z.string().optional(),
  }),
) {}

export class PageQuery extends createZodDto(
  z.object({ current: z.string().optional(), pageSize: z.string().optional() }),
) {}

/** The legacy blob: `{data: "<JSON string>"}` (ab_model.dart pushAb, src/ui/ab.tis updateAb). */
export class LegacyBlobBody extends createZodDto(
  z.object({ data: z.string({ error: 'data must be a JSON string' }) }),
) {}

/** The inner JSON of the legacy blob. */
export const legacyBlobSchema = z.object({
  tags: z.array(tagNameSchema).max(MAX_IDS_PER_REQUEST).optional(),
  peers: z
    .array(
      z.object({
        id: peerIdSchema,
        hash: secret.optional(),
        username: text(255).optional(),
        hostname: text(255).optional(),
        platform: text(64).optional(),
        alias: text(255).optional(),
        tags: z.array(tagNameSchema).max(MAX_TAGS_PER_PEER).nullable().optional(),
      }),
    )
    .max(MAX_IDS_PER_REQUEST)
    .optional(),
  /** A JSON string of `{tag: colour}`. */
  tag_colors: z.string().optional(),
});

export type LegacyBlob = z.infer<typeof legacyBlobSchema>;

export const legacyTagColorsSchema = z.record(z.string(), tagColorSchema);
