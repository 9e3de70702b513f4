import { readFileSync, writeFileSync } from 'node:fs';

import { CONSOLE_API_TYPES_PATH, renderConsoleApiTypes, servedOpenApiDocument } from './console-api-types';

// `npm run console:api-types`: regenerate the console's API types after changing a route or DTO.
// With --check, write nothing and exit 1 when the checked-in file differs (the int-spec runs this: a
// child process, because openapi-typescript's dependencies are ES modules that Jest cannot load).
async function main(): Promise<void> {
  const expected = await renderConsoleApiTypes(await servedOpenApiDocument());
  if (process.argv.includes('--check')) {
    if (readFileSync(CONSOLE_API_TYPES_PATH, 'utf8') !== expected) {
      console.error(
        'apps/web/src/api/schema.d.ts is out of date with the api: run `npm run console:api-types` and commit it',
      );
      process.exit(1);
    }
    console.log('apps/web/src/api/schema.d.ts matches the api');
    return;
  }
  writeFileSync(CONSOLE_API_TYPES_PATH, expected);
  console.log(`wrote ${CONSOLE_API_TYPES_PATH}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
