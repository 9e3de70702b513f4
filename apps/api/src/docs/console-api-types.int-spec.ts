import { runTs } from '../../test/api-test-harness';

describe('the console’s typed API client', () => {
  it('is generated from the OpenAPI document the api serves now (else run `npm run console:api-types`)', async () => {
    const check = runTs('apps/api/test/generate-console-api-types.ts', {}, ['--check']);
    const { code } = await check.exited;
    expect({ code, output: check.stdout() + check.stderr() }).toEqual({
      code: 0,
      output: 'apps/web/src/api/schema.d.ts matches the api\n',
    });
  });
});
