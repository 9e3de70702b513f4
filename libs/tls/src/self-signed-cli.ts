import { ensureSelfSignedPair } from './self-signed-files';

// `node dist/libs/tls/src/self-signed-cli.js <cert file> <key file> <host>...`: what
// `TLS=self-signed npm start` runs (scripts/start.sh) before starting the services. Keeps the pair if
// it still fits, else issues a self-signed ECDSA certificate for the hosts, valid for a year (the
// next start within 30 days of its expiry replaces it). Prints what it did and the certificate's
// SHA-256 fingerprint, which a client operator can compare with what their client shows.
// Exit codes: 0 done, 64 bad usage, 1 anything else.

const EX_USAGE = 64;
const VALID_DAYS = 365;
const RENEW_WITHIN_DAYS = 30;

async function main(args: readonly string[]): Promise<void> {
  const [certFile, keyFile, ...hosts] = args;
  const named = [...new Set(hosts.map((host) => host.trim()).filter((host) => host !== ''))];
  if (certFile === undefined || keyFile === undefined || named.length === 0) {
    process.stderr.write('usage: self-signed-cli.js <cert file> <key file> <host>...\n');
    process.exitCode = EX_USAGE;
    return;
  }
  const outcome = await ensureSelfSignedPair({
    certFile,
    keyFile,
    hosts: named,
    days: VALID_DAYS,
    renewWithinDays: RENEW_WITHIN_DAYS,
  });
  const { certificate } = outcome;
  const lines =
    outcome.action === 'kept'
      ? [`Self-signed certificate: using existing ${certFile}`]
      : [
          `Self-signed certificate: ${outcome.action} ${certFile} and ${keyFile} (mode 0600)` +
            (outcome.action === 'replaced' ? `: ${outcome.reason}` : ''),
        ];
  lines.push(
    `  names      ${certificate.subjectAltName ?? ''}`,
    `  expires    ${new Date(certificate.validTo).toISOString()}`,
    `  SHA-256    ${certificate.fingerprint256}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(
    `self-signed certificate failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exitCode = 1;
});
