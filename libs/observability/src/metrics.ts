import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every series a Switchboard process exports starts with this, Node's defaults included, so one
 * `{__name__=~"switchboard_.*"}` finds them all. There is no `service` label: Prometheus tells
 * services apart by `job` and `instance`, and Prometheus-Operator writes a `service` label of its own.
 */
export const METRIC_PREFIX = 'switchboard_';

export interface BuildInfo {
  readonly version: string;
  /** The git commit the build came from, or `unknown` (an archive built outside a checkout). */
  readonly revision: string;
}

/**
 * One registry per service (not prom-client's global one, so tests can run several services in a
 * process), with Node's default metrics and `switchboard_build_info`.
 */
export function createMetricsRegistry(options: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  const build = readBuildInfo();
  new Gauge({
    name: `${METRIC_PREFIX}build_info`,
    help: 'Always 1; the labels say which build is running (version, git revision, Node.js version).',
    labelNames: ['version', 'revision', 'node_version'] as const,
    registers: [registry],
  }).set({ version: build.version, revision: build.revision, node_version: process.versions.node }, 1);
  return registry;
}

let cachedBuildInfo: BuildInfo | undefined;

/**
 * The version is the root package.json's, found by walking up from this file (it sits beside `dist/`
 * in every install: checkout, image, release archive). The revision is SWITCHBOARD_REVISION if set
 * (an image build passes it), else the one the build wrote to `dist/build-info.json`.
 */
export function readBuildInfo(): BuildInfo {
  if (cachedBuildInfo !== undefined) return cachedBuildInfo;
  let version = 'unknown';
  let revision = process.env['SWITCHBOARD_REVISION'] ?? 'unknown';
  for (let folder = __dirname; ; folder = dirname(folder)) {
    const builtRevision = readJson(join(folder, 'build-info.json'))?.['revision'];
    if (revision === 'unknown' && typeof builtRevision === 'string') revision = builtRevision;
    const manifest = readJson(join(folder, 'package.json'));
    if (manifest?.['name'] === 'switchboard' && typeof manifest['version'] === 'string') {
      version = manifest['version'];
      break;
    }
    if (dirname(folder) === folder) break;
  }
  cachedBuildInfo = { version, revision };
  return cachedBuildInfo;
}

function readJson(path: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
