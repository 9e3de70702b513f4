import { type UserRecord, type UserRepository, UsernameTakenError } from '@switchboard/data-access';

import { type PasswordHasher } from '../auth/password-hasher';
import { type AdminCreator } from './audited-admin-creator';
import { type PasswordGenerator } from './password-generator';

export type AdminBootstrapResult =
  | {
      outcome: 'created';
      admin: UserRecord;
      /** Only when none was supplied: show it once, never store it. */
      generatedPassword?: string;
    }
  | { outcome: 'exists'; adminCount: number };

/** The bootstrap cannot proceed without an operator's decision. */
export class AdminBootstrapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdminBootstrapError';
  }
}

/** Makes sure at least one enabled admin exists; idempotent, and never touches an existing user. */
export class AdminBootstrapService {
  constructor(
    private readonly users: UserRepository,
    private readonly creator: AdminCreator,
    private readonly hasher: PasswordHasher,
    private readonly passwords: PasswordGenerator,
  ) {}

  async ensureAdmin(request: { username: string; password?: string }): Promise<AdminBootstrapResult> {
    const adminCount = await this.users.countAdmins();
    if (adminCount > 0) return { outcome: 'exists', adminCount };

    const username = request.username.toLowerCase();
    if ((await this.users.findByUsername(username)) !== null) {
      // Promoting or resetting someone's account silently would be a privilege escalation.
      throw new AdminBootstrapError(
        `There is no enabled admin, but user "${username}" already exists and is not one. ` +
          'Set ADMIN_USERNAME to a new name, or enable that user and make it an admin.',
      );
    }

    const generated = request.password === undefined;
    const password = request.password ?? this.passwords.generate();
    const passwordHash = await this.hasher.hash(password);
    let admin: UserRecord;
    try {
      admin = await this.creator.create(
        // A printed one-time password must be replaced at first login; one the operator chose need not.
        { username, passwordHash, role: 'admin', passwordMustChange: generated },
        generated ? 'generated' : 'environment',
      );
    } catch (error) {
      // A concurrent bootstrap got there first: that is the outcome we wanted.
      if (!(error instanceof UsernameTakenError)) throw error;
      const raced = await this.users.countAdmins();
      if (raced === 0) throw error;
      return { outcome: 'exists', adminCount: raced };
    }
    return generated
      ? { outcome: 'created', admin, generatedPassword: password }
      : { outcome: 'created', admin };
  }
}
