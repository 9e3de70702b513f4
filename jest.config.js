// One Jest run, three tiers (STYLE.md habit 7): unit `*.spec.ts` beside the code, integration
// `*.int-spec.ts` against the real Postgres/Redis/sockets (each file gets its own database),
// end-to-end `apps/e2e` against the built service processes.
const fs = require('node:fs');
const path = require('node:path');

const swcrc = JSON.parse(fs.readFileSync(path.join(__dirname, '.swcrc'), 'utf8'));
delete swcrc.$schema;
swcrc.jsc.baseUrl = __dirname; // @swc/jest wants an absolute baseUrl for the alias rewrite
const swc = ['@swc/jest', { ...swcrc, swcrc: false }];
// content-disposition 3 (under @fastify/static) ships only ESM. Node >= 20.19 require()s it natively,
// Jest's module runtime cannot (before Node 24.9), so Jest compiles that one package to CommonJS.
const ESM_ONLY_DEPENDENCIES = '(?:@fastify/static/node_modules/)?content-disposition/';
const transform = { '^.+\\.ts$': swc, [`/node_modules/${ESM_ONLY_DEPENDENCIES}.+\\.js$`]: swc };
const common = {
  rootDir: __dirname,
  transform,
  transformIgnorePatterns: [`/node_modules/(?!${ESM_ONLY_DEPENDENCIES})`],
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
};

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs}/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/{apps,libs}/**/*.int-spec.ts'],
      // Real processes, databases and sockets on a 2-core machine shared with other test workers.
      // (testTimeout is a global-only option; per project it is set from a setup file.)
      setupFilesAfterEnv: ['<rootDir>/jest.timeout-30s.js'],
      slowTestThreshold: 30,
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/apps/e2e/**/*.e2e-spec.ts'],
      setupFilesAfterEnv: ['<rootDir>/jest.timeout-60s.js'],
      slowTestThreshold: 60,
    },
  ],
};
