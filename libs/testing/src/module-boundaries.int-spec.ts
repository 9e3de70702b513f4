import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

// Proves the boundary rules of eslint.config.mjs really fire (STYLE.md layering) by linting small
// probe files placed inside each project, with the real CLI as CI runs it. One ESLint run for all
// probes, because type-aware lint start-up dominates.
const root = path.resolve(__dirname, '../../..');
const BOUNDARY_RULES = ['@nx/enforce-module-boundaries', 'no-restricted-imports'];

const probes = {
  pureImportsIo: [
    'libs/protocol/src',
    "import { PrismaClient } from '@prisma/client';\nimport { createSocket } from 'node:dgram';\nimport { readFileSync } from 'fs';\nexport const probe = [PrismaClient, createSocket, readFileSync];\n",
  ],
  pureImportsIoLibrary: [
    'libs/audit/src',
    "import { loadConfig } from '@switchboard/config';\nexport const probe = loadConfig;\n",
  ],
  appImportsApp: [
    'apps/relay/src',
    "import * as signal from '../../signal/src/config';\nexport const probe = signal;\n",
  ],
  relayImportsDatabase: [
    'apps/relay/src',
    "import * as db from '@switchboard/data-access';\nexport const probe = db;\n",
  ],
  apiImportsPrisma: [
    'apps/api/src',
    "import { PrismaClient } from '@prisma/client';\nexport const probe = PrismaClient;\n",
  ],
  dataAccessImportsPrisma: [
    'libs/data-access/src',
    "import { PrismaPg } from '@prisma/adapter-pg';\nexport const probe = PrismaPg;\n",
  ],
  appUsesItsLibraries: [
    'apps/signal/src',
    "import { loadConfig } from '@switchboard/config';\nimport { createLogger } from '@switchboard/observability';\nexport const probe = [loadConfig, createLogger];\n",
  ],
} as const;

type ProbeName = keyof typeof probes;
const errors = {} as Record<ProbeName, string[]>;

beforeAll(async () => {
  // Without Nx's cached project graph the boundary rule silently skips itself (fresh clone): build it.
  await promisify(execFile)(path.join(root, 'node_modules/.bin/nx'), ['show', 'projects'], {
    cwd: root,
    env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
  });
  const suffix = randomBytes(4).toString('hex');
  const files = new Map<string, ProbeName>();
  for (const [name, [dir, source]] of Object.entries(probes) as [ProbeName, readonly [string, string]][]) {
    const file = path.join(root, dir, `boundary-probe-${name}-${suffix}.ts`);
    await writeFile(file, source);
    files.set(file, name);
  }
  try {
    const { stdout } = await promisify(execFile)(
      path.join(root, 'node_modules/.bin/eslint'),
      ['--format', 'json', '--no-warn-ignored', ...files.keys()],
      { cwd: root, maxBuffer: 16 * 1024 * 1024 },
    ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '[]' }));
    const results = JSON.parse(stdout) as {
      filePath: string;
      messages: { ruleId: string | null; message: string }[];
    }[];
    for (const result of results) {
      const name = files.get(result.filePath);
      if (!name) continue;
      errors[name] = result.messages
        .filter((m) => BOUNDARY_RULES.includes(m.ruleId ?? ''))
        .map((m) => m.message);
    }
  } finally {
    await Promise.all([...files.keys()].map((file) => rm(file, { force: true })));
  }
  for (const name of Object.keys(probes) as ProbeName[]) {
    if (!errors[name]) throw new Error(`ESLint returned no result for probe ${name}`);
  }
}, 120_000);

describe('module boundaries', () => {
  it('forbids a pure library from importing Prisma or Node I/O modules', () => {
    const found = errors.pureImportsIo.join('\n');
    // The Nx rule names the npm package; the built-ins come from no-restricted-imports.
    expect(found).toMatch(/"type:pure" is not allowed to import "@prisma\/client"/);
    expect(found).toMatch(/node:dgram/);
    expect(found).toMatch(/'fs'|"fs"/);
  });

  it('forbids a pure library from depending on an I/O library', () => {
    expect(errors.pureImportsIoLibrary).toHaveLength(1);
  });

  it('forbids an app from importing another app', () => {
    expect(errors.appImportsApp.length).toBeGreaterThanOrEqual(1);
  });

  it('keeps the relay away from the database', () => {
    expect(errors.relayImportsDatabase).toHaveLength(1);
  });

  it('lets only data-access import Prisma', () => {
    expect(errors.apiImportsPrisma).toHaveLength(1);
    expect(errors.dataAccessImportsPrisma).toEqual([]);
  });

  it('allows an app to use the libraries meant for it', () => {
    expect(errors.appUsesItsLibraries).toEqual([]);
  });
});
