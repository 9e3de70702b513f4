import {
  BadRequestException,
  ConflictException,
  Inject,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import {
  type AuditAppendInput,
  StrategyNameTakenError,
  type StrategyRecord,
  StrategyRepository,
  type StrategyTarget,
} from '@switchboard/data-access';
import { type JsonObject } from '@switchboard/audit';

import { API_CLOCK } from '../app.tokens';
import { type Actor, actorAuditEntry } from '../auth/principal';
import { ChangeRunner, type Changes } from '../changes/change-runner';
import { type Repositories } from '../database/repositories';
import { type Clock } from '../time/clock';
import { EffectiveStrategies } from './effective-strategies';
import {
  type CreateStrategyBody,
  type StrategyTargetBody,
  type StrategyView,
  type UpdateStrategyBody,
} from './strategies.dto';

/**
 * Strategies (named client option sets) and their assignment to devices, users and device groups.
 * Every change is one audited ChangeRunner.run; a change to a strategy moves its `updated_at` and an
 * assignment its `assigned_at`, which is what makes the next heartbeat push it (docs/client-api.md §6).
 */
@Injectable()
export class StrategiesService {
  constructor(
    @Inject(StrategyRepository) private readonly strategies: Repositories['strategies'],
    @Inject(ChangeRunner) private readonly changes: Changes,
    private readonly effective: EffectiveStrategies,
    @Inject(API_CLOCK) private readonly clock: Clock,
  ) {}

  async list(): Promise<StrategyView[]> {
    return (await this.strategies.list()).map(strategyView);
  }

  async create(body: CreateStrategyBody, actor: Actor): Promise<StrategyView> {
    const created = await this.changes.run(async ({ strategies }) => {
      const strategy = await nameTaken(() =>
        strategies.create({
          name: body.name,
          note: body.note ?? null,
          options: body.options,
          at: this.clock.now(),
        }),
      );
      return {
        result: strategy,
        audit: [
          entry(actor, 'strategy.create', strategy.id, { name: strategy.name, options: strategy.options }),
        ],
      };
    });
    return strategyView(created);
  }

  async update(id: string, body: UpdateStrategyBody, actor: Actor): Promise<StrategyView> {
    const updated = await this.changes.run(async ({ strategies }) => {
      const before = await strategies.lock(id);
      if (before === null) throw new NotFoundException('Strategy not found');
      const after = await nameTaken(() =>
        strategies.update(id, { name: body.name, note: body.note, options: body.options }, this.clock.now()),
      );
      return {
        result: after,
        audit: [
          entry(actor, 'strategy.update', id, {
            name: after.name,
            ...(body.name !== undefined ? { renamedFrom: before.name } : {}),
            ...(body.options !== undefined ? { options: after.options } : {}),
          }),
        ],
      };
    });
    this.effective.invalidate();
    return strategyView(updated);
  }

  /** Deleting a strategy drops its assignments; devices keep the options they already applied. */
  async delete(id: string, actor: Actor): Promise<void> {
    await this.changes.run(async ({ strategies }) => {
      const strategy = await strategies.lock(id);
      if (strategy === null) throw new NotFoundException('Strategy not found');
      const assignments = await strategies.countAssignments(id);
      await strategies.delete(id);
      return {
        result: undefined,
        audit: [entry(actor, 'strategy.delete', id, { name: strategy.name, assignments })],
      };
    });
    this.effective.invalidate();
  }

  async assign(id: string, body: StrategyTargetBody, actor: Actor): Promise<void> {
    await this.changes.run(async (repositories) => {
      const strategy = await repositories.strategies.lock(id);
      if (strategy === null) throw new NotFoundException('Strategy not found');
      const target = await findTarget(repositories, body);
      const previous = await repositories.strategies.assignmentOf(target.target);
      await repositories.strategies.assign(id, target.target, this.clock.now());
      return {
        result: undefined,
        audit: [
          entry(actor, 'strategy.assign', id, {
            name: strategy.name,
            target: target.label,
            previousStrategyId: previous?.strategyId ?? null,
          }),
        ],
      };
    });
    this.effective.invalidate();
  }

  async unassign(id: string, body: StrategyTargetBody, actor: Actor): Promise<void> {
    await this.changes.run(async (repositories) => {
      const target = await findTarget(repositories, body);
      const current = await repositories.strategies.assignmentOf(target.target);
      if (current?.strategyId !== id)
        throw new NotFoundException('The strategy is not assigned to that target');
      await repositories.strategies.unassign(target.target);
      return { result: undefined, audit: [entry(actor, 'strategy.unassign', id, { target: target.label })] };
    });
    this.effective.invalidate();
  }
}

/** Resolves an operator's target names to row ids; an unknown name is the operator's mistake (400). */
async function findTarget(
  repositories: Repositories,
  body: StrategyTargetBody,
): Promise<{ target: StrategyTarget; label: JsonObject }> {
  if (body.device !== undefined) {
    const device = await repositories.devices.lock(body.device);
    if (device === null || device.deleted) throw new BadRequestException(['device: no such device']);
    return { target: { kind: 'device', rowId: device.rowId }, label: { device: body.device } };
  }
  if (body.user !== undefined) {
    const user = await repositories.devices.findUser(body.user);
    if (user === null) throw new BadRequestException(['user: no such user']);
    return { target: { kind: 'user', rowId: user.id }, label: { user: user.username } };
  }
  const group = await repositories.devices.findGroup(body.deviceGroup ?? '');
  if (group === null) throw new BadRequestException(['deviceGroup: no such device group']);
  return { target: { kind: 'device_group', rowId: group.id }, label: { deviceGroup: group.name } };
}

async function nameTaken<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof StrategyNameTakenError)
      throw new ConflictException('A strategy with that name exists');
    throw error;
  }
}

function strategyView(strategy: StrategyRecord): StrategyView {
  return {
    id: strategy.id,
    name: strategy.name,
    note: strategy.note,
    options: { ...strategy.options },
    createdAt: strategy.createdAt.toISOString(),
    updatedAt: strategy.updatedAt.toISOString(),
  };
}

function entry(actor: Actor, action: string, strategyId: string, details: JsonObject): AuditAppendInput {
  return actorAuditEntry(actor, action, { type: 'strategy', id: strategyId }, details);
}
