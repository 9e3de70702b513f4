// The metric names the shipped dashboard and alert rules (deploy/observability) query, so a test can
// check each against what the running services export on /metrics: a renamed metric otherwise leaves
// a panel empty and an alert silent without any error.
import { parse } from 'yaml';
import { z } from 'zod';

/** The files whose queries name Switchboard's metrics, relative to the repository root. */
export const OBSERVABILITY_FILES = {
  dashboards: ['deploy/observability/grafana/switchboard-fleet.json'],
  rules: [
    'deploy/observability/prometheus/switchboard-alerts.rules.yml',
    'deploy/observability/prometheus/tls-alerts.rules.yml',
  ],
} as const;

// A histogram or summary is exported as <name>_bucket, <name>_count and <name>_sum; /metrics
// declares it under <name> (`# TYPE <name> histogram`).
const SERIES_SUFFIX = /_(?:bucket|count|sum)$/;
const METRIC_NAME = /(?<![\w:])switchboard_[A-Za-z0-9_:]*[A-Za-z0-9]/g;

/** Base names of the `switchboard_*` metrics a PromQL expression reads, sorted and unique. */
export function metricNamesInExpression(expr: string): string[] {
  // Label values and strings ("...") may contain anything; only names outside them count.
  const code = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  const names = [...code.matchAll(METRIC_NAME)].map((match) => match[0].replace(SERIES_SUFFIX, ''));
  return [...new Set(names)].sort();
}

const Target = z.looseObject({ expr: z.string().optional() });
const Panel: z.ZodType<{ targets?: { expr?: string }[]; panels?: unknown[] }> = z.lazy(() =>
  z.looseObject({ targets: z.array(Target).optional(), panels: z.array(Panel).optional() }),
);
const Dashboard = z.looseObject({
  panels: z.array(Panel).default([]),
  templating: z
    .looseObject({
      list: z
        .array(
          z.looseObject({
            type: z.string(),
            query: z.union([z.string(), z.looseObject({ query: z.string().optional() })]).optional(),
          }),
        )
        .default([]),
    })
    .optional(),
});
type DashboardPanel = z.infer<typeof Panel>;

/** Every PromQL expression of a Grafana dashboard (JSON text): panel targets, nested rows included. */
export function dashboardExpressions(dashboardJson: string): string[] {
  const dashboard = Dashboard.parse(JSON.parse(dashboardJson));
  const walk = (panels: DashboardPanel[]): string[] =>
    panels.flatMap((panel) => [
      ...(panel.targets ?? []).flatMap((target) => (target.expr ? [target.expr] : [])),
      ...walk((panel.panels ?? []) as DashboardPanel[]),
    ]);
  return walk(dashboard.panels);
}

/** The queries of a dashboard's query variables (`label_values(metric, label)` and the like). */
export function dashboardVariableQueries(dashboardJson: string): string[] {
  const dashboard = Dashboard.parse(JSON.parse(dashboardJson));
  return (dashboard.templating?.list ?? [])
    .filter((variable) => variable.type === 'query')
    .flatMap((variable) => {
      const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
      return query ? [query] : [];
    });
}

const RuleFile = z.object({
  groups: z.array(
    z.object({
      name: z.string(),
      rules: z.array(z.looseObject({ expr: z.union([z.string(), z.number()]) })),
    }),
  ),
});

/** Every expression of a Prometheus rules file (YAML text), alerting and recording rules alike. */
export function ruleExpressions(rulesYaml: string): string[] {
  return RuleFile.parse(parse(rulesYaml)).groups.flatMap((group) =>
    group.rules.map((rule) => String(rule.expr)),
  );
}

/**
 * The base names of every `switchboard_*` metric the given dashboards (JSON text) and rules files
 * (YAML text) query, sorted and unique: what the running services must export.
 */
export function observabilityMetricNames(files: { dashboards: string[]; rules: string[] }): string[] {
  const expressions = [
    ...files.dashboards.flatMap((text) => [...dashboardExpressions(text), ...dashboardVariableQueries(text)]),
    ...files.rules.flatMap(ruleExpressions),
  ];
  return [...new Set(expressions.flatMap(metricNamesInExpression))].sort();
}
