import { Inject, Injectable } from '@nestjs/common';
import {
  type StrategyAssignmentRecord,
  type StrategyOptions,
  StrategyRepository,
  type StrategySnapshot,
} from '@switchboard/data-access';

import { API_CLOCK } from '../app.tokens';
import { type Repositories } from '../database/repositories';
import { type Clock } from '../time/clock';

/** How long a replica serves its strategy snapshot before reloading it (changes elsewhere show within it). */
export const STRATEGY_SNAPSHOT_TTL_MS = 5_000;

/** What a heartbeat needs of a device to resolve its strategy. */
export interface StrategySubject {
  readonly rowId: string;
  readonly ownerId: string | null;
  readonly groupId: string | null;
}

export interface EffectiveStrategy {
  readonly strategyId: string;
  /** Milliseconds; changes whenever the strategy or the winning assignment does. */
  readonly modifiedAt: number;
  readonly options: StrategyOptions;
}

interface Resolved {
  readonly strategies: Map<string, { options: StrategyOptions; updatedAt: number }>;
  readonly byDevice: Map<string, StrategyAssignmentRecord>;
  readonly byUser: Map<string, StrategyAssignmentRecord>;
  readonly byGroup: Map<string, StrategyAssignmentRecord>;
  readonly loadedAt: number;
}

/**
 * Which strategy a device gets (device > user > device group), from an in-memory snapshot of every
 * strategy and assignment, so a heartbeat costs no query for it. The snapshot reloads in the
 * background after STRATEGY_SNAPSHOT_TTL_MS, and at once (awaited) after a change on this replica;
 * another replica's change shows within the TTL. Strategies are few and assignments one row per
 * target, so the snapshot stays small.
 */
@Injectable()
export class EffectiveStrategies {
  private current: Resolved | undefined;
  private loading: Promise<Resolved> | undefined;
  /** Bumped by invalidate(), so a load that started before a change cannot install its stale result. */
  private generation = 0;

  constructor(
    @Inject(StrategyRepository) private readonly strategies: Repositories['strategies'],
    @Inject(API_CLOCK) private readonly clock: Clock,
  ) {}

  async for(subject: StrategySubject): Promise<EffectiveStrategy | null> {
    const resolved = await this.resolved();
    const assignment =
      resolved.byDevice.get(subject.rowId) ??
      (subject.ownerId === null ? undefined : resolved.byUser.get(subject.ownerId)) ??
      (subject.groupId === null ? undefined : resolved.byGroup.get(subject.groupId));
    if (assignment === undefined) return null;
    const strategy = resolved.strategies.get(assignment.strategyId);
    if (strategy === undefined) return null;
    return {
      strategyId: assignment.strategyId,
      modifiedAt: Math.max(strategy.updatedAt, assignment.assignedAt.getTime()),
      options: strategy.options,
    };
  }

  /** After a committed change on this replica: the next lookup waits for a fresh snapshot. */
  invalidate(): void {
    this.generation += 1;
    this.current = undefined;
    this.loading = undefined;
  }

  private async resolved(): Promise<Resolved> {
    const current = this.current;
    if (current === undefined) return this.reload();
    if (this.clock.now().getTime() - current.loadedAt >= STRATEGY_SNAPSHOT_TTL_MS) {
      // Stale-while-revalidate: this heartbeat is answered from the old snapshot.
      this.reload().catch(() => undefined);
    }
    return current;
  }

  private reload(): Promise<Resolved> {
    if (this.loading !== undefined) return this.loading;
    const generation = this.generation;
    const loading = this.strategies.snapshot().then((snapshot) => {
      const resolved = resolve(snapshot, this.clock.now().getTime());
      if (generation === this.generation) this.current = resolved;
      return resolved;
    });
    this.loading = loading;
    const clear = (): void => {
      if (this.loading === loading) this.loading = undefined;
    };
    loading.then(clear, clear);
    return loading;
  }
}

function resolve(snapshot: StrategySnapshot, loadedAt: number): Resolved {
  const resolved: Resolved = {
    strategies: new Map(
      snapshot.strategies.map((strategy) => [
        strategy.id,
        { options: strategy.options, updatedAt: strategy.updatedAt.getTime() },
      ]),
    ),
    byDevice: new Map(),
    byUser: new Map(),
    byGroup: new Map(),
    loadedAt,
  };
  for (const assignment of snapshot.assignments) {
    const map =
      assignment.target.kind === 'device'
        ? resolved.byDevice
        : assignment.target.kind === 'user'
          ? resolved.byUser
          : resolved.byGroup;
    map.set(assignment.target.rowId, assignment);
  }
  return resolved;
}
