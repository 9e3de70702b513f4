import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Inject, Injectable } from '@nestjs/common';
import { decodeConnAuditRef, parsePublicKeyFile } from '@switchboard/crypto';
import { type Logger } from '@switchboard/observability';
import { Counter } from 'prom-client';

import { API_CLOCK, API_CONFIG, API_LOGGER } from '../app.tokens';
import { type ApiConfig } from '../config';
import { MetricsRegistry } from '../metrics/metrics.registry';
import { type Clock } from '../time/clock';

/** How often a missing key file is looked for again. */
const KEY_LOOK_AGAIN_MS = 60_000;

/** How old a reference may be: it is issued when the connection is set up, and posted right after. */
export const CONN_AUDIT_REF_MAX_AGE_MS = 10 * 60 * 1000;
/** Signal's clock may run ahead of ours by this much. */
export const CONN_AUDIT_REF_MAX_SKEW_MS = 60 * 1000;

export interface ControllingUser {
  readonly userId: string;
  readonly username: string;
}

export type ConnAuditRefOutcome = 'accepted' | 'malformed' | 'forged' | 'foreign' | 'stale' | 'no_key';

/**
 * Who was connecting, from the conn_audit_ref signal signed (libs/crypto/src/conn-audit-ref.ts). A
 * controlled device relays the reference but cannot make one, so this is the only way a client
 * report names a user. A reference that fails any check names nobody; the record is kept all the same.
 */
@Injectable()
export class ConnAuditRefVerifier {
  private signalPublicKey: Uint8Array | null;
  private readonly keyFile: string;
  /** When the missing key file may be looked for again (signal may start after the api). */
  private nextKeyLookAt = 0;
  private readonly outcomes: Counter<'outcome'>;

  constructor(
    @Inject(API_CONFIG) config: ApiConfig,
    @Inject(API_LOGGER) private readonly logger: Logger,
    @Inject(API_CLOCK) private readonly clock: Clock,
    metrics: MetricsRegistry,
  ) {
    this.keyFile = config.SIGNAL_PUBLIC_KEY_FILE ?? join(config.KEY_DIR, 'id_ed25519.pub');
    this.signalPublicKey =
      config.SIGNAL_PUBLIC_KEY === undefined
        ? readSignalKey(this.keyFile, logger, 'warn')
        : parsePublicKeyFile(config.SIGNAL_PUBLIC_KEY);
    this.nextKeyLookAt = clock.now().getTime() + KEY_LOOK_AGAIN_MS;
    this.outcomes = new Counter({
      name: 'switchboard_api_client_audit_conn_audit_ref_total',
      help: 'conn_audit_ref values in client audit records, by outcome (accepted, malformed, forged, foreign, stale, no_key)',
      labelNames: ['outcome'] as const,
      registers: [metrics.registry],
    });
  }

  /** The user a reference names, when signal signed it for this device recently; otherwise null. */
  verify(reference: string, reportingDeviceId: string): ControllingUser | null {
    const outcome = this.judge(reference, reportingDeviceId);
    this.outcomes.inc({ outcome: typeof outcome === 'string' ? outcome : 'accepted' });
    return typeof outcome === 'string' ? null : outcome;
  }

  private judge(reference: string, reportingDeviceId: string): ControllingUser | ConnAuditRefOutcome {
    if (this.signalPublicKey === null) this.lookForKeyAgain();
    if (this.signalPublicKey === null) return 'no_key';
    const claims = decodeConnAuditRef(reference, this.signalPublicKey);
    if (typeof claims === 'string') return claims;
    // A device must not pass off a reference another device received.
    if (claims.targetId !== reportingDeviceId) return 'foreign';
    const age = this.clock.now().getTime() - claims.issuedAt;
    if (age > CONN_AUDIT_REF_MAX_AGE_MS || age < -CONN_AUDIT_REF_MAX_SKEW_MS) return 'stale';
    return { userId: claims.userId, username: claims.username };
  }

  /** At most once a minute: a quick start or compose may bring signal's key up after the api. */
  private lookForKeyAgain(): void {
    const now = this.clock.now().getTime();
    if (now < this.nextKeyLookAt) return;
    this.nextKeyLookAt = now + KEY_LOOK_AGAIN_MS;
    this.signalPublicKey = readSignalKey(this.keyFile, this.logger, 'debug');
    if (this.signalPublicKey !== null) {
      this.logger.info({ component: 'client-audit', file: this.keyFile }, 'signal public key loaded');
    }
  }
}

function readSignalKey(file: string, logger: Logger, level: 'warn' | 'debug'): Uint8Array | null {
  try {
    return parsePublicKeyFile(readFileSync(file, 'utf8'));
  } catch (error) {
    // Audit must work without signal's key: records are then stored without their controlling user.
    logger[level](
      { component: 'client-audit', file, err: error },
      'signal public key unreadable: client audit records will not name the controlling user',
    );
    return null;
  }
}
