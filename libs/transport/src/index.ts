export * from './websocket-duplex';
export * from './redis-client';
export * from './client-address';
