import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import {
  OBSERVABILITY_FILES,
  dashboardExpressions,
  metricNamesInExpression,
  observabilityMetricNames,
  ruleExpressions,
} from './observability-metric-names';

const repoRoot = resolve(__dirname, '../../..');

describe('metricNamesInExpression', () => {
  it('reduces histogram series to the name /metrics declares', () => {
    expect(
      metricNamesInExpression(
        'histogram_quantile(0.99, sum by (le) (rate(switchboard_api_http_request_duration_seconds_bucket[5m])))' +
          ' / sum(rate(switchboard_api_http_request_duration_seconds_count[5m]))' +
          ' + sum(rate(switchboard_api_http_request_duration_seconds_sum[5m]))',
      ),
    ).toEqual(['switchboard_api_http_request_duration_seconds']);
  });

  it('keeps counters whole and lists each name once, sorted', () => {
    expect(
      metricNamesInExpression(
        'rate(switchboard_relay_bytes_total[1m]) + on() switchboard_relay_sessions_open / switchboard_relay_bytes_total',
      ),
    ).toEqual(['switchboard_relay_bytes_total', 'switchboard_relay_sessions_open']);
  });

  it('ignores label values, strings and names that merely contain the prefix', () => {
    expect(
      metricNamesInExpression(
        'up{job="switchboard_not_a_metric", x=\'switchboard_nor_this\'} + my_switchboard_thing + `switchboard_raw`',
      ),
    ).toEqual([]);
    expect(metricNamesInExpression('{__name__="switchboard_named"}')).toEqual([]);
  });

  it('reads a name with a label selector, an offset or a range', () => {
    expect(
      metricNamesInExpression(
        'switchboard_signal_peers_online{job=~"$job"} offset 5m - switchboard_events_gaps_total[5m:1m]',
      ),
    ).toEqual(['switchboard_events_gaps_total', 'switchboard_signal_peers_online']);
  });
});

describe('dashboardExpressions and ruleExpressions', () => {
  it('find targets in panels and in the panels of collapsed rows', () => {
    const dashboard = JSON.stringify({
      panels: [
        { type: 'timeseries', targets: [{ expr: 'switchboard_a' }, { refId: 'B' }] },
        { type: 'row', panels: [{ type: 'stat', targets: [{ expr: 'switchboard_b_bucket' }] }] },
      ],
      templating: { list: [{ type: 'query', query: { query: 'label_values(switchboard_c, job)' } }] },
    });
    expect(dashboardExpressions(dashboard)).toEqual(['switchboard_a', 'switchboard_b_bucket']);
    expect(observabilityMetricNames({ dashboards: [dashboard], rules: [] })).toEqual([
      'switchboard_a',
      'switchboard_b',
      'switchboard_c',
    ]);
  });

  it('read alerting and recording rules, and not their annotations', () => {
    const rules = [
      'groups:',
      '  - name: g',
      '    rules:',
      '      - alert: A',
      '        expr: switchboard_x == 0',
      '        annotations: { description: see switchboard_not_queried }',
      '      - record: job:switchboard_y:rate5m',
      '        expr: sum by (job) (rate(switchboard_y_total[5m]))',
    ].join('\n');
    expect(ruleExpressions(rules)).toEqual([
      'switchboard_x == 0',
      'sum by (job) (rate(switchboard_y_total[5m]))',
    ]);
    expect(observabilityMetricNames({ dashboards: [], rules: [rules] })).toEqual([
      'switchboard_x',
      'switchboard_y_total',
    ]);
  });
});

describe('the shipped dashboard and rules', () => {
  const names = observabilityMetricNames({
    dashboards: OBSERVABILITY_FILES.dashboards.map((file) => readFileSync(join(repoRoot, file), 'utf8')),
    rules: OBSERVABILITY_FILES.rules.map((file) => readFileSync(join(repoRoot, file), 'utf8')),
  });

  it('query metrics of every service and of the shared libraries, by their base names', () => {
    expect(names).toEqual(
      expect.arrayContaining([
        'switchboard_api_http_request_duration_seconds',
        'switchboard_events_apply_lag_seconds',
        'switchboard_relay_sessions_open',
        'switchboard_signal_peers_online',
        'switchboard_tls_certificate_expiry_timestamp_seconds',
        'switchboard_build_info',
      ]),
    );
    expect(names.filter((name) => /_(bucket|count|sum)$/.test(name))).toEqual([]);
  });
});
