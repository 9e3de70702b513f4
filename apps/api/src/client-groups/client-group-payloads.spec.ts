import { clientPeerPayload, clientUserPayload } from './client-group-payloads';

// The JSON types flutter/lib/common/hbbs/hbbs.dart accepts: strings or null, `status` an int,
// `is_admin` a boolean. A wrong type makes the client throw and show an empty tab.
describe('group tab payloads', () => {
  const user = {
    id: '6f1c8d2e-0000-4000-8000-000000000001',
    username: 'rita',
    displayName: 'Rita R.',
    email: 'rita@example.com',
    note: 'on call',
    role: 'admin' as const,
  };

  it('names a user by login name, with status 1 and a boolean is_admin', () => {
    expect(clientUserPayload(user, true)).toEqual({
      name: 'rita',
      display_name: 'Rita R.',
      email: 'rita@example.com',
      note: 'on call',
      status: 1,
      is_admin: true,
    });
    expect(clientUserPayload({ ...user, role: 'pro' }, true).is_admin).toBe(false);
  });

  it('leaves email and note out unless they may be revealed', () => {
    const payload = clientUserPayload(user, false);
    expect(payload).not.toHaveProperty('email');
    expect(payload).not.toHaveProperty('note');
  });

  it("files a peer under its owner's login name and echoes the os string", () => {
    expect(
      clientPeerPayload({
        rustdeskId: '123456789',
        hostname: 'desk-1',
        os: 'Windows / 11 Pro',
        osUsername: 'rita',
        note: null,
        owner: { id: user.id, username: 'rita' },
        groupName: 'Lab',
      }),
    ).toEqual({
      id: '123456789',
      info: { device_name: 'desk-1', os: 'Windows / 11 Pro', username: 'rita' },
      status: 1,
      user: user.id,
      user_name: 'rita',
      device_group_name: 'Lab',
      note: null,
    });
  });

  it('answers null, never another type, for what a device did not report', () => {
    const payload = clientPeerPayload({
      rustdeskId: 'abc',
      hostname: null,
      os: null,
      osUsername: null,
      note: null,
      owner: null,
      groupName: null,
    });
    expect(payload.info).toEqual({ device_name: null, os: null, username: null });
    expect([payload.user, payload.user_name, payload.device_group_name]).toEqual([null, null, null]);
  });
});
