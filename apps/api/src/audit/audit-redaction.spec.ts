import { detailsFor, REDACTED } from './audit-redaction';

describe('detailsFor', () => {
  const userUpdated = {
    username: 'alice',
    fields: ['email'],
    changes: { email: { from: 'a@example.com', to: 'b@example.com' } },
    userAgent: 'ua',
  };

  it('cuts users’ names and profile values for roles without user.view, and keeps the rest', () => {
    for (const role of ['viewer', 'operator', 'pro'] as const) {
      expect(detailsFor('user.updated', userUpdated, role)).toEqual({
        details: {
          username: REDACTED,
          fields: ['email'],
          changes: { email: { from: REDACTED, to: REDACTED } },
          userAgent: 'ua',
        },
        redacted: true,
      });
    }
    expect(detailsFor('user.updated', userUpdated, 'admin')).toEqual({
      details: userUpdated,
      redacted: false,
    });
  });

  it('cuts settings values without setting.view and typed usernames of auth entries without user.view', () => {
    expect(detailsFor('setting.changed', { old: 'open', new: 'token' }, 'operator').details).toEqual({
      old: REDACTED,
      new: REDACTED,
    });
    expect(
      detailsFor('auth.login_failed', { username: 'bob', reason: 'bad_password' }, 'viewer').details,
    ).toEqual({ username: REDACTED, reason: 'bad_password' });
  });

  it('leaves other actions, and details that are not objects, as they are', () => {
    const ban = { reason: 'lost laptop' };
    expect(detailsFor('device.ban', ban, 'viewer')).toEqual({ details: ban, redacted: false });
    expect(detailsFor('setting.changed', ['tampered'], 'viewer')).toEqual({
      details: ['tampered'],
      redacted: false,
    });
    expect(detailsFor('auth.logout', { sessionId: 's' }, 'viewer').redacted).toBe(false);
  });
});
