import { type SecureContextOptions } from 'node:tls';

/**
 * TLS 1.2 and 1.3 only. For 1.2, forward-secret AEAD suites only (ECDHE with AES-GCM or
 * ChaCha20-Poly1305), the server's order first; TLS 1.3's suites are all of that kind already.
 * Mozilla's "intermediate" profile, which every RustDesk client's rustls/native-tls accepts.
 */
export const MODERN_TLS_OPTIONS = {
  minVersion: 'TLSv1.2',
  ciphers: [
    'TLS_AES_128_GCM_SHA256',
    'TLS_AES_256_GCM_SHA384',
    'TLS_CHACHA20_POLY1305_SHA256',
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-RSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-CHACHA20-POLY1305',
    'ECDHE-RSA-CHACHA20-POLY1305',
  ].join(':'),
  honorCipherOrder: true,
} as const satisfies SecureContextOptions;
