import { type NestFastifyApplication } from '@nestjs/platform-fastify';

import { JSON_HEADERS, openKitParts, startKitApp } from '../../test/device-test-kit';

// Postgres unreachable: client calls answer 503 {error} with Retry-After (the client retries), never
// a 500 or a made-up answer such as ID_NOT_FOUND.
describe('client device sync with Postgres down', () => {
  let kit: Awaited<ReturnType<typeof openKitParts>>;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    kit = await openKitParts('device-sync-outage');
    // Nothing listens on port 1: every query fails to connect.
    app = await startKitApp(kit, { DATABASE_URL: 'postgresql://nobody:nothing@127.0.0.1:1/none' });
  });

  afterAll(async () => {
    await app?.close();
    kit.redis.disconnect();
    await kit.prisma.$disconnect();
    await kit.database.drop();
  });

  it.each([
    ['/api/heartbeat', { id: '123456789', uuid: 'dXVpZA==', ver: 1004090, modified_at: 0 }],
    ['/api/sysinfo', { id: '123456789', uuid: 'dXVpZA==', hostname: 'h', version: '1.4.9' }],
  ])('%s answers 503 {error} with Retry-After', async (url, body) => {
    const response = await app.inject({
      method: 'POST',
      url,
      headers: JSON_HEADERS,
      payload: JSON.stringify(body),
    });
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBeDefined();
    expect(response.json()).toEqual({ error: expect.any(String) });
  });
});
