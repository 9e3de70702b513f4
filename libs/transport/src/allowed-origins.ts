/**
 * WS_ALLOWED_ORIGINS for the signal and relay WebSocket ports. A browser always sends Origin on a
 * WebSocket upgrade, so a page on another site cannot open our port in a visitor's browser once the
 * list is set. A native RustDesk client sends none (hbb_common src/websocket.rs builds its request
 * with tungstenite's `into_client_request`, which adds no Origin), so an upgrade without one passes:
 * this guards against browsers, not against programs, which can write any header.
 */
export class AllowedOrigins {
  private readonly origins: ReadonlySet<string> | undefined;

  /** Origins as `scheme://host[:port]`, already validated; empty keeps every upgrade allowed. */
  constructor(origins: readonly string[]) {
    this.origins =
      origins.length === 0 ? undefined : new Set(origins.map((origin) => canonicalOrigin(origin)));
  }

  allows(origin: string | undefined): boolean {
    if (this.origins === undefined || origin === undefined) return true;
    return this.origins.has(canonicalOrigin(origin));
  }

  /** As `ws`'s verifyClient: a refused upgrade is answered 403 before any WebSocket exists. */
  readonly verifyUpgrade = (
    info: { origin?: string },
    done: (allowed: boolean, status?: number) => void,
  ): void => {
    done(this.allows(info.origin), 403);
  };
}

/** `HTTPS://Example.com:443/` → `https://example.com`; what is not a URL (e.g. `null`) stays as it is. */
export function canonicalOrigin(value: string): string {
  try {
    const origin = new URL(value).origin;
    return origin === 'null' ? value : origin;
  } catch {
    return value;
  }
}
