export * from './errors';
export { AsyncQueue } from './async-queue';
export * from './framed-link';
export * from './host-port';
export * from './secure-tcp';
export * from './identity-handshake';
export * from './relay-client';
export * from './pairing-relay';
export * from './rustdesk-peer';
