export { RecoveryCodeRepository } from './recovery-code.repository';
export type { RecoveryCodeLookup, StoredRecoveryCode } from './recovery-code.repository';
export { RefreshTokenRepository } from './refresh-token.repository';
export type { NewRefreshToken, RefreshTokenRecord } from './refresh-token.repository';
export { SessionRepository } from './session.repository';
export type { NewSession, SessionClient, SessionKind, SessionRecord } from './session.repository';
export { UserCredentialRepository } from './user-credential.repository';
export type { TotpState } from './user-credential.repository';
