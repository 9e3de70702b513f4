import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type Issuer, issueCertificate } from './certificate-issuer';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface ServerCertificateFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** The leaf followed by the CA, as TLS_CERT_FILE holds it. */
  readonly certPem: string;
  readonly keyPem: string;
}

export interface LeafOptions {
  /** Default: localhost and 127.0.0.1. */
  readonly hosts?: readonly string[];
  readonly notBefore?: Date;
  /** Default: a day from now. */
  readonly notAfter?: Date;
  /** Written into this folder of the CA's under this name (default `server`). */
  readonly name?: string;
}

/**
 * A certificate authority made for one test (any test may use it: libs/tls has no data access): its certificate is what the test's clients trust (`ca`),
 * its leaves are what the services under test serve. Files live in a temporary folder that
 * `dispose` removes; keys are written 0600, as the services demand.
 */
export class ThrowawayCa {
  private constructor(
    private readonly issuer: Issuer,
    readonly dir: string,
  ) {}

  static async create(): Promise<ThrowawayCa> {
    const issuer = await issueCertificate({
      name: 'CN=Switchboard test CA',
      hosts: [],
      authority: true,
      notAfter: new Date(Date.now() + 7 * DAY_MS),
    });
    return new ThrowawayCa(issuer, await mkdtemp(join(tmpdir(), 'switchboard-ca-')));
  }

  /** PEM to pass as `ca` to a client. */
  get certPem(): string {
    return this.issuer.certPem;
  }

  /** Issues a server certificate and writes it (with the CA after it) and its key. */
  async issueServer(options: LeafOptions = {}): Promise<ServerCertificateFiles> {
    const hosts = options.hosts ?? ['localhost', '127.0.0.1'];
    const leaf = await issueCertificate({
      name: `CN=${hosts[0] ?? 'server'}`,
      hosts,
      issuer: this.issuer,
      notBefore: options.notBefore,
      notAfter: options.notAfter ?? new Date(Date.now() + DAY_MS),
    });
    const name = options.name ?? 'server';
    const certPem = `${leaf.certPem}\n${this.issuer.certPem}\n`;
    const files = { certFile: join(this.dir, `${name}.crt`), keyFile: join(this.dir, `${name}.key`) };
    await writeFile(files.certFile, certPem);
    await writeFile(files.keyFile, leaf.keyPem, { mode: 0o600 });
    await chmod(files.keyFile, 0o600);
    return { ...files, certPem, keyPem: leaf.keyPem };
  }

  async dispose(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
