import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  encodeBase64,
  encodeConnAuditRef,
  encodePublicKeyFile,
  generateIdentityKeyPair,
} from '@switchboard/crypto';
import { createLogger } from '@switchboard/observability';

import { ManualClock } from '../../test/manual-clock';
import { type ApiConfig } from '../config';
import { MetricsRegistry } from '../metrics/metrics.registry';
import { ConnAuditRefVerifier } from './conn-audit-ref-verifier';

// Where the api gets signal's public key, and what happens while it has none.
describe('ConnAuditRefVerifier', () => {
  const signal = generateIdentityKeyPair();
  const clock = new ManualClock(new Date('2032-06-01T10:00:00Z'));
  const logger = createLogger({ name: 'verifier-test', level: 'silent' });
  const keyDir = mkdtempSync(join(tmpdir(), 'conn-audit-ref-'));

  afterAll(() => rmSync(keyDir, { recursive: true, force: true }));

  const referenceFor = (targetId: string) =>
    encodeConnAuditRef(
      {
        sessionId: randomUUID(),
        userId: 'user-1',
        username: 'alice',
        targetId,
        issuedAt: clock.now().getTime(),
      },
      signal.secretKey,
    );

  const verifierWith = (settings: Partial<ApiConfig>) =>
    new ConnAuditRefVerifier(
      { KEY_DIR: keyDir, ...settings } as ApiConfig,
      logger,
      clock,
      new MetricsRegistry(),
    );

  it('takes the key from SIGNAL_PUBLIC_KEY, with no file at all', () => {
    const verifier = verifierWith({
      SIGNAL_PUBLIC_KEY: encodeBase64(signal.publicKey),
      SIGNAL_PUBLIC_KEY_FILE: join(keyDir, 'absent.pub'),
    });
    expect(verifier.verify(referenceFor('123456789'), '123456789')).toEqual({
      userId: 'user-1',
      username: 'alice',
    });
    // Only for the device the reference was made for.
    expect(verifier.verify(referenceFor('123456789'), '999999999')).toBeNull();
  });

  it('names nobody while the key file is missing, and finds the file a minute after it appears', () => {
    const file = join(keyDir, 'late.pub');
    const verifier = verifierWith({ SIGNAL_PUBLIC_KEY_FILE: file });
    expect(verifier.verify(referenceFor('123456789'), '123456789')).toBeNull();

    writeFileSync(file, encodePublicKeyFile(signal.publicKey));
    clock.advance(30_000);
    expect(verifier.verify(referenceFor('123456789'), '123456789')).toBeNull();
    clock.advance(31_000);
    expect(verifier.verify(referenceFor('123456789'), '123456789')).toEqual({
      userId: 'user-1',
      username: 'alice',
    });
  });
});
