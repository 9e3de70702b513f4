import { type NestFastifyApplication } from '@nestjs/platform-fastify';

import { MetricsRegistry } from '../src/metrics/metrics.registry';

const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

type Labels = Readonly<Record<string, string>>;

/**
 * The value of one series as the app's registry would render it on the ops port's /metrics (`name` is
 * the sample's name: `..._count` or `..._bucket` for a histogram), or undefined when it has no such
 * series. `labels` must match the series' labels exactly.
 */
export async function metricSample(
  app: NestFastifyApplication,
  name: string,
  labels: Labels = {},
): Promise<number | undefined> {
  const samples = await metricSamples(app, name);
  return samples.find((sample) => sameLabels(sample.labels, labels))?.value;
}

/** Every series of sample `name` (see metricSample), by their labels. */
export async function metricSamples(
  app: NestFastifyApplication,
  name: string,
): Promise<{ labels: Labels; value: number }[]> {
  const registry = app.get(MetricsRegistry).registry;
  const candidates = [
    name,
    ...HISTOGRAM_SUFFIXES.filter((suffix) => name.endsWith(suffix)).map((suffix) =>
      name.slice(0, -suffix.length),
    ),
  ];
  const familyName = candidates.find((candidate) => registry.getSingleMetric(candidate) !== undefined);
  // Only this metric is collected: another's collect (the audit gauges read Redis) stays out of it.
  const family = familyName === undefined ? undefined : await registry.getSingleMetric(familyName)?.get();
  if (family === undefined) return [];
  const samples = family.values as { metricName?: string; labels: Record<string, unknown>; value: number }[];
  return samples
    .filter((sample) => (sample.metricName ?? family.name) === name)
    .map((sample) => ({
      labels: Object.fromEntries(Object.entries(sample.labels).map(([key, value]) => [key, String(value)])),
      value: sample.value,
    }));
}

function sameLabels(actual: Labels, expected: Labels): boolean {
  const keys = Object.keys(actual);
  return keys.length === Object.keys(expected).length && keys.every((key) => actual[key] === expected[key]);
}
