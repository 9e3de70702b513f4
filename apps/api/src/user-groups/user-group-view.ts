import {
  type UserGroupDetails,
  type UserGroupMemberRecord,
  type UserGroupRecord,
} from '@switchboard/data-access';
import { z } from 'zod';

import { isoTimestamp, pageSchema, responseSchema } from '../http/response-schemas';

// The JSON the operator API answers with for user groups: dates as ISO strings.

export const userGroupViewSchema = responseSchema(
  'UserGroup',
  z.object({
    id: z.uuid(),
    name: z.string(),
    note: z.string().nullable(),
    createdAt: isoTimestamp,
    members: z.number().int().describe('How many users are in the group.'),
  }),
);
export type UserGroupView = z.output<typeof userGroupViewSchema>;

const accessRule = z.object({ id: z.uuid(), name: z.string() });

export const userGroupDetailsViewSchema = responseSchema(
  'UserGroupDetails',
  userGroupViewSchema.extend({
    deviceGroupAccess: z.array(accessRule).describe('Device groups whose devices the members may see.'),
    userGroupAccess: z
      .array(accessRule)
      .describe('User groups whose members (and their devices) the members may see.'),
  }),
);
export type UserGroupDetailsView = z.output<typeof userGroupDetailsViewSchema>;

export const userGroupMemberViewSchema = responseSchema(
  'UserGroupMember',
  z.object({
    id: z.uuid(),
    username: z.string(),
    displayName: z.string().nullable(),
    disabled: z.boolean(),
    addedAt: isoTimestamp,
  }),
);
export type UserGroupMemberView = z.output<typeof userGroupMemberViewSchema>;

export const userGroupPageSchema = responseSchema('UserGroupPage', pageSchema(userGroupViewSchema));
export type UserGroupPage = z.output<typeof userGroupPageSchema>;

export const userGroupMemberPageSchema = responseSchema(
  'UserGroupMemberPage',
  pageSchema(userGroupMemberViewSchema),
);
export type UserGroupMemberPage = z.output<typeof userGroupMemberPageSchema>;

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
  return {
    id: member.id,
    username: member.username,
    displayName: member.displayName,
    disabled: member.disabled,
    addedAt: member.addedAt.toISOString(),
  };
}
