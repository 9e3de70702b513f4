import { stat } from 'node:fs/promises';
import { type SecureContext } from 'node:tls';

import { Counter, Gauge, type Logger, type Registry } from '@switchboard/observability';

import {
  type CertificateFiles,
  type CertificatePair,
  readCertificatePair,
  type PairReadingOptions,
} from './certificate-pair';

/** Start-up found the pair unusable: every problem, for the operator to fix in one go. */
export class TlsConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`TLS is not usable:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'TlsConfigError';
  }
}

export interface TlsCredentialsOptions extends PairReadingOptions {
  readonly files: CertificateFiles;
  readonly logger: Logger;
  readonly registry: Registry;
  /** How often the files are checked; 0 never (tests that reload by hand). */
  readonly reloadIntervalMs: number;
}

export type ReloadOutcome = 'unchanged' | 'reloaded' | 'failed';

/**
 * The certificate a service serves, re-read when its files change: a rename-over and a Kubernetes
 * Secret update (a `..data` symlink swap) both show as another inode, size or time on a stat that
 * follows links, which is why this polls rather than watching the path. A new pair that does not
 * work (half-written, key of another certificate) leaves the old one serving and raises
 * `switchboard_tls_certificate_reload_failed` until a good pair arrives. Listeners take the new
 * context through `onChange` (setSecureContext); connections already open keep theirs.
 */
export class TlsCredentials {
  private current: CertificatePair;
  private signature: string;
  private readonly listeners: ((context: SecureContext) => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<ReloadOutcome> | undefined;
  private readonly expiry: Gauge;
  private readonly reloadFailed: Gauge;
  private readonly reloads: Counter<'result'>;

  private constructor(
    private readonly options: TlsCredentialsOptions,
    first: CertificatePair,
    signature: string,
  ) {
    this.current = first;
    this.signature = signature;
    const { registry } = options;
    this.expiry = new Gauge({
      name: `switchboard_tls_certificate_expiry_timestamp_seconds`,
      help: 'When the certificate being served expires (Unix seconds); alert well before it.',
      registers: [registry],
    });
    this.reloadFailed = new Gauge({
      name: `switchboard_tls_certificate_reload_failed`,
      help: '1 while the certificate files on disk do not form a usable pair (the previous pair is still served).',
      registers: [registry],
    });
    this.reloads = new Counter({
      name: `switchboard_tls_certificate_reloads_total`,
      help: 'Certificate changes seen on disk, by result (reloaded or failed).',
      labelNames: ['result'],
      registers: [registry],
    });
    this.expiry.set(first.notAfter.getTime() / 1000);
    this.reloadFailed.set(0);
  }

  /** Reads the pair once; rejects with TlsConfigError listing every problem. Logs its warnings. */
  static async load(options: TlsCredentialsOptions): Promise<TlsCredentials> {
    const signature = await fileSignature(options.files);
    const reading = await readCertificatePair(options.files, options);
    if (!reading.ok) throw new TlsConfigError(reading.problems);
    for (const warning of reading.warnings) options.logger.warn(warning);
    const credentials = new TlsCredentials(options, reading.pair, signature ?? MISSING);
    options.logger.info(
      { subject: reading.pair.leaf.subject, notAfter: reading.pair.notAfter.toISOString() },
      'TLS certificate loaded',
    );
    return credentials;
  }

  get context(): SecureContext {
    return this.current.context;
  }

  get certificate(): CertificatePair {
    return this.current;
  }

  /** Called with each new context after a successful reload. */
  onChange(listener: (context: SecureContext) => void): void {
    this.listeners.push(listener);
  }

  /** Starts polling the files (unless the interval is 0). */
  start(): void {
    if (this.options.reloadIntervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.checkNow(), this.options.reloadIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Checks the files now; one check at a time. Never rejects. */
  checkNow(): Promise<ReloadOutcome> {
    this.checking ??= this.check().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async check(): Promise<ReloadOutcome> {
    const { logger, files } = this.options;
    try {
      const signature = await fileSignature(files);
      if (signature === this.signature) return 'unchanged';
      const reading = await readCertificatePair(files, this.options);
      if (!reading.ok) {
        // Counted once per change on disk; the next change (the other half arriving) is read again.
        this.reloadFailed.set(1);
        this.reloads.inc({ result: 'failed' });
        logger.error(
          { problems: reading.problems },
          'new TLS certificate files are not usable; still serving the previous pair',
        );
        this.signature = signature ?? MISSING;
        return 'failed';
      }
      this.signature = signature ?? MISSING;
      if (reading.pair.digest === this.current.digest) {
        this.reloadFailed.set(0);
        return 'unchanged';
      }
      for (const warning of reading.warnings) logger.warn(warning);
      this.current = reading.pair;
      this.expiry.set(reading.pair.notAfter.getTime() / 1000);
      this.reloadFailed.set(0);
      this.reloads.inc({ result: 'reloaded' });
      for (const listener of this.listeners) listener(reading.pair.context);
      logger.info(
        { subject: reading.pair.leaf.subject, notAfter: reading.pair.notAfter.toISOString() },
        'TLS certificate reloaded',
      );
      return 'reloaded';
    } catch (error) {
      logger.error({ err: error }, 'TLS certificate check failed');
      return 'failed';
    }
  }
}

const MISSING = 'missing';

/** What changes when either file is replaced, through any symlinks; undefined if one is missing. */
async function fileSignature(files: CertificateFiles): Promise<string | undefined> {
  try {
    const [cert, key] = await Promise.all([stat(files.certFile), stat(files.keyFile)]);
    return [cert, key]
      .map((info) => `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}:${info.mode}`)
      .join('|');
  } catch {
    return undefined;
  }
}
