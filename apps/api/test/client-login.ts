import { type NestFastifyApplication } from '@nestjs/platform-fastify';

/** The body a desktop RustDesk client posts to /api/login (flutter/lib/common/hbbs/hbbs.dart LoginRequest). */
export function clientLoginBody(input: {
  username: string;
  password: string;
  id?: string;
  uuid?: string;
}): Record<string, unknown> {
  return {
    username: input.username,
    password: input.password,
    id: input.id ?? '123456789',
    uuid: input.uuid ?? 'NDVlYTFhNzQtNzQ0NS00NjM4LWI4YjAtZTk4ZjRmZWFkNTFj',
    autoLogin: true,
    type: 'account',
    deviceInfo: { os: 'linux', type: 'client', name: 'test-host' },
  };
}

/**
 * Logs a RustDesk client in through the real POST /api/login and returns its access token (for
 * users without 2FA). Throws with the answer when the login does not finish.
 */
export async function clientLogin(
  app: NestFastifyApplication,
  input: { username: string; password: string; id?: string; uuid?: string; ip?: string },
): Promise<string> {
  const response = await app.inject({
    method: 'POST',
    url: '/api/login',
    headers: { 'content-type': 'application/json' },
    payload: clientLoginBody(input),
    ...(input.ip === undefined ? {} : { remoteAddress: input.ip }),
  });
  const body = response.json<{ type?: string; access_token?: string }>();
  if (response.statusCode !== 200 || body.type !== 'access_token' || body.access_token === undefined) {
    throw new Error(`client login: ${response.statusCode} ${response.body}`);
  }
  return body.access_token;
}
