import { checkReadiness } from './readiness';

describe('checkReadiness', () => {
  it('is ready when there are no checks or all pass', async () => {
    expect(await checkReadiness({})).toEqual({ ready: true, checks: {} });
    const report = await checkReadiness({ a: () => Promise.resolve(1), b: () => Promise.resolve() });
    expect(report.ready).toBe(true);
    expect(Object.keys(report.checks)).toEqual(['a', 'b']);
  });

  it('runs checks concurrently and bounds each one, reporting which failed and why', async () => {
    const started = Date.now();
    const report = await checkReadiness(
      {
        hung: () => new Promise(() => undefined),
        slowButFine: () => new Promise((resolve) => setTimeout(resolve, 50)),
        broken: () => Promise.reject(new Error('nope')),
      },
      { timeoutMs: 200 },
    );
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(report.ready).toBe(false);
    expect(report.checks['hung']).toMatchObject({ ok: false, error: 'timed out after 200 ms' });
    expect(report.checks['slowButFine']).toMatchObject({ ok: true });
    expect(report.checks['slowButFine']?.durationMs).toBeGreaterThanOrEqual(40);
    expect(report.checks['broken']).toMatchObject({ ok: false, error: 'nope' });
  });
});
