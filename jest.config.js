// One Jest run, three tiers (STYLE.md habit 7): unit `*.spec.ts` beside the code, integration
// `*.int-spec.ts` against the real Postgres/Redis/sockets (each file gets its own database),
// end-to-end `apps/e2e` against the built service processes.
const fs = require('node:fs');
const path = require('node:path');

const swcrc = JSON.parse(fs.readFileSync(path.join(__dirname, '.swcrc'), 'utf8'));
delete swcrc.$schema;
swcrc.jsc.baseUrl = __dirname; // @swc/jest wants an absolute baseUrl for the alias rewrite
const swc = ['@swc/jest', { ...swcrc, swcrc: false }];
// Packages that ship ES modules only: otplib's default plugins (@scure, @noble), @fastify/cookie
// (loads cookie@2 with a dynamic import()) and content-disposition 3 (under @fastify/static). Node
// 20.19+ loads them natively, Jest's CommonJS module runtime does not, so Jest compiles them (and
// that import()) to CommonJS.
const ESM_ONLY_PACKAGES = [
  '@scure',
  '@noble',
  '@fastify/cookie',
  'cookie',
  '(?:@fastify/static/node_modules/)?content-disposition',
];
const transform = {
  '^.+\\.ts$': swc,
  [`/node_modules/(${ESM_ONLY_PACKAGES.join('|')})/.+\\.js$`]: [
    '@swc/jest',
    { jsc: { target: 'es2022' }, module: { type: 'commonjs' }, swcrc: false },
  ],
};
const common = {
  rootDir: __dirname,
  transform,
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY_PACKAGES.join('|')})/)`],
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
