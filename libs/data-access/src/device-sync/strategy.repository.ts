import { Prisma, type PrismaClient } from '../generated/prisma/client';

/** Client options by key; every value a string (the client drops a strategy holding anything else). */
export type StrategyOptions = Readonly<Record<string, string>>;

export interface StrategyRecord {
  readonly id: string;
  readonly name: string;
  readonly note: string | null;
  readonly options: StrategyOptions;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export type StrategyTargetKind = 'device' | 'user' | 'device_group';

/** A target by its row id (devices.id, users.id, device_groups.id). */
export interface StrategyTarget {
  readonly kind: StrategyTargetKind;
  readonly rowId: string;
}

export interface StrategyAssignmentRecord {
  readonly strategyId: string;
  readonly target: StrategyTarget;
  readonly assignedAt: Date;
}

export interface StrategySnapshot {
  readonly strategies: readonly StrategyRecord[];
  readonly assignments: readonly StrategyAssignmentRecord[];
}

export class StrategyNameTakenError extends Error {
  constructor(readonly strategyName: string) {
    super(`A strategy named "${strategyName}" already exists`);
    this.name = 'StrategyNameTakenError';
  }
}

const UNIQUE_VIOLATION = 'P2002';
const TARGET_COLUMN = { device: 'deviceId', user: 'userId', device_group: 'deviceGroupId' } as const;

/** Strategies and their assignments (one strategy per target). Accepts the client or a transaction. */
export class StrategyRepository {
  constructor(private readonly db: PrismaClient | Prisma.TransactionClient) {}

  async list(): Promise<StrategyRecord[]> {
    return (await this.db.strategy.findMany({ orderBy: { name: 'asc' } })).map(toRecord);
  }

  async findByName(name: string): Promise<StrategyRecord | null> {
    const row = await this.db.strategy.findUnique({ where: { name } });
    return row === null ? null : toRecord(row);
  }

  /** Reads one strategy FOR UPDATE, so concurrent edits of it serialise. */
  async lock(id: string): Promise<StrategyRecord | null> {
    const [row] = await this.db.$queryRaw<{ id: string }[]>(
      Prisma.sql`SELECT id FROM strategies WHERE id = ${id}::uuid FOR UPDATE`,
    );
    if (row === undefined) return null;
    const found = await this.db.strategy.findUnique({ where: { id } });
    return found === null ? null : toRecord(found);
  }

  async create(input: { name: string; note: string | null; options: StrategyOptions; at: Date }) {
    try {
      const row = await this.db.strategy.create({
        data: {
          name: input.name,
          note: input.note,
          options: input.options,
          createdAt: input.at,
          updatedAt: input.at,
        },
      });
      return toRecord(row);
    } catch (error) {
      throw uniqueViolation(error) ? new StrategyNameTakenError(input.name) : error;
    }
  }

  async update(
    id: string,
    patch: { name?: string; note?: string | null; options?: StrategyOptions },
    at: Date,
  ): Promise<StrategyRecord> {
    try {
      const row = await this.db.strategy.update({ where: { id }, data: { ...patch, updatedAt: at } });
      return toRecord(row);
    } catch (error) {
      throw uniqueViolation(error) ? new StrategyNameTakenError(patch.name ?? '') : error;
    }
  }

  async delete(id: string): Promise<void> {
    await this.db.strategy.delete({ where: { id } });
  }

  async countAssignments(strategyId: string): Promise<number> {
    return this.db.strategyAssignment.count({ where: { strategyId } });
  }

  async assignmentOf(target: StrategyTarget): Promise<StrategyAssignmentRecord | null> {
    const row = await this.db.strategyAssignment.findUnique({ where: uniqueTarget(target) });
    return row === null ? null : { strategyId: row.strategyId, target, assignedAt: row.assignedAt };
  }

  /** Gives the target this strategy, replacing any it had; `assignedAt` moves so devices get a push. */
  async assign(strategyId: string, target: StrategyTarget, at: Date): Promise<void> {
    const column = TARGET_COLUMN[target.kind];
    await this.db.strategyAssignment.upsert({
      where: uniqueTarget(target),
      create: { strategyId, [column]: target.rowId, assignedAt: at },
      update: { strategyId, assignedAt: at },
    });
  }

  /** True when the target had an assignment. */
  async unassign(target: StrategyTarget): Promise<boolean> {
    const { count } = await this.db.strategyAssignment.deleteMany({
      where: { [TARGET_COLUMN[target.kind]]: target.rowId },
    });
    return count > 0;
  }

  /** Everything the heartbeat needs to resolve effective strategies, for an in-memory cache. */
  async snapshot(): Promise<StrategySnapshot> {
    const [strategies, assignments] = await Promise.all([
      this.db.strategy.findMany(),
      this.db.strategyAssignment.findMany(),
    ]);
    return {
      strategies: strategies.map(toRecord),
      assignments: assignments.flatMap((row) => {
        const target: StrategyTarget | null =
          row.deviceId !== null
            ? { kind: 'device', rowId: row.deviceId }
            : row.userId !== null
              ? { kind: 'user', rowId: row.userId }
              : row.deviceGroupId !== null
                ? { kind: 'device_group', rowId: row.deviceGroupId }
                : null;
        return target === null ? [] : [{ strategyId: row.strategyId, target, assignedAt: row.assignedAt }];
      }),
    };
  }
}

function toRecord(row: {
  id: string;
  name: string;
  note: string | null;
  options: Prisma.JsonValue;
  createdAt: Date;
  updatedAt: Date;
}): StrategyRecord {
  const options: Record<string, string> = {};
  if (row.options !== null && typeof row.options === 'object' && !Array.isArray(row.options)) {
    for (const [key, value] of Object.entries(row.options))
      if (typeof value === 'string') options[key] = value;
  }
  return {
    id: row.id,
    name: row.name,
    note: row.note,
    options,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function uniqueTarget(target: StrategyTarget): Prisma.StrategyAssignmentWhereUniqueInput {
  switch (target.kind) {
    case 'device':
      return { deviceId: target.rowId };
    case 'user':
      return { userId: target.rowId };
    case 'device_group':
      return { deviceGroupId: target.rowId };
  }
}

function uniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === UNIQUE_VIOLATION;
}
