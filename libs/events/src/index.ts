export * from './event-map';
export * from './envelope';
export * from './event-bus';
export * from './event-signing';
export * from './event-key-files';
export * from './redis-event-bus';
export * from './in-memory-event-bus';
export * from './settings';
