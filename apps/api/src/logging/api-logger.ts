import { createLogger, type LogFormat, type Logger } from '@switchboard/observability';
import { type DestinationStream, type LevelWithSilent } from 'pino';

// Field names that carry a credential somewhere in the api: request headers, login and 2FA bodies,
// and the answers that show a secret once (a new API key, a registration token, a TOTP secret).
// `token` and `authorization` are in every service's list already (libs/observability).
const SECRET_FIELDS = [
  'password',
  'currentPassword',
  'newPassword',
  'oneTimePassword',
  'accessToken',
  'refreshToken',
  'mfaToken',
  'recoveryCode',
  'recoveryCodes',
  'secret',
  'otpauthUri',
  'csrfToken',
];
// Names too common to censor everywhere (an error's `code`, a setting's `key`): only in a request body.
const SECRET_BODY_FIELDS = ['code', 'key'];
const SECRET_HEADERS = ['authorization', 'cookie', 'set-cookie', 'x-api-key', 'x-csrf-token'];

/**
 * Where those fields may sit in a log line: at the top, or one or two levels down (`body.password`,
 * `req.body.password`). pino's paths have no "any depth", so the depths are spelled out.
 */
export const API_REDACT_PATHS: readonly string[] = [
  ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]),
  ...SECRET_BODY_FIELDS.flatMap((field) => [`body.${field}`, `*.body.${field}`]),
  ...SECRET_HEADERS.flatMap((header) => [
    `headers["${header}"]`,
    `*.headers["${header}"]`,
    `*.*.headers["${header}"]`,
  ]),
];

/**
 * The api's logger (JSON, or pretty lines per `format`), with every credential it handles censored
 * wherever it is logged.
 */
export function createApiLogger(
  level: LevelWithSilent,
  options: { destination?: DestinationStream; format?: LogFormat } = {},
): Logger {
  return createLogger({ name: 'api', level, redact: API_REDACT_PATHS, ...options });
}
