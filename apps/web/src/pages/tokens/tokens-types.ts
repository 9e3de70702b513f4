// TODO(schemas): replace by the generated `components['schemas']` types once console-schemas is merged.

/** apps/api/src/registration-tokens/registration-token-view.ts `RegistrationTokenView`. */
export interface RegistrationTokenView {
  readonly id: string;
  readonly name: string;
  readonly prefix: string;
  readonly status: 'active' | 'revoked' | 'expired' | 'used_up';
  readonly maxUses: number | null;
  readonly useCount: number;
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  readonly createdAt: string;
  readonly createdBy: { readonly id: string; readonly username: string } | null;
}

/** The creation's answer: the only time the token itself is shown. */
export interface CreatedRegistrationToken extends RegistrationTokenView {
  readonly token: string;
}
