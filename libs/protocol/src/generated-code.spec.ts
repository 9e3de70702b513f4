import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// The generated protobuf code is checked in so builds need no codegen; this keeps it honest by
// regenerating from the .proto files and the same buf.gen.yaml into a scratch directory.
const root = resolve(__dirname, '../../..');
const checkedIn = join(root, 'libs/protocol/src/generated');

describe('libs/protocol/src/generated', () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'proto-generate-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('is what `npm run proto:generate` produces from libs/protocol/proto', () => {
    execFileSync(
      join(root, 'node_modules/.bin/buf'),
      ['generate', '--template', 'libs/protocol/buf.gen.yaml', '--output', scratch],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const fresh = join(scratch, 'libs/protocol/src/generated');
    const files = readdirSync(fresh).sort();
    expect(readdirSync(checkedIn).sort()).toEqual(files);
    for (const file of files) {
      const stale = readFileSync(join(checkedIn, file), 'utf8') !== readFileSync(join(fresh, file), 'utf8');
      expect({ file, stale }).toEqual({ file, stale: false });
    }
  }, 60_000);
});
