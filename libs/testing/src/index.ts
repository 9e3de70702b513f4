export { createTestDatabase, testDatabaseAdminUrl } from './test-database';
export type { TestDatabase } from './test-database';
export * from './rustdesk-peer';
// Kept here too for the api and e2e tests that import them with the rest of libs/testing.
export { canBind, ephemeralPort, freeRelayPorts, freeSignalPorts } from '@switchboard/test-net';
export * from './observability-metric-names';
