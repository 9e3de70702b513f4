import { createHash } from 'node:crypto';

import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { generateIdentityKeyPair, signDetached } from '@switchboard/crypto';

import { JSON_HEADERS, openKitParts } from '../../test/device-test-kit';
import { ManualClock } from '../../test/manual-clock';
import { startTestApp } from '../../test/api-test-harness';

// The desktop client's switch-sides grant (src/hbbs_http/sync.rs register_switch_grant): signed with
// the device's own key, answered {accepted} (with server_time for a clock to re-sign with).
describe('switch-sides grants', () => {
  const device = generateIdentityKeyPair();
  const stranger = generateIdentityKeyPair();
  const clock = new ManualClock(new Date('2032-07-01T09:00:00Z'));
  let parts: Awaited<ReturnType<typeof openKitParts>>;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    parts = await openKitParts('switch-grants');
    await parts.prisma.device.create({
      data: { rustdeskId: '123456789', pk: Buffer.from(device.publicKey) },
    });
    await parts.prisma.device.create({
      data: { rustdeskId: '987654321', pk: Buffer.from(device.publicKey), banned: true },
    });
    app = await startTestApp(
      { DATABASE_URL: parts.database.url, REDIS_KEY_PREFIX: parts.prefix, LOG_LEVEL: 'silent' },
      { clock },
    );
  });

  afterAll(async () => {
    await app?.close();
    const keys = await parts.redis.keys(`${parts.prefix}:*`);
    if (keys.length > 0) await parts.redis.del(...keys);
    parts.redis.disconnect();
    await parts.prisma.$disconnect();
    await parts.database.drop();
  });

  const b64sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('base64');
  /** As the client derives it from the switch uuid. */
  const verifierFor = (switchUuid: string) =>
    b64sha256(Buffer.concat([Buffer.from('switch-grant-verifier\0'), Buffer.from(b64sha256(switchUuid))]));

  function grantBody(id: string, verifier: string, timestamp: string, secretKey = device.secretKey) {
    const signature = signDetached(Buffer.from(`switch-grant\0${id}\0${verifier}\0${timestamp}`), secretKey);
    return { id, switch_code_verifier: verifier, timestamp, signature: signature.toString('base64') };
  }

  const post = (payload: unknown) =>
    app.inject({
      method: 'POST',
      url: '/api/switch-grant',
      headers: JSON_HEADERS,
      payload: payload as object,
    });
  const nowSeconds = () => String(Math.floor(clock.now().getTime() / 1000));

  it('accepts a grant the device signed, and keeps it under its verifier for a few minutes', async () => {
    const verifier = verifierFor('1b4e28ba-2fa1-11d2-883f-0016d3cca427');
    const response = await post(grantBody('123456789', verifier, nowSeconds()));
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ accepted: true });
    const stored = await parts.redis.get(`${parts.prefix}:switch-grant:${verifier}`);
    expect(JSON.parse(stored ?? '{}')).toMatchObject({ deviceId: '123456789' });
    const audit = await parts.prisma.auditEntry.findMany({ where: { action: 'device.switch_grant' } });
    expect(audit).toEqual([expect.objectContaining({ actorType: 'device', actorId: '123456789' })]);
    const ttl = await parts.redis.ttl(`${parts.prefix}:switch-grant:${verifier}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(300);
  });

  it('answers a skewed clock with server_time, and the re-signed grant is accepted', async () => {
    const verifier = verifierFor('skewed');
    const skewed = await post(grantBody('123456789', verifier, String(Number(nowSeconds()) - 3_600)));
    expect(skewed.json()).toEqual({ accepted: false, server_time: Number(nowSeconds()) });
    const retried = await post(grantBody('123456789', verifier, String(skewed.json().server_time)));
    expect(retried.json()).toEqual({ accepted: true });
  });

  it('refuses a grant signed by another key, for an unknown or banned device, stored nowhere', async () => {
    const verifier = verifierFor('forged');
    for (const body of [
      grantBody('123456789', verifier, nowSeconds(), stranger.secretKey),
      grantBody('111111111', verifier, nowSeconds()),
      grantBody('987654321', verifier, nowSeconds()),
    ]) {
      const response = await post(body);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ accepted: false });
    }
    // A signature over another verifier does not carry over.
    const other = grantBody('123456789', verifierFor('other'), nowSeconds());
    expect((await post({ ...other, switch_code_verifier: verifier })).json()).toEqual({ accepted: false });
    expect(await parts.redis.get(`${parts.prefix}:switch-grant:${verifier}`)).toBeNull();
  });

  it('answers bad input with {error}', async () => {
    for (const body of [
      {},
      { id: '123456789' },
      { ...grantBody('123456789', 'x', nowSeconds()), timestamp: 12 },
    ]) {
      const response = await post(body);
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({ error: expect.any(String) });
    }
  });
});
