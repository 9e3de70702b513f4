export * from './audit-entry';
export * from './canonical-form';
export * from './audit-keyring';
export * from './audit-chain';
export * from './chain-verifier';
export * from './chain-head';
export * from './chain-end';
