export * from './identity-key';
export * from './key-option';
export { decodeBase64, encodeBase64 } from './base64';
export * from './frame-cipher';
export * from './secure-channel';
export * from './signed-id-pk';
