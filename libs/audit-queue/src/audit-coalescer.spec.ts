import { AuditCoalescer } from './audit-coalescer';
import { type AuditJob, auditJobSchema } from './audit-job';

describe('AuditCoalescer', () => {
  let now: number;
  let jobs: AuditJob[];
  const make = (options: { maxKeys?: number } = {}) =>
    new AuditCoalescer((job) => jobs.push(job), {
      actorId: 'signal',
      windowMs: 60_000,
      now: () => now,
      ...options,
    });

  beforeEach(() => {
    now = Date.UTC(2025, 0, 1);
    jobs = [];
  });

  const refused = (deviceId: string, reason: 'banned' | 'pending' = 'banned', ip = '198.51.100.7') =>
    ({ action: 'device.registration_refused', deviceId, reason, ip }) as const;

  it('writes the first refusal at once and folds repeats into one entry per window with a count', () => {
    const coalescer = make();
    expect(coalescer.add(refused('123456789'))).toBe(true);
    for (let i = 0; i < 999; i++) {
      now += 10;
      expect(coalescer.add(refused('123456789', 'banned', `198.51.100.${i % 200}`))).toBe(false);
    }
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toEqual({
      v: 1,
      at: '2025-01-01T00:00:00.000Z',
      actorType: 'system',
      actorId: 'signal',
      action: 'device.registration_refused',
      targetType: 'device',
      targetId: '123456789',
      ip: '198.51.100.7',
      details: {
        reason: 'banned',
        count: 1,
        firstAt: '2025-01-01T00:00:00.000Z',
        lastAt: '2025-01-01T00:00:00.000Z',
      },
    });
    now = Date.UTC(2025, 0, 1) + 59_999;
    coalescer.tick();
    expect(jobs).toHaveLength(1);
    now += 1;
    coalescer.tick();
    expect(jobs).toHaveLength(2);
    expect(jobs[1]).toMatchObject({
      targetId: '123456789',
      ip: '198.51.100.198',
      details: {
        reason: 'banned',
        count: 999,
        firstAt: '2025-01-01T00:00:00.010Z',
        lastAt: '2025-01-01T00:00:09.990Z',
      },
    });
    // Everything it emits is a valid job.
    for (const job of jobs) expect(auditJobSchema.safeParse(job).success).toBe(true);
  });

  it('keeps one entry per window while a flood goes on, and forgets a quiet key', () => {
    const coalescer = make();
    coalescer.add(refused('111111'));
    for (let minute = 1; minute <= 3; minute++) {
      now += 30_000;
      coalescer.add(refused('111111'));
      coalescer.add(refused('111111'));
      now += 30_000;
      coalescer.tick();
    }
    expect(jobs.map((job) => (job.details as { count: number }).count)).toEqual([1, 2, 2, 2]);
    now += 60_000;
    coalescer.tick();
    expect(coalescer.size).toBe(0);
    coalescer.add(refused('111111'));
    expect(jobs).toHaveLength(5);
  });

  it('keys by device and reason', () => {
    const coalescer = make();
    coalescer.add(refused('111111', 'banned'));
    coalescer.add(refused('111111', 'pending'));
    coalescer.add(refused('222222', 'banned'));
    coalescer.add(refused('222222', 'banned'));
    expect(jobs.map((job) => [job.targetId, (job.details as { reason: string }).reason])).toEqual([
      ['111111', 'banned'],
      ['111111', 'pending'],
      ['222222', 'banned'],
    ]);
  });

  it('folds everything past the key cap into one overflow entry per reason', () => {
    const coalescer = make({ maxKeys: 3 });
    for (let i = 0; i < 100; i++) coalescer.add(refused(`10000${i}`));
    expect(jobs).toHaveLength(4);
    expect(jobs[3]).toMatchObject({ targetId: null, details: { count: 1, overflow: true } });
    now += 60_000;
    coalescer.tick();
    expect(jobs).toHaveLength(5);
    expect(jobs[4]).toMatchObject({ targetId: null, details: { count: 96, overflow: true } });
    // The quiet per-device windows closed; only the overflow one, still busy, stays open.
    expect(coalescer.size).toBe(1);
  });

  it('folds refusals of ids that cannot be stored into the overflow window', () => {
    const coalescer = make();
    coalescer.add(refused('not an id!'));
    coalescer.add(refused('x'.repeat(5000)));
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ targetId: null, details: { overflow: true, count: 1 } });
    coalescer.flushAll();
    expect(jobs[1]).toMatchObject({ targetId: null, details: { overflow: true, count: 1 } });
    for (const job of jobs) expect(auditJobSchema.safeParse(job).success).toBe(true);
  });

  it('coalesces relay refusals per client IP, keeping the last uuid and the devices seen', () => {
    const coalescer = make();
    const fact = (uuid: string, devices: string[] = []) =>
      ({ action: 'relay.session_refused', uuid, reason: 'no-ticket', ip: '203.0.113.9', devices }) as const;
    coalescer.add(fact('u-1'));
    coalescer.add(fact('u-2', ['123456']));
    coalescer.add(fact('u-3'));
    coalescer.flushAll();
    expect(jobs).toHaveLength(2);
    expect(jobs[1]).toMatchObject({
      action: 'relay.session_refused',
      targetType: 'relay_session',
      targetId: 'u-3',
      details: { reason: 'no-ticket', count: 2, devices: ['123456'] },
    });
    expect(coalescer.size).toBe(0);
  });

  it('writes link closures and relay session cuts one each, never folded', () => {
    const coalescer = make();
    const link = { action: 'device.link_closed', deviceId: '123456', reason: 'banned', ip: '::1' } as const;
    coalescer.add(link);
    coalescer.add(link);
    coalescer.add({ action: 'relay.session_closed_by_ban', uuid: 'abc', devices: ['123456', '654321'] });
    expect(jobs.map((job) => job.action)).toEqual([
      'device.link_closed',
      'device.link_closed',
      'relay.session_closed_by_ban',
    ]);
    expect(jobs[2]).toMatchObject({ targetId: 'abc', ip: null, details: { devices: ['123456', '654321'] } });
  });

  it('writes a device id change as one entry that the job schema accepts', () => {
    const coalescer = make();
    coalescer.add({
      action: 'device.id_changed',
      deviceId: '123456789',
      newId: 'office-pc',
      ip: '198.51.100.9',
    });
    expect(jobs).toEqual([
      expect.objectContaining({
        action: 'device.id_changed',
        targetType: 'device',
        targetId: '123456789',
        ip: '198.51.100.9',
        details: { newId: 'office-pc' },
      }),
    ]);
    expect(auditJobSchema.safeParse(jobs[0]).success).toBe(true);
  });
});

describe('auditJobSchema', () => {
  const valid = {
    v: 1,
    at: '2025-01-01T00:00:00.000Z',
    actorType: 'system',
    actorId: 'relay:node-1',
    action: 'relay.session_closed_by_ban',
    targetType: 'relay_session',
    targetId: 'f0e1d2c3-0000-4000-8000-000000000000',
    ip: null,
    details: { devices: ['123456'] },
  };

  it('accepts the data plane vocabulary', () => {
    expect(auditJobSchema.safeParse(valid).success).toBe(true);
  });

  it.each([
    ['a user actor', { actorType: 'user' }],
    ['an actor that is not signal or a relay', { actorId: 'mallory' }],
    ['an action outside the data plane vocabulary', { action: 'user.login' }],
    ['an unknown version', { v: 2 }],
    ['an extra field', { extra: 1 }],
    ['an extra detail', { details: { devices: [], note: 'x' } }],
    ['too many devices', { details: { devices: Array.from({ length: 33 }, () => '123456') } }],
    ['a malformed time', { at: 'yesterday' }],
  ])('refuses %s', (_label, change) => {
    expect(auditJobSchema.safeParse({ ...valid, ...change }).success).toBe(false);
  });
});
