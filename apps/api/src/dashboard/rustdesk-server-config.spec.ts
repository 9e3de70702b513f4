import { randomBytes } from 'node:crypto';

import {
  encodeRustDeskServerConfig,
  rustDeskConfigCommand,
  type RustDeskServerConfig,
} from './rustdesk-server-config';

// The two readers of rustdesk/rustdesk, transcribed step by step (see rustdesk-server-config.ts).

/** flutter/lib/common.dart ServerConfig.decode. */
function decodeLikeFlutter(message: string): RustDeskServerConfig {
  let json: Record<string, string>;
  try {
    json = JSON.parse(message) as Record<string, string>;
  } catch {
    const input = [...message].reverse().join('');
    // base64.normalize: both alphabets, padding restored; anything else throws.
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(input)) throw new Error('FormatException');
    const bytes = Buffer.from(input.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    json = JSON.parse(bytes.toString('utf8')) as Record<string, string>;
  }
  return {
    host: json['host'] ?? '',
    relay: json['relay'] ?? '',
    api: json['api'] ?? '',
    key: json['key'] ?? '',
  };
}

/** src/core_main.rs `--config` → src/custom_server.rs get_custom_server_from_string. */
function decodeLikeRustConfigFlag(argument: string): RustDeskServerConfig {
  const name = argument.endsWith('.exe') ? argument : `${argument}.exe`;
  let s = name.toLowerCase().endsWith('.exe.exe') ? name.slice(0, -8) : name.slice(0, -4);
  if (s.toLowerCase().includes('host=')) throw new Error('host= form not expected here');
  s = s.replace('-licensed---', '--').replace('-licensed--', '--').replace('-licensed-', '--');
  for (const part of s.split('--')) {
    const decoded = configFromPart(part.trim());
    if (decoded !== undefined) return decoded;
  }
  throw new Error('Failed to parse');
}

function configFromPart(part: string): RustDeskServerConfig | undefined {
  const reversed = [...part].reverse().join('');
  // URL_SAFE_NO_PAD: URL-safe alphabet only, no padding, canonical trailing bits.
  if (!/^[A-Za-z0-9_-]*$/.test(reversed) || reversed.length % 4 === 1) return undefined;
  const bytes = Buffer.from(reversed, 'base64url');
  if (bytes.toString('base64url') !== reversed) return undefined;
  try {
    const json = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    const field = (key: string) => {
      const value = json[key];
      return typeof value === 'string' ? value : '';
    };
    return { host: field('host'), relay: field('relay'), api: field('api'), key: field('key') };
  } catch {
    return undefined;
  }
}

describe('RustDesk server config string', () => {
  const config: RustDeskServerConfig = {
    host: 'rd.example.com',
    relay: 'relay-1.example.com:21117',
    api: 'https://rd.example.com',
    key: 'OeVuKk5nlHiXp+APNn0Y3pC1Iwpwn44JGqrQCsWqmBw=',
  };

  it('reads back the same through the Flutter import and `rustdesk --config`', () => {
    const encoded = encodeRustDeskServerConfig(config);
    expect(decodeLikeFlutter(encoded)).toEqual(config);
    expect(decodeLikeRustConfigFlag(encoded)).toEqual(config);
    expect(encoded).not.toMatch(/=|--/);
    expect(rustDeskConfigCommand(encoded)).toBe(`rustdesk --config ${encoded}`);
  });

  it('matches the readers on the vector from rustdesk src/custom_server.rs tests', () => {
    const vector =
      '0nI900VsFHZVBVdIlncwpHS4V0bOZ0dtVldrpVO4JHdCp0YV5WdzUGZzdnYRVjI6ISeltmIsISMuEjLx4SMiojI0N3boJye';
    const expected = {
      host: '1.1.1.1',
      relay: '',
      api: '',
      key: '5Qbwsde3unUcJBtrx9ZkvUmwFNoExHzpryHuPUdqlWM=',
    };
    expect(decodeLikeRustConfigFlag(vector)).toEqual(expected);
    expect(decodeLikeFlutter(vector)).toEqual(expected);
  });

  it('the Rust reader refuses a padded string (why there is none)', () => {
    const padded = [...Buffer.from('{"host":"a"}').toString('base64url').concat('==')].reverse().join('');
    expect(() => decodeLikeRustConfigFlag(padded)).toThrow('Failed to parse');
  });

  it('re-spaces the JSON when a non-ASCII value would encode to "--"', () => {
    const awkward = { host: 'h', relay: 'r\u03fe', api: '', key: '' };
    const compact = [...Buffer.from(JSON.stringify(awkward)).toString('base64url')].reverse().join('');
    expect(compact).toContain('--');
    const encoded = encodeRustDeskServerConfig(awkward);
    expect(encoded).not.toContain('--');
    expect(decodeLikeRustConfigFlag(encoded)).toEqual(awkward);
    expect(decodeLikeFlutter(encoded)).toEqual(awkward);
  });

  it('never yields "--" and always decodes, over many random configs', () => {
    for (let round = 0; round < 2_000; round++) {
      const random: RustDeskServerConfig = {
        host: `${randomBytes(3).toString('hex')}.example.${round % 2 ? 'com' : 'net'}`,
        relay: round % 3 === 0 ? '' : `r${round}.example.com:21117`,
        api: round % 5 === 0 ? '' : `https://api-${round}.example.org`,
        key: randomBytes(32).toString('base64'),
      };
      const encoded = encodeRustDeskServerConfig(random);
      expect(encoded).not.toContain('--');
      expect(decodeLikeRustConfigFlag(encoded)).toEqual(random);
      expect(decodeLikeFlutter(encoded)).toEqual(random);
    }
  });
});
