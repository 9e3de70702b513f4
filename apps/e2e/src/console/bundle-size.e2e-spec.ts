import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

// The console's first load (issue 13): the scripts index.html loads before any page is shown, its entry
// and what Vite preloads with it, at most 250 KB gzip. Pages are separate chunks fetched on first visit.
// Measured on the build `npm test` makes (dist/apps/web), with Node's gzip at its default level.

const CONSOLE_DIR = resolve(__dirname, '../../../../dist/apps/web');
const INITIAL_JS_BUDGET_BYTES = 250 * 1024;

function gzippedSize(assetPath: string): number {
  return gzipSync(readFileSync(join(CONSOLE_DIR, assetPath))).length;
}

describe('the console’s bundle', () => {
  const indexHtml = readFileSync(join(CONSOLE_DIR, 'index.html'), 'utf8');
  const initialScripts = [
    ...indexHtml.matchAll(/<script type="module"[^>]* src="([^"]+)"/g),
    ...indexHtml.matchAll(/<link rel="modulepreload"[^>]* href="([^"]+)"/g),
  ].map((match) => match[1] ?? '');

  it('loads at most 250 KB of JavaScript (gzip) before the first page shows', () => {
    expect(initialScripts.length).toBeGreaterThan(0);
    const total = initialScripts.reduce((sum, path) => sum + gzippedSize(path), 0);
    console.log(
      `console initial JS: ${(total / 1024).toFixed(1)} KB gzip in ${initialScripts.length} file(s) (budget 250 KB)`,
    );
    expect(total).toBeLessThanOrEqual(INITIAL_JS_BUDGET_BYTES);
  });

  it('has no inline script or style in index.html, and loads nothing from another origin', () => {
    expect(indexHtml).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(indexHtml).not.toMatch(/<style|\bstyle=/i);
    expect(indexHtml).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('keeps every page out of the first load', () => {
    const pages = [
      'dashboard-page',
      'devices-page',
      'users-page',
      'audit-page',
      'settings-page',
      'account-page',
    ];
    for (const page of pages) expect(initialScripts.join(' ')).not.toContain(page);
  });
});
