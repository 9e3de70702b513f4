export * from './websocket-duplex';
export * from './redis-client';
