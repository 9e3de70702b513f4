import { JwtService } from '@nestjs/jwt';

import { ManualClock } from '../../test/manual-clock';
import { type ApiConfig } from '../config';
import { AccessTokens, jwtOptionsFor } from './access-tokens';

const SECRET = 'a test jwt secret of reasonable length, 0123456789';
const USER = { id: '0a0a0a0a-0000-4000-8000-000000000001' };
const FAMILY = '0a0a0a0a-0000-4000-8000-00000000000f';
const config = { ACCESS_TOKEN_TTL_SECONDS: 900 } as ApiConfig;

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('AccessTokens', () => {
  const clock = new ManualClock(new Date('2030-01-01T00:00:00Z'));
  const tokens = new AccessTokens(new JwtService(jwtOptionsFor(SECRET)), config, clock);
  const nowMs = () => clock.now().getTime();
  const claims = () => ({ typ: 'access', iat: Math.floor(nowMs() / 1000), iat_ms: nowMs() });

  it('verifies what it issued, with its claims', async () => {
    const token = await tokens.issueAccessToken(USER, FAMILY);
    await expect(tokens.verify(token, 'access')).resolves.toMatchObject({
      sub: USER.id,
      issuedAtMs: nowMs(),
    });
  });

  it('names the refresh family in access tokens and a unique id in mfa tokens', async () => {
    const access = await tokens.verify(await tokens.issueAccessToken(USER, FAMILY), 'access');
    expect(access.familyId).toBe(FAMILY);
    const first = await tokens.verify(await tokens.issueMfaToken(USER), 'mfa');
    const second = await tokens.verify(await tokens.issueMfaToken(USER), 'mfa');
    expect(first.tokenId).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.tokenId).not.toBe(first.tokenId);
  });

  it('verifies tokens signed with the secret as a string (as before the key was a KeyObject)', async () => {
    const legacy = new JwtService({ secret: SECRET });
    const token = await legacy.signAsync(claims(), {
      subject: USER.id,
      expiresIn: 900,
      algorithm: 'HS256',
      issuer: 'switchboard',
    });
    await expect(tokens.verify(token, 'access')).resolves.toMatchObject({ sub: USER.id });
  });

  it('refuses another secret, another algorithm, alg none, another issuer, the other purpose and expiry', async () => {
    const signWith = (secret: string, algorithm: 'HS256' | 'HS512', issuer = 'switchboard') =>
      new JwtService({ secret }).signAsync(claims(), { subject: USER.id, expiresIn: 900, algorithm, issuer });
    const unsigned = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({
      ...claims(),
      sub: USER.id,
      iss: 'switchboard',
      exp: Math.floor(nowMs() / 1000) + 900,
    })}.`;
    const bad = [
      await signWith('some other secret', 'HS256'),
      await signWith(SECRET, 'HS512'),
      await signWith(SECRET, 'HS256', 'someone-else'),
      unsigned,
      await tokens.issueMfaToken(USER),
      'not.a.token',
    ];
    for (const token of bad)
      await expect(tokens.verify(token, 'access')).rejects.toThrow('Invalid or expired token');

    const token = await tokens.issueAccessToken(USER, FAMILY);
    clock.advanceSeconds(901);
    await expect(tokens.verify(token, 'access')).rejects.toThrow('Invalid or expired token');
  });
});
