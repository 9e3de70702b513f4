export * from './tls-settings';
export * from './modern-tls';
export * from './certificate-pair';
export * from './tls-credentials';
export * from './secure-acceptor';
export * from './certificate-issuer';
export * from './throwaway-ca';
