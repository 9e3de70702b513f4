export { USER_ROLES, UserRepository, UsernameTakenError } from './user.repository';
export type { NewUser, UserRecord, UserRole } from './user.repository';
