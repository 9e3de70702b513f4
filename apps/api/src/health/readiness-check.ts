/** One dependency /readyz probes. `check` resolves when it is usable and throws when it is not. */
export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<void>;
}

export const READINESS_CHECKS = Symbol('ReadinessChecks');
