import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { type ApiConfig } from '../config';

/**
 * The console's top-level paths (apps/web/src/routes.tsx): each answers index.html, and the browser's
 * router takes it from there. A fixed list rather than "every unknown GET", so a mistyped API path
 * still gets the JSON 404 an API caller expects.
 */
export const CONSOLE_SECTIONS: ReadonlySet<string> = new Set([
  'sign-in',
  'change-password',
  'devices',
  'users',
  'groups',
  'strategies',
  'keys',
  'tokens',
  'relay-ip-lists',
  'audit',
  'settings',
  'account',
]);

/**
 * dist/apps/web: beside the built api (dist/apps/api/src/console), or under the repository when the
 * api runs from source (tests, swc-node), where apps/web holds only the console's sources.
 */
const DEFAULT_CONSOLE_DIR = __filename.endsWith('.ts')
  ? resolve(__dirname, '../../../../dist/apps/web')
  : resolve(__dirname, '../../../web');

export interface ConsoleFiles {
  readonly dir: string;
  /** index.html, read once at start; undefined when the console was not built. */
  readonly indexHtml: string | undefined;
}

export function loadConsoleFiles(config: ApiConfig): ConsoleFiles {
  const dir = resolve(config.CONSOLE_DIR ?? DEFAULT_CONSOLE_DIR);
  const indexPath = join(dir, 'index.html');
  return { dir, indexHtml: existsSync(indexPath) ? readFileSync(indexPath, 'utf8') : undefined };
}
