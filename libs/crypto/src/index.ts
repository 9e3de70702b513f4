export * from './identity-key';
export * from './key-option';
export { decodeBase64, encodeBase64 } from './base64';
