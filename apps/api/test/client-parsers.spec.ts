import {
  auditPostOutcome,
  ClientRejection,
  fetchAllPages,
  parseAbPeer,
  parseAbPersonal,
  parseAbProfile,
  parseAbTags,
  parseAbWrite,
  parseConnActive,
  parseCurrentUser,
  parseDeployAnswer,
  parseHeartbeatReply,
  parseLegacyAbGet,
  parseLoginAnswer,
  parseLoginOptions,
  parsePage,
  parsePeerPayload,
  parseRustUserPayload,
  parseSysinfoAnswer,
  parseUserPayload,
  parseUsersPage,
} from './client-parsers';

// The client-like parsers must refuse what the client refuses: one that accepts everything would
// make the contract suite (apps/api/src/client-api/client-contract.int-spec.ts) worthless.
const ok = (body: unknown, statusCode = 200) => ({
  statusCode,
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

describe('client parsers', () => {
  it('login: token, second factor and refusal; bad types and shapes throw', () => {
    const user = { name: 'a', display_name: null, email: null, status: 1, is_admin: false, info: {} };
    expect(parseLoginAnswer(ok({ type: 'access_token', access_token: 't', user }))).toMatchObject({
      kind: 'signed-in',
      user: { name: 'a', isAdmin: false, status: 'normal' },
    });
    expect(
      parseLoginAnswer(ok({ type: 'email_check', tfa_type: 'tfa_check', secret: 's', user })),
    ).toMatchObject({
      kind: 'second-factor',
      method: 'totp',
    });
    expect(parseLoginAnswer(ok({ type: 'email_check', secret: 's' }))).toMatchObject({ method: 'email' });
    expect(parseLoginAnswer(ok({ error: 'nope' }, 401))).toEqual({
      kind: 'refused',
      statusCode: 401,
      error: 'nope',
    });
    for (const bad of [
      ok({ type: 'tfa_check', secret: 's' }),
      ok({ type: 'email_check', tfa_type: 'sms' }),
      ok({ type: 'access_token' }),
      ok({ type: 'access_token', access_token: 't', user: { name: 5 } }),
      ok({ statusCode: 400, message: 'x' }, 400),
      ok('<html>', 502),
      ok([1], 200),
    ]) {
      expect(() => parseLoginAnswer(bad)).toThrow(ClientRejection);
    }
  });

  it('UserPayload (Dart) and the Rust OIDC user', () => {
    expect(parseUserPayload({ name: 'a', status: 0, is_admin: true }).status).toBe('disabled');
    expect(() => parseUserPayload({ name: 'a', email: 7 })).toThrow(ClientRejection);
    expect(() => parseUserPayload({ name: 'a', is_admin: 'true' })).toThrow(ClientRejection);
    expect(() => parseUserPayload({ name: 'a', status: '1' })).toThrow(ClientRejection);
    expect(parseRustUserPayload({ name: 'a', status: -1, info: {} })).toEqual({ name: 'a', isAdmin: false });
    expect(() => parseRustUserPayload({ name: 'a' })).toThrow(/info/);
    expect(() => parseRustUserPayload({ name: 'a', info: {}, status: 2 })).toThrow(/status/);
    expect(() => parseRustUserPayload({ name: 'a', info: { other: { k: 1 } } })).toThrow(ClientRejection);
    expect(() => parseRustUserPayload({ name: 'a', info: {}, is_admin: null })).toThrow(ClientRejection);
  });

  it('login options and currentUser', () => {
    expect(parseLoginOptions(ok(['oidc/github', 'x']))).toEqual([{ name: 'github' }]);
    expect(() => parseLoginOptions(ok([1]))).toThrow(ClientRejection);
    expect(() => parseLoginOptions(ok({}, 404))).toThrow(ClientRejection);
    expect(parseCurrentUser(ok({ error: 'Invalid token' }, 401))).toEqual({ kind: 'logged-out', wipe: true });
    expect(() => parseCurrentUser(ok({ error: 'x' }))).toThrow(ClientRejection);
  });

  it('AB peers: string forceAlwaysRelay and rdpPort, bool same_server, string tags', () => {
    const peer = { id: '1', tags: ['a'], forceAlwaysRelay: 'true', rdpPort: '3389', same_server: null };
    expect(parseAbPeer(peer)).toMatchObject({ forceAlwaysRelay: true, rdpPort: '3389', sameServer: null });
    for (const bad of [
      { ...peer, forceAlwaysRelay: true },
      { ...peer, rdpPort: 3389 },
      { ...peer, same_server: 'true' },
      { ...peer, tags: 'a' },
      { ...peer, tags: [1] },
      { ...peer, note: 5 },
      { ...peer, hostname: 5 },
    ]) {
      expect(() => parseAbPeer(bad)).toThrow(ClientRejection);
    }
  });

  it('AB tags: int colours up to 0xFFFFFFFF, never null; the list must be an array', () => {
    expect(parseAbTags(ok([{ name: 't', color: 4294967295 }]))).toEqual([{ name: 't', color: 4294967295 }]);
    for (const bad of [
      [{ name: 't', color: null }],
      [{ name: 't' }],
      [{ name: 't', color: '1' }],
      [{ name: 't', color: 2 ** 32 }],
      {},
    ]) {
      expect(() => parseAbTags(ok(bad))).toThrow(ClientRejection);
    }
  });

  it('AB personal, profiles and writes', () => {
    expect(parseAbPersonal(ok({}, 404))).toEqual({ legacy: true });
    expect(parseAbPersonal(ok({ guid: 'g' }))).toEqual({ legacy: false, guid: 'g' });
    expect(() => parseAbPersonal(ok('null'))).toThrow(ClientRejection);
    expect(() => parseAbPersonal(ok({ error: 'Bad Request', statusCode: 400 }, 400))).toThrow(
      ClientRejection,
    );
    expect(parseAbProfile({ guid: 'g', name: 'n', rule: 2, info: { password: 'p' } }).rule).toBe(2);
    expect(() => parseAbProfile({ guid: 'g', rule: '2' })).toThrow(ClientRejection);
    expect(() => parseAbWrite(ok(''))).not.toThrow();
    for (const bad of [ok({}), ok('null'), ok('', 201), ok({ error: 'x' }, 400)]) {
      expect(() => parseAbWrite(bad)).toThrow(ClientRejection);
    }
  });

  it('paging: data read only beside total, pages fetched while current*100 < total', async () => {
    expect(parsePage(ok({ data: [{ name: 'x' }] }), (x) => x, 'p')).toEqual({ total: undefined, items: [] });
    expect(() => parsePage(ok({ total: '1', data: [] }), (x) => x, 'p')).toThrow(ClientRejection);
    expect(() => parsePage(ok({ total: 1, data: {} }), (x) => x, 'p')).toThrow(ClientRejection);
    const all = Array.from({ length: 150 }, (_, i) => ({ name: `n${i}` }));
    const asked: number[] = [];
    const result = await fetchAllPages(
      (current) => {
        asked.push(current);
        return Promise.resolve(ok({ total: 150, data: all.slice((current - 1) * 100, current * 100) }));
      },
      (x) => x as { name: string },
      (x) => x.name,
      'p',
    );
    expect(asked).toEqual([1, 2]);
    expect(result.items).toHaveLength(150);
  });

  it('legacy AB, group tab payloads', () => {
    expect(parseLegacyAbGet(ok('null'))).toEqual({ tags: [], peers: [], tagColors: {} });
    const blob = { tags: ['t'], peers: [{ id: '1', tags: ['t'] }], tag_colors: JSON.stringify({ t: 1 }) };
    expect(parseLegacyAbGet(ok({ data: JSON.stringify(blob) }))?.tagColors).toEqual({ t: 1 });
    expect(() => parseLegacyAbGet(ok({ data: blob }))).toThrow(ClientRejection);
    expect(() =>
      parseLegacyAbGet(ok({ data: JSON.stringify({ ...blob, tag_colors: '{"t":"red"}' }) })),
    ).toThrow(ClientRejection);
    expect(
      parsePeerPayload({ id: '1', info: { os: 'ubuntu / Linux 22.04', device_name: 'h', username: 'u' } }),
    ).toMatchObject({ platform: 'Linux', hostname: 'h' });
    expect(() => parsePeerPayload({ id: '1', info: 'x' })).toThrow(ClientRejection);
    expect(() => parsePeerPayload({ id: '1', info: {}, status: '1' })).toThrow(ClientRejection);
    expect(() => parseUsersPage(ok({ error: 'Admin required!' }, 403))).toThrow(/upgrade/);
  });

  it('heartbeat, sysinfo, audit, conn/active, deploy', () => {
    expect(
      parseHeartbeatReply(
        '{"modified_at":5,"strategy":{"config_options":{"a":"N"},"extra":{}},"disconnect":[1]}',
      ),
    ).toMatchObject({ modifiedAt: 5, disconnect: [1], strategy: { configOptions: { a: 'N' } } });
    expect(parseHeartbeatReply('{"sysinfo":false}').sysinfoRequested).toBe(true);
    for (const bad of [
      '{"strategy":{"config_options":{"a":true}}}',
      '{"modified_at":"5"}',
      '{"disconnect":[2147483648]}',
      'OK',
    ]) {
      expect(() => parseHeartbeatReply(bad)).toThrow(ClientRejection);
    }
    expect(parseSysinfoAnswer('SYSINFO_UPDATED')).toBe('updated');
    expect(parseSysinfoAnswer('"SYSINFO_UPDATED"')).toBe('retry-in-120s');
    expect(auditPostOutcome(ok(' \n'))).toBe('stored');
    expect(auditPostOutcome(ok({}))).toBe('retried');
    expect(auditPostOutcome(ok('', 429))).toBe('retried');
    expect(auditPostOutcome(ok('', 503))).toBe('retried');
    expect(auditPostOutcome(ok({ error: 'x' }, 400))).toBe('dropped');
    expect(parseConnActive(ok('"g"'))).toEqual({ kind: 'guid', guid: 'g' });
    expect(parseConnActive(ok('""'))).toEqual({ kind: 'ask-again' });
    expect(parseConnActive(ok({}, 403))).toEqual({ kind: 'give-up' });
    expect(() => parseConnActive(ok({ guid: 'g' }))).toThrow(ClientRejection);
    expect(parseDeployAnswer('{"result":"ID_TAKEN"}').exitCode).toBe(6);
    expect(parseDeployAnswer('{"error":"x"}')).toMatchObject({ result: 'error', exitCode: 1 });
  });
});
