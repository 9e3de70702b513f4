export { USER_ROLES, UserRepository, UsernameTakenError } from './user.repository';
export type { NewUser, UserRecord, UserRole } from './user.repository';
export { UserAdminRepository } from './user-admin.repository';
export type {
  ManagedUser,
  NewManagedUser,
  UserListQuery,
  UserPage,
  UserProfileChange,
} from './user-admin.repository';
export { escapeLikePattern } from './user-admin.sql';
