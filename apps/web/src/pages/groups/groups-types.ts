// TODO(schemas): replace by the generated `components['schemas']` types once console-schemas is merged.

/** apps/api/src/user-groups/user-group-view.ts */
export interface UserGroupView {
  readonly id: string;
  readonly name: string;
  readonly note: string | null;
  readonly createdAt: string;
  readonly members: number;
}

export interface GroupRef {
  readonly id: string;
  readonly name: string;
}

export interface UserGroupDetailsView extends UserGroupView {
  readonly deviceGroupAccess: readonly GroupRef[];
  readonly userGroupAccess: readonly GroupRef[];
}

export interface UserGroupMemberView {
  readonly id: string;
  readonly username: string;
  readonly displayName: string | null;
  readonly disabled: boolean;
  readonly addedAt: string;
}

/** apps/api/src/devices/device-view.ts `DeviceGroupView`. */
export interface DeviceGroupView {
  readonly id: string;
  readonly name: string;
  readonly note: string | null;
  readonly createdAt: string;
  readonly devices: number;
}
