import { type webcrypto } from 'node:crypto';
import { isIP } from 'node:net';

// Makes certificates: the self-signed one `TLS=self-signed` starts with (docs/tls.md) and the
// throwaway CAs of the tests (libs/testing). @peculiar/x509 is loaded on first use only, so
// services that just serve a certificate never load it (nor the reflect polyfill it needs).

export interface IssuedCertificate {
  /** PEM certificate. */
  readonly certPem: string;
  /** PEM PKCS#8 private key. */
  readonly keyPem: string;
}

/** A certificate that can sign others (a CA), kept with its live signing key. */
export interface Issuer extends IssuedCertificate {
  readonly name: string;
  readonly signingKey: webcrypto.CryptoKey;
}

export interface CertificateRequest {
  /** Distinguished name, e.g. `CN=switchboard`. */
  readonly name: string;
  /** DNS names and IP addresses for subjectAltName. */
  readonly hosts: readonly string[];
  readonly notBefore?: Date;
  readonly notAfter: Date;
  /** Signed by this CA; self-signed when absent. */
  readonly issuer?: Issuer;
  /** A CA certificate (basicConstraints cA, keyCertSign). */
  readonly authority?: boolean;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

type X509Module = typeof import('@peculiar/x509');
let x509Module: Promise<X509Module> | undefined;

async function loadX509(): Promise<X509Module> {
  x509Module ??= (async () => {
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(globalThis.crypto);
    return x509;
  })();
  return x509Module;
}

/** Issues an ECDSA P-256 certificate with a fresh key. */
export async function issueCertificate(request: CertificateRequest): Promise<Issuer> {
  const x509 = await loadX509();
  const keys = await crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const serial = Buffer.from(crypto.getRandomValues(new Uint8Array(16)));
  serial[0] = (serial[0] ?? 0) & 0x7f; // a positive serial
  const extensions: InstanceType<X509Module['Extension']>[] = [
    new x509.BasicConstraintsExtension(request.authority === true, undefined, true),
    new x509.KeyUsagesExtension(
      request.authority === true
        ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign
        : x509.KeyUsageFlags.digitalSignature,
      true,
    ),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (request.hosts.length > 0) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension(
        request.hosts.map((host) => ({ type: isIP(host) === 0 ? 'dns' : 'ip', value: host })),
      ),
    );
  }
  if (request.authority !== true) {
    extensions.push(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]));
  }
  const common = {
    serialNumber: serial.toString('hex'),
    notBefore: request.notBefore ?? new Date(Date.now() - 60_000),
    notAfter: request.notAfter,
    signingAlgorithm: ALGORITHM,
    extensions,
  };
  const certificate = request.issuer
    ? await x509.X509CertificateGenerator.create({
        ...common,
        subject: request.name,
        issuer: request.issuer.name,
        publicKey: keys.publicKey,
        signingKey: request.issuer.signingKey,
      })
    : await x509.X509CertificateGenerator.createSelfSigned({ ...common, name: request.name, keys });
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  return {
    name: request.name,
    certPem: certificate.toString('pem'),
    keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'),
    signingKey: keys.privateKey,
  };
}

/** The certificate `TLS=self-signed` serves: this host's names, valid for `days`. */
export async function issueSelfSignedCertificate(
  hosts: readonly string[],
  days = 365,
): Promise<IssuedCertificate> {
  const { certPem, keyPem } = await issueCertificate({
    name: `CN=${hosts[0] ?? 'switchboard'}`,
    hosts,
    notAfter: new Date(Date.now() + days * 24 * 60 * 60 * 1000),
  });
  return { certPem, keyPem };
}
