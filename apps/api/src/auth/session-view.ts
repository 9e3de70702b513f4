import { type SessionRecord } from '@switchboard/data-access';
import { z } from 'zod';

import { isoTimestamp, responseSchema } from '../http/response-schemas';

/** A session as the operator API shows it: a console cookie or a RustDesk client's login. */
export const sessionViewSchema = responseSchema(
  'Session',
  z.object({
    id: z.uuid(),
    kind: z
      .enum(['browser', 'client'])
      .describe('`browser` (console) or `client` (RustDesk client, POST /api/login).'),
    current: z.boolean().describe('The session this request came with.'),
    rememberMe: z.boolean(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    client: z
      .object({
        id: z.string().nullable(),
        uuid: z.string().nullable(),
        os: z.string().nullable(),
        type: z.string().nullable(),
        name: z.string().nullable(),
      })
      .nullable()
      .describe('Client logins: the RustDesk id and the device as the client described it.'),
    createdAt: isoTimestamp,
    lastSeenAt: isoTimestamp,
    expiresAt: isoTimestamp,
  }),
);
export type SessionView = z.output<typeof sessionViewSchema>;

export const sessionListSchema = responseSchema(
  'SessionList',
  z.object({ sessions: z.array(sessionViewSchema) }),
);
export type SessionList = z.output<typeof sessionListSchema>;

export function sessionViewOf(session: SessionRecord, currentSessionId: string | undefined): SessionView {
  return {
    id: session.id,
    kind: session.kind,
    current: session.id === currentSessionId,
    rememberMe: session.rememberMe,
    ip: session.ip,
    userAgent: session.userAgent,
    client: session.client,
    createdAt: session.createdAt.toISOString(),
    lastSeenAt: session.lastSeenAt.toISOString(),
    expiresAt: session.expiresAt.toISOString(),
  };
}
