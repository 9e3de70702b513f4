import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

import { type AuditCheckpoint } from '@switchboard/audit';
import { z } from '@switchboard/config';
import { type Redis } from 'ioredis';

import { cryptoRandom, type RandomSource } from '../random/random-source';

/** Where a checkpoint of the audit head is kept outside Postgres. */
export interface CheckpointStore {
  /** Named in verify's answer and its details. */
  readonly source: string;
  /** null when none was ever written; `unreadable` when something is there but it is not a checkpoint. */
  read(): Promise<AuditCheckpoint | 'unreadable' | null>;
  write(checkpoint: AuditCheckpoint): Promise<void>;
}

const hex = z.string().regex(/^([0-9a-f]{2})+$/);
const storedCheckpointSchema = z.strictObject({
  v: z.literal(1),
  seq: z.string().regex(/^\d{1,19}$/),
  hash: hex,
  firstHash: hex,
  at: z.iso.datetime(),
  keyId: z.string().min(1).max(32),
  mac: hex,
});

/** The one text form of a checkpoint: in the file, in Redis and in the log line. */
export function formatCheckpoint(checkpoint: AuditCheckpoint): string {
  return JSON.stringify({
    v: 1,
    seq: checkpoint.seq.toString(),
    hash: checkpoint.hash.toString('hex'),
    firstHash: checkpoint.firstHash.toString('hex'),
    at: checkpoint.at.toISOString(),
    keyId: checkpoint.keyId,
    mac: checkpoint.mac.toString('hex'),
  });
}

export function parseCheckpoint(text: string): AuditCheckpoint | 'unreadable' {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return 'unreadable';
  }
  const parsed = storedCheckpointSchema.safeParse(json);
  if (!parsed.success) return 'unreadable';
  const stored = parsed.data;
  return {
    seq: BigInt(stored.seq),
    hash: Buffer.from(stored.hash, 'hex'),
    firstHash: Buffer.from(stored.firstHash, 'hex'),
    at: new Date(stored.at),
    keyId: stored.keyId,
    mac: Buffer.from(stored.mac, 'hex'),
  };
}

export class FileCheckpointStore implements CheckpointStore {
  readonly source = 'file';

  constructor(
    private readonly path: string,
    private readonly random: RandomSource = cryptoRandom,
  ) {}

  async read(): Promise<AuditCheckpoint | 'unreadable' | null> {
    try {
      return parseCheckpoint(await readFile(this.path, 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  /** Temp file then rename: a crash never leaves half a checkpoint, which would read as tampering. */
  async write(checkpoint: AuditCheckpoint): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const temp = `${this.path}.${this.random.bytes(4).toString('hex')}.tmp`;
    await writeFile(temp, `${formatCheckpoint(checkpoint)}\n`, { mode: 0o600, flush: true });
    await rename(temp, this.path);
  }
}

export class RedisCheckpointStore implements CheckpointStore {
  readonly source = 'redis';

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
  ) {}

  async read(): Promise<AuditCheckpoint | 'unreadable' | null> {
    const text = await this.redis.get(this.key);
    return text === null ? null : parseCheckpoint(text);
  }

  async write(checkpoint: AuditCheckpoint): Promise<void> {
    await this.redis.set(this.key, formatCheckpoint(checkpoint));
  }
}

export function checkpointRedisKey(redisKeyPrefix: string): string {
  return `${redisKeyPrefix}:audit:checkpoint`;
}
