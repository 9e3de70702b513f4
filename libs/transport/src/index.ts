export * from './websocket-duplex';
export * from './redis-client';
export * from './client-address';
export * from './network-key';
export * from './allowed-origins';
export * from './open-connections';
export * from './server-lifecycle';
