import { createHash, createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';

import { MODERN_TLS_OPTIONS } from './modern-tls';

export interface CertificateFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** A certificate and key that belong together, ready to serve. */
export interface CertificatePair {
  readonly context: SecureContext;
  /**
   * What `context` was made from: for a `tls.Server`/`https.Server`, whose default context (the one
   * for clients that send no SNI) can only be replaced through `server.setSecureContext(options)`.
   */
  readonly contextOptions: Readonly<SecureContextOptions>;
  /** The server certificate (the first in the chain file). */
  readonly leaf: X509Certificate;
  readonly notAfter: Date;
  /** SHA-256 of both files' bytes: tells a real change from a touch. */
  readonly digest: string;
}

export type PairReading =
  | { readonly ok: true; readonly pair: CertificatePair; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly problems: readonly string[] };

export interface PairReadingOptions {
  /** Host names or addresses clients dial: a certificate that names none of them gets a warning. */
  readonly publicHosts?: readonly string[];
  readonly now?: Date;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
// Group or other may write, other may read: what the key check refuses (a service user's own
// group may read, for Kubernetes' fsGroup mounts).
const OTHERS_MAY_READ = 0o004;

/**
 * Reads and checks a certificate/key pair, listing every problem (unreadable, not PEM, key of
 * another certificate, key readable by other users) and warning of what still serves but will
 * fail clients (expired, not yet valid, none of the public hosts named). Never includes key bytes
 * in a message.
 */
export async function readCertificatePair(
  files: CertificateFiles,
  options: PairReadingOptions = {},
): Promise<PairReading> {
  const problems: string[] = [];
  const certBytes = await readFile(files.certFile).catch((error: NodeJS.ErrnoException) => {
    problems.push(`TLS_CERT_FILE ${files.certFile}: cannot read (${error.code ?? error.message})`);
    return undefined;
  });
  const keyBytes = await readKeyFile(files.keyFile, problems);
  const chain = certBytes === undefined ? [] : parseChain(certBytes, files.certFile, problems);
  const key = keyBytes === undefined ? undefined : parseKey(keyBytes, files.keyFile, problems);
  const leaf = chain[0];
  if (leaf && key && !leaf.checkPrivateKey(key)) {
    problems.push(`TLS_KEY_FILE ${files.keyFile}: is not the key of the certificate in ${files.certFile}`);
  }
  if (problems.length > 0 || !leaf || !certBytes || !keyBytes) return { ok: false, problems };

  const contextOptions = { ...MODERN_TLS_OPTIONS, cert: certBytes, key: keyBytes };
  let context: SecureContext;
  try {
    context = createSecureContext(contextOptions);
  } catch (error) {
    return { ok: false, problems: [`TLS: the pair cannot be used: ${(error as Error).message}`] };
  }
  const notAfter = new Date(leaf.validTo);
  return {
    ok: true,
    pair: {
      context,
      contextOptions,
      leaf,
      notAfter,
      digest: createHash('sha256').update(certBytes).update(keyBytes).digest('hex'),
    },
    warnings: pairWarnings(leaf, files.certFile, options),
  };
}

async function readKeyFile(keyFile: string, problems: string[]): Promise<Buffer | undefined> {
  try {
    const info = await stat(keyFile);
    if ((info.mode & OTHERS_MAY_READ) !== 0) {
      const mode = (info.mode & 0o777).toString(8).padStart(3, '0');
      problems.push(
        `TLS_KEY_FILE ${keyFile}: is readable by every user (mode ${mode}); chmod 600 it (or 640 with the service's group)`,
      );
      return undefined;
    }
    return await readFile(keyFile);
  } catch (error) {
    problems.push(
      `TLS_KEY_FILE ${keyFile}: cannot read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
    return undefined;
  }
}

function parseChain(bytes: Buffer, file: string, problems: string[]): X509Certificate[] {
  const blocks = bytes.toString('latin1').match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    problems.push(`TLS_CERT_FILE ${file}: holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    return [];
  }
  const chain: X509Certificate[] = [];
  for (const [index, block] of blocks.entries()) {
    try {
      chain.push(new X509Certificate(block));
    } catch {
      problems.push(
        `TLS_CERT_FILE ${file}: certificate ${index + 1} of ${blocks.length} is not valid PEM/X.509`,
      );
    }
  }
  return chain;
}

function parseKey(bytes: Buffer, file: string, problems: string[]): KeyObject | undefined {
  try {
    return createPrivateKey(bytes);
  } catch {
    // The parser's message can quote the input; the key's bytes must never reach a log.
    problems.push(`TLS_KEY_FILE ${file}: is not an unencrypted PEM private key`);
    return undefined;
  }
}

function pairWarnings(leaf: X509Certificate, file: string, options: PairReadingOptions): string[] {
  const now = options.now ?? new Date();
  const warnings: string[] = [];
  const notAfter = new Date(leaf.validTo);
  const notBefore = new Date(leaf.validFrom);
  if (notAfter.getTime() <= now.getTime()) {
    warnings.push(`TLS_CERT_FILE ${file}: expired on ${notAfter.toISOString()}; clients will refuse it`);
  } else if (notBefore.getTime() > now.getTime()) {
    warnings.push(`TLS_CERT_FILE ${file}: not valid before ${notBefore.toISOString()}`);
  }
  const hosts = (options.publicHosts ?? []).filter((host) => host !== '');
  const unnamed = hosts.filter((host) => !certificateNames(leaf, host));
  if (unnamed.length > 0) {
    warnings.push(
      `TLS_CERT_FILE ${file}: names none of ${unnamed.join(', ')} in its subjectAltName (${leaf.subjectAltName ?? 'none'}); clients dialling it will refuse the certificate`,
    );
  }
  return warnings;
}

/** Does the certificate name this host (a DNS name, wildcards included, or an IP address)? */
export function certificateNames(leaf: X509Certificate, host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare) !== 0) return leaf.checkIP(bare) !== undefined;
  return leaf.checkHost(bare, { subject: 'never' }) !== undefined;
}
