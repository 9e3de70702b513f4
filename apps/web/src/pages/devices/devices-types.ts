import { type components, type operations } from '../../api/schema';

// The devices area's answer types: generated from the api's OpenAPI document where the route has a
// response schema.

type Schemas = components['schemas'];

/**
 * TODO(schemas): the api's OpenAPI document describes `z.string().nullable()` as an array of strings
 * (nestjs-zod's cleanupOpenApiDoc: `{"type":"array","items":{"type":"string"}}`), so the generated
 * types say `string[]` for hostname, os, note, banReason, ... This puts back `string | null` for every
 * such field but the real array, `tags`; drop it once the document is right.
 */
type NullableStrings<T> = {
  [K in keyof T]: K extends 'tags' ? T[K] : T[K] extends string[] ? string | null : T[K];
};

export type DeviceDetails = NullableStrings<Schemas['DeviceDetailsResponse']>;
export type Device = NullableStrings<Schemas['DevicePageResponse']['items'][number]>;
export type DevicePage = NullableStrings<Omit<Schemas['DevicePageResponse'], 'items'>> & { items: Device[] };
export type BulkResult = Schemas['BulkResultResponse'];
export type BulkAction = BulkResult['action'];
export type BulkOutcome = BulkResult['results'][number]['outcome'];
export type RevokePreview = Schemas['RevokePreviewResponse'];
export type Admission = Device['admission'];
export type OsFamily = NonNullable<Device['osFamily']>;
export type DeviceListQuery = NonNullable<operations['DevicesController_list']['parameters']['query']>;

export const OS_FAMILIES: readonly OsFamily[] = ['windows', 'macos', 'linux', 'android', 'ios', 'other'];

// TODO(schemas): the generated answer types of GET /device-groups and GET /client-audit/connections
// (apps/api/src/devices/device-view.ts, apps/api/src/client-audit/client-audit-ops.service.ts).

export interface DeviceGroup {
  readonly id: string;
  readonly name: string;
  readonly note: string | null;
  readonly devices: number;
}

export interface Connection {
  readonly guid: string;
  readonly deviceId: string;
  readonly connId: number;
  readonly sessionId: string;
  readonly ip: string | null;
  readonly peerId: string | null;
  readonly peerName: string | null;
  readonly connType: number | null;
  readonly user: { id: string; username: string | null } | null;
  readonly note: string | null;
  readonly openedAt: string | null;
  readonly authorizedAt: string | null;
  readonly closedAt: string | null;
  readonly createdAt: string;
}

export interface ConnectionPage {
  readonly items: Connection[];
  readonly nextCursor: string | null;
}
