// TODO(schemas): replace by the generated `components['schemas']` types once console-schemas is merged.

export const USER_ROLES = ['admin', 'operator', 'viewer', 'pro'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export interface Page<T> {
  readonly items: readonly T[];
  readonly total: number;
  readonly page: number;
  readonly pageSize: number;
}

/** apps/api/src/users/user.dto.ts `UserView`. */
export interface UserView {
  readonly id: string;
  readonly username: string;
  readonly displayName: string | null;
  readonly email: string | null;
  readonly note: string | null;
  readonly role: UserRole;
  readonly disabled: boolean;
  readonly totpEnabled: boolean;
  readonly passwordMustChange: boolean;
  readonly passwordChangedAt: string;
  readonly lastLoginAt: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** apps/api/src/users/user.dto.ts `UserWithPassword`: the only answer carrying a password. */
export interface UserWithPassword {
  readonly user: UserView;
  readonly oneTimePassword?: string;
}

/** apps/api/src/auth/session-view.ts `SessionView`. */
export interface SessionView {
  readonly id: string;
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

/** A password the api generated, for the page to show once. */
export interface OneTimePassword {
  readonly username: string;
  readonly password: string;
  readonly why: 'created' | 'reset';
}
