/** What a RustDesk client needs to use this server: Settings → Network → ID/Relay server. */
export interface RustDeskServerConfig {
  /** ID server (custom-rendezvous-server): host or host:port, 21116 when no port is given. */
  readonly host: string;
  /** Relay server: empty lets the client use the ID server's host on 21117. */
  readonly relay: string;
  /** API server URL: empty lets the client derive it from the ID server. */
  readonly api: string;
  /** The server's public key, base64 as `hbbs` prints it. */
  readonly key: string;
}

/*
 * The string a RustDesk client imports: its JSON in URL-safe base64 without padding, reversed.
 *
 * Two readers in rustdesk/rustdesk (checked at 7423dced, 2026-08):
 * - flutter/lib/common.dart `ServerConfig.decode` ("Import server config"): reverse, `base64.normalize`
 *   (takes both alphabets, restores padding), base64-decode, JSON `host`/`relay`/`api`/`key`.
 *   `ServerConfig.encode` writes `base64UrlEncode(jsonEncode(...))` reversed, i.e. with padding.
 * - src/custom_server.rs `get_custom_server_from_string`, which `rustdesk --config <string>` calls
 *   (src/core_main.rs) on `<string>.exe`: it drops `.exe`, maps `-licensed-` to `--`, splits on `--`
 *   and tries each part: reverse, then `URL_SAFE_NO_PAD` decode, which refuses padding, then JSON.
 *
 * So: no padding (the Rust reader fails on `=`), and never `--` in the result (the Rust reader would
 * split the string there; `-` is in the URL-safe alphabet). ASCII JSON never encodes to `--` (a `-` can
 * only be the 4th character of a group, ASCII bytes having their top bit clear), but a non-ASCII value
 * can: then spaces are added after separators (JSON does not care) until the result has none.
 */
export function encodeRustDeskServerConfig(config: RustDeskServerConfig): string {
  const fields: [string, string][] = [
    ['host', config.host.trim()],
    ['relay', config.relay.trim()],
    ['api', config.api.trim()],
    ['key', config.key.trim()],
  ];
  for (let spaces = 0; spaces < 64; spaces++) {
    const encoded = reverse(Buffer.from(jsonWithSpaces(fields, spaces), 'utf8').toString('base64url'));
    if (!encoded.includes('--') && !encoded.toLowerCase().includes('-licensed-')) return encoded;
  }
  // Unreachable in practice: each variant shifts the base64 text; kept as a loud failure, not a bad string.
  throw new Error('no encoding of the server config without "--"');
}

/** The command line that applies it on an installed client (needs administrator rights). */
export function rustDeskConfigCommand(encoded: string): string {
  return `rustdesk --config ${encoded}`;
}

/** Compact JSON, with `spaces` single spaces spread over the positions after `:` and `,`. */
function jsonWithSpaces(fields: readonly [string, string][], spaces: number): string {
  const gaps = fields.length * 2 - 1;
  const parts: string[] = [];
  fields.forEach(([name, value], index) => {
    const pad = (gap: number) => ' '.repeat(Math.floor(spaces / gaps) + (gap < spaces % gaps ? 1 : 0));
    parts.push(
      `${index === 0 ? '' : `,${pad(index * 2 - 1)}`}${JSON.stringify(name)}:${pad(index * 2)}${JSON.stringify(value)}`,
    );
  });
  return `{${parts.join('')}}`;
}

function reverse(text: string): string {
  return [...text].reverse().join('');
}
