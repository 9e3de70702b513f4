import { encodeConnAuditRef } from '@switchboard/crypto';
import { decodeClientAccessToken, type EventVerifyKey } from '@switchboard/events';

// Who is connecting (docs/architecture.md "Who is connecting"): a logged-in client puts its access
// token in PunchHoleRequest.token and RequestRelay.token (rustdesk src/client.rs, only on a secured
// connection). Signal checks the api's signature on it, with no database call, and gives the
// controlled side a reference signed with its own identity key, which the device posts back in its
// audit record (src/server/connection.rs conn_audit_ref). A missing or bad token never stops a
// connection: the controlled side just gets no reference.

/** What became of the token in one request, for switchboard_signal_caller_tokens_total. */
export type CallerTokenOutcome = 'issued' | 'absent' | 'malformed' | 'forged' | 'expired' | 'disabled';

export interface ConnAuditRefPort {
  /** The reference for `targetId`, '' when none is issued; never throws. */
  issue(
    token: string,
    targetId: string,
    now: number,
  ): { readonly ref: string; readonly outcome: CallerTokenOutcome };
}

/** Without the events key or a signing key signal cannot vouch for anyone. */
export const NO_CONN_AUDIT_REFS: ConnAuditRefPort = {
  issue: (token) => ({ ref: '', outcome: token === '' ? 'absent' : 'disabled' }),
};

export class ConnAuditRefIssuer implements ConnAuditRefPort {
  constructor(
    /** The api's event key, the one the event subscriber already holds. */
    private readonly verifyKey: EventVerifyKey,
    /** Signal's identity secret key (64-byte Ed25519 secret), as for relay tickets. */
    private readonly secretKey: Uint8Array,
  ) {}

  issue(token: string, targetId: string, now: number): { ref: string; outcome: CallerTokenOutcome } {
    if (token === '') return { ref: '', outcome: 'absent' };
    const claims = decodeClientAccessToken(token, this.verifyKey, now);
    if (typeof claims === 'string') return { ref: '', outcome: claims };
    const ref = encodeConnAuditRef(
      {
        sessionId: claims.sessionId,
        userId: claims.userId,
        username: claims.username,
        targetId,
        issuedAt: now,
      },
      this.secretKey,
    );
    return { ref, outcome: 'issued' };
  }
}
