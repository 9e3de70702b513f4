import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { issueSelfSignedCertificate } from './certificate-issuer';
import { certificateNames } from './certificate-pair';

// The certificate `TLS=self-signed npm start` serves (docs/tls.md "Self-signed quick start"): made
// once, kept beside the installation's other state, and made again only when it no longer fits.

export interface SelfSignedRequest {
  readonly certFile: string;
  readonly keyFile: string;
  /** DNS names and addresses the certificate must name. */
  readonly hosts: readonly string[];
  readonly days: number;
  /** A certificate expiring within this many days is replaced. */
  readonly renewWithinDays: number;
  readonly now?: Date;
}

export type SelfSignedOutcome =
  | { readonly action: 'kept'; readonly certificate: X509Certificate }
  | {
      readonly action: 'created' | 'replaced';
      readonly certificate: X509Certificate;
      readonly reason: string;
    };

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Keeps the pair at certFile/keyFile if it is whole, names every host and is not about to expire;
 * otherwise issues a new one. Each file appears whole under its name (written beside it, then
 * renamed), the key with mode 0600 from its first byte, so a service polling the files never reads
 * a half-written key nor one that others could read.
 */
export async function ensureSelfSignedPair(request: SelfSignedRequest): Promise<SelfSignedOutcome> {
  const existing = await readExisting(request);
  if (existing.certificate && existing.reason === undefined) {
    return { action: 'kept', certificate: existing.certificate };
  }
  const { certPem, keyPem } = await issueSelfSignedCertificate(request.hosts, request.days);
  await mkdir(dirname(request.certFile), { recursive: true });
  await mkdir(dirname(request.keyFile), { recursive: true });
  // The key first: until the certificate is swapped too the pair on disk does not match, which a
  // running service reports and rides out on its previous pair.
  await writeAtomically(request.keyFile, keyPem, 0o600);
  await writeAtomically(request.certFile, certPem, 0o644);
  const certificate = new X509Certificate(certPem);
  return existing.certificate
    ? { action: 'replaced', certificate, reason: existing.reason ?? 'unusable' }
    : { action: 'created', certificate, reason: existing.reason ?? 'missing' };
}

interface ExistingPair {
  readonly certificate?: X509Certificate;
  /** Why it must be replaced; undefined when it can stay. */
  readonly reason?: string;
}

async function readExisting(request: SelfSignedRequest): Promise<ExistingPair> {
  const [certPem, keyPem] = await Promise.all([
    readFile(request.certFile, 'utf8').catch(() => undefined),
    readFile(request.keyFile, 'utf8').catch(() => undefined),
  ]);
  if (certPem === undefined && keyPem === undefined) return { reason: 'missing' };
  let certificate: X509Certificate;
  try {
    if (certPem === undefined) return { reason: `${request.certFile} is missing` };
    certificate = new X509Certificate(certPem);
  } catch {
    return { reason: `${request.certFile} is not a PEM certificate` };
  }
  if (keyPem === undefined) return { certificate, reason: `${request.keyFile} is missing` };
  if (!keyMatches(certificate, keyPem)) {
    // E.g. a start stopped between the two renames: the new key beside the old certificate.
    return { certificate, reason: `${request.keyFile} is not the key of ${request.certFile}` };
  }
  const now = request.now ?? new Date();
  const renewAfter = new Date(certificate.validTo).getTime() - request.renewWithinDays * DAY_MS;
  if (renewAfter <= now.getTime()) {
    return { certificate, reason: `it expires on ${new Date(certificate.validTo).toISOString()}` };
  }
  const unnamed = request.hosts.filter((host) => !certificateNames(certificate, host));
  if (unnamed.length > 0) return { certificate, reason: `it does not name ${unnamed.join(', ')}` };
  return { certificate };
}

function keyMatches(certificate: X509Certificate, keyPem: string): boolean {
  try {
    return certificate.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

/** Writes a sibling temporary file with `mode`, syncs it and renames it over `path`. */
async function writeAtomically(path: string, text: string, mode: number): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  await rm(temporary, { force: true });
  // `wx` with the mode: the file is never readable by others, whatever the umask leaves.
  const handle = await open(temporary, 'wx', mode);
  try {
    await handle.chmod(mode); // the umask may have taken bits off the cert's 0644
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
