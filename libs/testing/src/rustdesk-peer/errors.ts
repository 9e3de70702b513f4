// Typed failures of the reference peer, so a test can tell "the server said nothing" from "the
// server closed on us" from "the server sent something a RustDesk client would reject".

/** An operation's deadline passed; `what` names the step that was waiting. */
export class PeerTimeoutError extends Error {
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
  ) {
    super(`${what}: no answer within ${timeoutMs} ms`);
    this.name = 'PeerTimeoutError';
  }
}

/** The link closed (or failed) while something still waited on it. */
export class LinkClosedError extends Error {
  constructor(
    readonly what: string,
    override readonly cause?: Error,
  ) {
    super(cause ? `${what}: link closed (${cause.message})` : `${what}: link closed`);
    this.name = 'LinkClosedError';
  }
}

/** The server sent bytes a RustDesk client would refuse (undecodable, unexpected, badly signed). */
export class PeerProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PeerProtocolError';
  }
}
