export * from './identity-key';
export * from './key-option';
export { decodeBase64, encodeBase64 } from './base64';
export { signDetached, verifyDetached } from './ed25519-sign';
export * from './frame-cipher';
export * from './secure-channel';
export * from './signed-id-pk';
export * from './conn-audit-ref';
