export { createTestDatabase, testDatabaseAdminUrl } from './test-database';
export type { TestDatabase } from './test-database';
export * from './rustdesk-peer';
export { canBind, ephemeralPort } from './net/free-port';
