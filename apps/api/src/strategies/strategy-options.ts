import { z } from 'zod';

/**
 * The option keys a strategy may set: hbb_common's `keys::KEYS_SETTINGS` (src/config.rs, hbb_common
 * c2d8a6d). The client merges `config_options` into its options without filtering, so anything else
 * would be stored on the device and do nothing, or worse, clash with a future option: refused here.
 */
export const STRATEGY_OPTION_KEYS = [
  'access-mode',
  'enable-keyboard',
  'enable-clipboard',
  'enable-file-transfer',
  'enable-camera',
  'enable-terminal',
  'enable-remote-printer',
  'enable-audio',
  'enable-tunnel',
  'enable-remote-restart',
  'enable-record-session',
  'enable-block-input',
  'enable-privacy-mode',
  'allow-scope-violation-close',
  'allow-scope-violation-alarm',
  'allow-remote-config-modification',
  'allow-numeric-one-time-password',
  'enable-lan-discovery',
  'direct-server',
  'direct-access-port',
  'whitelist',
  'id-whitelist',
  'allow-auto-disconnect',
  'auto-disconnect-timeout',
  'allow-only-conn-window-open',
  'allow-auto-record-incoming',
  'windows-service-video-save-directory',
  'enable-abr',
  'allow-remove-wallpaper',
  'allow-always-software-render',
  'enable-hwcodec',
  'approve-mode',
  'verification-method',
  'temporary-password-length',
  'proxy-url',
  'proxy-username',
  'proxy-password',
  'custom-rendezvous-server',
  'api-server',
  'key',
  'allow-websocket',
  'preset-address-book-name',
  'preset-address-book-tag',
  'preset-address-book-alias',
  'preset-address-book-password',
  'preset-address-book-note',
  'preset-device-username',
  'preset-device-name',
  'preset-note',
  'enable-directx-capture',
  'enable-android-software-encoding-half-scale',
  'enable-trusted-devices',
  'relay-server',
  'ice-servers',
  'disable-udp',
  'allow-insecure-tls-fallback',
  'keep-awake-during-incoming-sessions',
  'allow-auto-update',
] as const;

const KNOWN_KEYS: ReadonlySet<string> = new Set(STRATEGY_OPTION_KEYS);

export const MAX_OPTION_VALUE_LENGTH = 4_096;

/**
 * A strategy's options: known keys, string values only (the client silently drops a whole strategy
 * holding any non-string value, src/hbbs_http/sync.rs `StrategyOptions`). An empty string is kept:
 * the client reads it as "back to the default".
 */
export const strategyOptionsSchema = z
  .record(z.string(), z.string({ error: 'must be a string' }).max(MAX_OPTION_VALUE_LENGTH))
  .superRefine((options, context) => {
    for (const key of Object.keys(options)) {
      if (!KNOWN_KEYS.has(key)) {
        context.addIssue({
          code: 'custom',
          path: [key],
          message: 'is not an option the RustDesk client accepts from a strategy',
        });
      }
    }
  });
