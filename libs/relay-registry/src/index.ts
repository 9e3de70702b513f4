export * from './registry-layout';
export * from './registry-logger';
export * from './relay-node-directory';
export * from './relay-node-announcer';
export * from './relay-picker';
export * from './relay-ticket';
export * from './relay-ticket-store';
export * from './relay-access-lists';
