import { join } from 'node:path';

import { createTestDatabase } from '@switchboard/testing';
import openapiTS, { astToString } from 'openapi-typescript';

import { REPO_ROOT, startTestApp } from './api-test-harness';

// The console's API types (apps/web/src/api/schema.d.ts) are generated from this api's own OpenAPI
// document: `npm run console:api-types` writes them, and console-api-types.int-spec.ts fails when the
// checked-in file no longer matches what the api serves.

export const CONSOLE_API_TYPES_PATH = join(REPO_ROOT, 'apps', 'web', 'src', 'api', 'schema.d.ts');

const HEADER = `// Generated from the api's OpenAPI document by \`npm run console:api-types\`: do not edit.
// A test (apps/api/src/docs/console-api-types.int-spec.ts) fails when it is out of date.

`;

/** The document the api serves at /api/docs/json, from an app on a scratch database. */
export async function servedOpenApiDocument(): Promise<Record<string, unknown>> {
  const database = await createTestDatabase();
  const app = await startTestApp({ DATABASE_URL: database.url, API_DOCS_ENABLED: 'true' });
  try {
    const response = await app.inject({ method: 'GET', url: '/api/docs/json' });
    if (response.statusCode !== 200) throw new Error(`/api/docs/json answered ${response.statusCode}`);
    return response.json<Record<string, unknown>>();
  } finally {
    await app.close();
    await database.drop();
  }
}

export async function renderConsoleApiTypes(document: Record<string, unknown>): Promise<string> {
  const ast = await openapiTS(document as unknown as Parameters<typeof openapiTS>[0], {
    alphabetize: true,
    // Nest's optional query parameters and bodies stay optional; every declared field of an answer
    // is there (zod output), so the console need not guard each one.
    defaultNonNullable: true,
  });
  return HEADER + astToString(ast);
}
