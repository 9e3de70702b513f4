import { type components } from '../../api/schema';

// The groups page's answer types, generated from the api's OpenAPI document.

type Schemas = components['schemas'];

export type UserGroupDetailsView = Schemas['UserGroupDetails'];
export type GroupRef = UserGroupDetailsView['deviceGroupAccess'][number];
export type DeviceGroupView = Schemas['DeviceGroup'];
