// Type-aware lint for the whole workspace. The Nx module-boundary rule enforces STYLE.md's layering:
// apps never import apps; protocol, crypto and audit are pure (no I/O); only data-access imports Prisma;
// the relay never reaches the database.
import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

const IO_MODULES = [
  '@prisma/*',
  'pg',
  'ioredis',
  'bullmq',
  'ws',
  'fastify',
  '@nestjs/*',
  'fs',
  'node:fs',
  'fs/promises',
  'node:fs/promises',
  'net',
  'node:net',
  'dgram',
  'node:dgram',
  'http',
  'node:http',
  'https',
  'node:https',
  'child_process',
  'node:child_process',
];
const DATABASE_MODULES = ['@prisma/*', 'pg'];

/**
 * STYLE.md's layering as Nx dependency constraints. Tests may also use libs/testing (factories,
 * per-test databases) wherever they live; production code may not.
 */
function moduleBoundaries({ inTests }) {
  const testing = inTests ? ['type:testing', 'type:test-net'] : [];
  return {
    enforceBuildableLibDependency: false,
    allow: [],
    depConstraints: [
      {
        sourceTag: 'type:app',
        onlyDependOnLibsWithTags: ['type:pure', 'type:util', 'type:data-access', ...testing],
        bannedExternalImports: DATABASE_MODULES,
      },
      { sourceTag: 'scope:relay', notDependOnLibsWithTags: ['type:data-access'] },
      {
        sourceTag: 'type:pure',
        onlyDependOnLibsWithTags: ['type:pure', ...testing],
        bannedExternalImports: IO_MODULES,
      },
      {
        sourceTag: 'type:util',
        onlyDependOnLibsWithTags: ['type:pure', 'type:util', ...testing],
        bannedExternalImports: DATABASE_MODULES,
      },
      // Test-only tools (sockets, waitFor, metric readers) with no dependencies of their own, so any
      // test may use them, the relay's included (libs/testing would bring data-access along).
      { sourceTag: 'type:test-net', onlyDependOnLibsWithTags: [], bannedExternalImports: DATABASE_MODULES },
      // Not even in tests: libs/testing builds on data-access, and the cycle would break Nx's graph.
      { sourceTag: 'type:data-access', onlyDependOnLibsWithTags: ['type:pure', 'type:util'] },
      {
        sourceTag: 'type:testing',
        onlyDependOnLibsWithTags: [
          'type:pure',
          'type:util',
          'type:data-access',
          'type:testing',
          'type:test-net',
        ],
        bannedExternalImports: DATABASE_MODULES,
      },
    ],
  };
}

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      '.nx/**',
      'var/**',
      'libs/data-access/src/generated/**',
      'libs/protocol/src/generated/**',
      '**/*.js',
      '**/*.cjs',
      '**/*.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  prettier,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      '@nx/enforce-module-boundaries': ['error', moduleBoundaries({ inTests: false })],
    },
  },
  {
    // The console (apps/web): React's rules of hooks, and the same type-aware checks as the services.
    files: ['apps/web/**/*.{ts,tsx,mts}'],
    plugins: { 'react-hooks': reactHooks },
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      ...reactHooks.configs.recommended.rules,
      // An async event handler (onClick={() => void save()}) is how React code starts work.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }],
    },
  },
  {
    // Nx's banned-import check skips Node built-ins, so the pure libraries ban those here.
    files: ['libs/protocol/**/*.ts', 'libs/crypto/**/*.ts', 'libs/audit/**/*.ts', 'libs/domain/**/*.ts'],
    ignores: ['**/*.spec.ts', '**/*.int-spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: IO_MODULES, message: 'protocol, crypto, audit and domain are pure: no I/O (STYLE.md).' },
          ],
        },
      ],
    },
  },
  {
    // AsyncLocalStorage or a hook turns on Node's async hooks for the whole process: every socket
    // write and every promise then runs them. The relay and signal hot paths cannot afford that, so
    // only the in-memory event bus (a test tool) may use them. (The pure libraries ban all I/O above.)
    files: ['apps/signal/**/*.ts', 'apps/relay/**/*.ts', 'libs/**/*.ts'],
    ignores: [
      '**/*.spec.ts',
      '**/*.int-spec.ts',
      '**/test/**',
      'libs/events/src/in-memory-event-bus.ts',
      'libs/protocol/**',
      'libs/crypto/**',
      'libs/audit/**',
      'libs/domain/**',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['async_hooks', 'node:async_hooks'].map((name) => ({
            name,
            message:
              'Async hooks slow every socket write and promise in signal and relay (see eslint.config.mjs).',
          })),
        },
      ],
    },
  },
  {
    // Tests may lean on unsafe any from jest helpers and JSON fixtures. apps/e2e is test code through
    // and through (its support/ drives the real processes), so it may use libs/testing everywhere.
    files: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts', '**/test/**/*.ts', 'apps/e2e/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': ['error', moduleBoundaries({ inTests: true })],
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
