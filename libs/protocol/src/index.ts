export * from './bytes-codec';
