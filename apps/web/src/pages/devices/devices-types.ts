import { type components, type operations } from '../../api/schema';

// The devices area's answer types, generated from the api's OpenAPI document.

type Schemas = components['schemas'];

export type DeviceDetails = Schemas['DeviceDetails'];
export type Device = Schemas['Device'];
export type DevicePage = Schemas['DevicePage'];
export type BulkResult = Schemas['BulkResult'];
export type BulkAction = BulkResult['action'];
export type BulkOutcome = BulkResult['results'][number]['outcome'];
export type RevokePreview = Schemas['RevokePreview'];
export type Admission = Device['admission'];
export type OsFamily = NonNullable<Device['osFamily']>;
export type DeviceListQuery = NonNullable<operations['DevicesController_list']['parameters']['query']>;

export const OS_FAMILIES: readonly OsFamily[] = ['windows', 'macos', 'linux', 'android', 'ios', 'other'];

export type DeviceGroup = Schemas['DeviceGroup'];
export type Connection = Schemas['ConnectionAudit'];
