import {
  type UserGroupDetails,
  type UserGroupMemberRecord,
  type UserGroupRecord,
} from '@switchboard/data-access';

// The JSON the operator API answers with for user groups: dates as ISO strings.

export interface UserGroupView {
  id: string;
  name: string;
  note: string | null;
  createdAt: string;
  members: number;
}

export interface UserGroupDetailsView extends UserGroupView {
  /** Device groups whose devices the members may see. */
  deviceGroupAccess: { id: string; name: string }[];
  /** User groups whose members (and their devices) the members may see. */
  userGroupAccess: { id: string; name: string }[];
}

export interface UserGroupMemberView {
  id: string;
  username: string;
  displayName: string | null;
  disabled: boolean;
  addedAt: string;
}

export function userGroupView(group: UserGroupRecord): UserGroupView {
  return {
    id: group.id,
    name: group.name,
    note: group.note,
    createdAt: group.createdAt.toISOString(),
    members: group.members,
  };
}

export function userGroupDetailsView(group: UserGroupDetails): UserGroupDetailsView {
  return {
    ...userGroupView(group),
    deviceGroupAccess: group.deviceGroupAccess.map((rule) => ({ ...rule })),
    userGroupAccess: group.userGroupAccess.map((rule) => ({ ...rule })),
  };
}

export function userGroupMemberView(member: UserGroupMemberRecord): UserGroupMemberView {
  return { ...member, addedAt: member.addedAt.toISOString() };
}
