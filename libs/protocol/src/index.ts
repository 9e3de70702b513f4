export * from './bytes-codec';
export * from './addr-mangle';
export type { IpFamily } from './ip-address';
export * from './rendezvous-codec';
export * from './generated/rendezvous';
export * from './generated/message';
