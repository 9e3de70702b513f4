import { type components } from '../../api/schema';

// The users page's answer types, generated from the api's OpenAPI document.

type Schemas = components['schemas'];

export type UserView = Schemas['User'];
export type UserRole = UserView['role'];
/** The only answer carrying a password. */
export type UserWithPassword = Schemas['UserWithPassword'];
export type SessionView = Schemas['Session'];

/** The roles in the order the console offers them (each one the api's). */
export const USER_ROLES = ['admin', 'operator', 'viewer', 'pro'] as const satisfies readonly UserRole[];

/** A password the api generated, for the page to show once. */
export interface OneTimePassword {
  readonly username: string;
  readonly password: string;
  readonly why: 'created' | 'reset';
}
