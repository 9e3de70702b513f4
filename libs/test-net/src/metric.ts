import { type Registry } from 'prom-client';

/** The sum of a metric's values whose labels include `labels`; 0 when there is none. */
export async function metric(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
  /** A histogram's `${name}_bucket`, `_sum` or `_count`; the metric's own samples by default. */
  series: string = name,
): Promise<number> {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  return values
    .filter((value) => ((value as { metricName?: string }).metricName ?? name) === series)
    .filter((value) =>
      Object.entries(labels).every(([key, expected]) => String(value.labels[key]) === expected),
    )
    .reduce((sum, value) => sum + value.value, 0);
}
