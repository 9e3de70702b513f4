import { useQuery } from '@tanstack/react-query';

import { api, unwrap } from '../../api/client';
import { CopyButton } from '../../ui/copy-button';
import { QrCode } from '../../ui/qr-code';
import { QueryState } from '../../ui/query-state';
import { type ServerInfo } from './settings-types';

const SOURCE_LABELS: Record<string, string> = {
  setting: 'set above',
  public_url: 'from the public URL',
  none: 'not set',
};

/**
 * What a RustDesk client needs to use this server (GET /api/v1/server-info): the public key, the
 * servers, and the configuration string as text, as a command and as a QR code (the mobile client
 * scans it in Settings → ID/Relay server).
 */
export function ClientConfigSection() {
  const query = useQuery({
    queryKey: ['server-info'],
    queryFn: () => unwrap(api.GET('/api/v1/server-info')),
  });
  return (
    <section className="panel" aria-labelledby="client-config-heading">
      <h2 id="client-config-heading">Client configuration</h2>
      <QueryState query={query}>{(info) => <ServerInfoView info={info} />}</QueryState>
    </section>
  );
}

function ServerInfoView({ info }: { info: ServerInfo }) {
  return (
    <div className="settings-client-config">
      <div>
        <dl className="facts">
          <dt>ID server</dt>
          <dd>
            <Sourced value={info.idServer} source={info.sources.idServer} />
          </dd>
          <dt>Relay server</dt>
          <dd>
            {info.relayServer === null ? (
              <span className="muted">none: signal hands out the live relays</span>
            ) : (
              <Sourced value={info.relayServer} source={info.sources.relayServer} />
            )}
          </dd>
          <dt>API server</dt>
          <dd>
            <Sourced value={info.apiServer} source={info.sources.apiServer} />
          </dd>
          <dt>Key</dt>
          <dd>
            {info.publicKey === null ? (
              <span className="notice notice-warn settings-inline-notice">
                Unknown: {info.publicKeyProblem ?? 'the api cannot read signal’s public key'}
              </span>
            ) : (
              <span className="settings-copyable">
                <code>{info.publicKey}</code> <CopyButton text={info.publicKey} label="Copy key" />
              </span>
            )}
          </dd>
        </dl>
        {info.configString === null ? (
          <p className="notice notice-warn">
            No configuration string without an ID server: set one above, or the api’s PUBLIC_URL.
          </p>
        ) : (
          <>
            <h3 className="settings-subheading">Configuration string</h3>
            <p className="muted">
              Paste it in the desktop client under Settings → Network → ID/Relay server → Import server
              config.
            </p>
            <div className="settings-copyable">
              <code className="settings-config-string">{info.configString}</code>
              <CopyButton text={info.configString} label="Copy configuration" />
            </div>
            {info.configCommand !== null && (
              <>
                <h3 className="settings-subheading">Command</h3>
                <p className="muted">For an installed client, run as administrator:</p>
                <div className="settings-copyable">
                  <code className="settings-config-string">{info.configCommand}</code>
                  <CopyButton text={info.configCommand} label="Copy command" />
                </div>
              </>
            )}
          </>
        )}
      </div>
      {info.configString !== null && (
        <figure className="settings-qr">
          <QrCode text={info.configString} label="QR code of the client configuration string" />
          <figcaption className="muted">Scan with the RustDesk mobile app.</figcaption>
        </figure>
      )}
    </div>
  );
}

function Value({ value }: { value: string | null }) {
  return value === null ? <span className="muted">not set</span> : <code>{value}</code>;
}

/** A value and where it came from ("not set" says it all when there is none). */
function Sourced({ value, source }: { value: string | null; source: string }) {
  if (value === null) return <Value value={null} />;
  return (
    <>
      <Value value={value} /> <span className="muted">({SOURCE_LABELS[source] ?? source})</span>
    </>
  );
}
