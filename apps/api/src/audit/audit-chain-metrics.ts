import { Gauge, type Registry } from '@switchboard/observability';

/** One completed background verification of the chain (audit-chain-monitor.ts). */
export interface ChainVerification {
  readonly ok: boolean;
  /** When the run finished, epoch seconds. */
  readonly finishedAt: number;
  readonly durationSeconds: number;
  /** Entries verified intact (up to the first break when broken). */
  readonly entries: number;
}

/**
 * The `switchboard_api_audit_chain_*` gauges. Each scrape asks `latest` for the newest verification
 * any replica completed; until there is one, every gauge is NaN (never 0, which would read as
 * "broken" or "1970").
 */
export function registerAuditChainMetrics(
  registry: Registry,
  latest: () => Promise<ChainVerification | null>,
): void {
  const gauge = (name: string, help: string, value: (run: ChainVerification) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const run = await latest();
        this.set(run === null ? Number.NaN : value(run));
      },
    });
  gauge(
    'switchboard_api_audit_chain_verified_ok',
    'Whether the last background verification found the audit chain intact (1) or broken (0); NaN before the first',
    (run) => (run.ok ? 1 : 0),
  );
  gauge(
    'switchboard_api_audit_chain_verified_timestamp_seconds',
    'When the last background verification of the audit chain finished (Unix seconds)',
    (run) => run.finishedAt,
  );
  gauge(
    'switchboard_api_audit_chain_verify_duration_seconds',
    'How long the last background verification of the audit chain took',
    (run) => run.durationSeconds,
  );
  gauge(
    'switchboard_api_audit_chain_entries',
    'Audit entries the last background verification checked (up to the first break)',
    (run) => run.entries,
  );
}
