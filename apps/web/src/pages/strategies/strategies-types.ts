// TODO(schemas): replace by the generated `components['schemas']` types once console-schemas is merged.

/** apps/api/src/strategies/strategies.service.ts `StrategyView`. */
export interface StrategyView {
  readonly id: string;
  readonly name: string;
  readonly note: string | null;
  readonly options: Readonly<Record<string, string>>;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** GET /api/v1/strategies/option-keys */
export interface StrategyOptionKeys {
  readonly keys: readonly string[];
}

export type TargetKind = 'device' | 'user' | 'deviceGroup';
