import { type Redis } from 'ioredis';

import { connectIfLazy } from './lazy-connect';
import { type RelayRecordKey } from './relay-record-key';
import {
  NODE_ID_PATTERN,
  type RegistryKeys,
  type RelayNodeRecord,
  relayNodeRecordSchema,
} from './registry-layout';

export interface ListedRelayNode {
  readonly record: RelayNodeRecord;
  /** What was left of the record's TTL when it was read. */
  readonly remainingMs: number;
}

export interface MalformedRelayNode {
  readonly nodeId: string;
  readonly reason: string;
  /** The stored value, cut short, for the log. */
  readonly raw?: string;
}

export interface RelayNodeListing {
  readonly nodes: readonly ListedRelayNode[];
  readonly malformed: readonly MalformedRelayNode[];
}

// Drops an id from the index only if its record is still gone when the script runs: between our
// GET and this call the node may have re-announced, and removing it then would hide a live node.
const PRUNE_SCRIPT = `
if redis.call('EXISTS', KEYS[2]) == 0 then return redis.call('SREM', KEYS[1], ARGV[1]) end
return 0
`;

interface PruningRedis extends Redis {
  pruneRelayNode(indexKey: string, nodeKey: string, nodeId: string): Promise<number>;
}

const RAW_PREVIEW_CHARS = 200;

/** The node half of the registry's Redis I/O; announcer and picker add the timing around it. */
export class RelayNodeDirectory {
  private readonly redis: PruningRedis;

  constructor(
    redis: Redis,
    private readonly keys: RegistryKeys,
    private readonly recordKey: RelayRecordKey,
  ) {
    this.redis = redis as PruningRedis;
    if (typeof this.redis.pruneRelayNode !== 'function') {
      this.redis.defineCommand('pruneRelayNode', { numberOfKeys: 2, lua: PRUNE_SCRIPT });
    }
  }

  async publish(record: RelayNodeRecord, ttlMs: number): Promise<void> {
    const valid = relayNodeRecordSchema.parse(record);
    await connectIfLazy(this.redis);
    await this.redis
      .multi()
      .set(
        this.keys.node(valid.nodeId),
        this.recordKey.seal(valid.nodeId, JSON.stringify(valid)),
        'PX',
        ttlMs,
      )
      .sadd(this.keys.nodeIndex, valid.nodeId)
      .exec()
      .then(throwOnCommandError);
  }

  async remove(nodeId: string): Promise<void> {
    await connectIfLazy(this.redis);
    await this.redis
      .multi()
      .del(this.keys.node(nodeId))
      .srem(this.keys.nodeIndex, nodeId)
      .exec()
      .then(throwOnCommandError);
  }

  /** Every live record; bad ones are reported in `malformed`, never thrown. Rejects if Redis fails. */
  async list(): Promise<RelayNodeListing> {
    await connectIfLazy(this.redis);
    const ids = await this.redis.smembers(this.keys.nodeIndex);
    const malformed: MalformedRelayNode[] = [];
    const queried = ids.filter((id) => {
      if (NODE_ID_PATTERN.test(id)) return true;
      malformed.push({ nodeId: id.slice(0, 130), reason: 'node id in the index is not a valid node id' });
      return false;
    });
    if (queried.length === 0) return { nodes: [], malformed };

    const transaction = this.redis.multi();
    for (const id of queried) transaction.get(this.keys.node(id)).pttl(this.keys.node(id));
    const replies = throwOnCommandError(await transaction.exec(), { allowPerCommandErrors: true });

    const nodes: ListedRelayNode[] = [];
    const lapsed: string[] = [];
    queried.forEach((nodeId, index) => {
      const [valueError, value] = replies[index * 2] ?? [null, null];
      const [, remaining] = replies[index * 2 + 1] ?? [null, -2];
      if (valueError) {
        malformed.push({ nodeId, reason: valueError.message });
      } else if (typeof value !== 'string' || remaining === -2) {
        lapsed.push(nodeId);
      } else {
        const problem = checkRecord(this.recordKey, nodeId, value, remaining);
        if (typeof problem === 'string') {
          malformed.push({ nodeId, reason: problem, raw: value.slice(0, RAW_PREVIEW_CHARS) });
        } else {
          nodes.push(problem);
        }
      }
    });
    await Promise.all(
      lapsed.map((nodeId) => this.redis.pruneRelayNode(this.keys.nodeIndex, this.keys.node(nodeId), nodeId)),
    );
    return { nodes, malformed };
  }
}

/** A listed node, or why the stored value is not one. */
function checkRecord(
  recordKey: RelayRecordKey,
  nodeId: string,
  value: string,
  remaining: unknown,
): ListedRelayNode | string {
  // A record without a TTL would never lapse, so a dead relay would be handed out forever.
  if (typeof remaining !== 'number' || remaining <= 0) return 'record has no TTL';
  // Checked before anything in it is believed: only signal and the relays hold the key.
  const opened = recordKey.open(nodeId, value);
  if ('problem' in opened) return opened.problem;
  let json: unknown;
  try {
    json = JSON.parse(opened.recordJson);
  } catch {
    return 'record is not JSON';
  }
  const parsed = relayNodeRecordSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return `record does not match the schema: ${issue ? `${issue.path.join('.')} ${issue.message}` : ''}`;
  }
  if (parsed.data.nodeId !== nodeId) return `record names node "${parsed.data.nodeId}"`;
  return { record: parsed.data, remainingMs: remaining };
}

type ExecReplies = Array<[error: Error | null, result: unknown]>;

function throwOnCommandError(
  replies: ExecReplies | null,
  options: { allowPerCommandErrors?: boolean } = {},
): ExecReplies {
  if (replies === null) throw new Error('Redis transaction was aborted');
  if (!options.allowPerCommandErrors) {
    const failed = replies.find(([error]) => error !== null);
    if (failed?.[0]) throw failed[0];
  }
  return replies;
}
