// TODO(schemas): the generated answer types of the account and TOTP routes once they have response
// schemas (branch console-schemas).

export interface AccountSession {
  readonly id: string;
  /** `browser` (console) or `client` (RustDesk client login). */
  readonly kind: string;
  readonly current: boolean;
  readonly rememberMe: boolean;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly client: {
    readonly id: string | null;
    readonly uuid: string | null;
    readonly os: string | null;
    readonly type: string | null;
    readonly name: string | null;
  } | null;
  readonly createdAt: string;
  readonly lastSeenAt: string;
  readonly expiresAt: string;
}

export interface TotpEnrolment {
  readonly secret: string;
  readonly otpauthUri: string;
}

export interface RecoveryCodes {
  readonly recoveryCodes: string[];
}
