import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import { isApiError } from '../../api/api-error';
import { api, unwrap } from '../../api/client';
import { type DeviceFilters, listQueryOf } from './device-filters';
import {
  type BulkAction,
  type BulkOutcome,
  type BulkResult,
  type ConnectionPage,
  type Device,
  type DeviceDetails,
  type DeviceGroup,
  type DevicePage,
  type RevokePreview,
} from './devices-types';

// The devices area's calls. Keys start with 'devices' (lists) or 'device' (one device): the live
// stream invalidates both on every device.* frame.

export const PAGE_SIZE = 50;

export function devicesKey(filters: DeviceFilters, cursor: string | undefined) {
  return ['devices', 'list', listQueryOf(filters), cursor ?? null] as const;
}

export function deviceKey(id: string) {
  return ['device', id] as const;
}

export function useDeviceList(filters: DeviceFilters, cursor: string | undefined) {
  return useQuery({
    queryKey: devicesKey(filters, cursor),
    queryFn: async ({ signal }) => {
      const query = {
        ...listQueryOf(filters),
        limit: PAGE_SIZE,
        ...(cursor === undefined ? {} : { cursor }),
      };
      // TODO(schemas): the generated query type has no sort/order/admission/os yet.
      return (await unwrap(
        api.GET('/api/v1/devices', { params: { query: query as never }, signal }),
      )) as unknown as DevicePage;
    },
    // A page stays on screen while the next one (or a narrower search) loads: no flash of "Loading…".
    placeholderData: keepPreviousData,
  });
}

/** How many devices wait for approval (a small set: counting it is cheap). */
export function usePendingCount(enabled: boolean) {
  return useQuery({
    queryKey: ['devices', 'pending-count'],
    enabled,
    queryFn: async ({ signal }) => {
      const query = { admission: 'pending', pending: 'true', withTotal: 'true', limit: 1 };
      const page = (await unwrap(
        api.GET('/api/v1/devices', { params: { query: query as never }, signal }),
      )) as unknown as DevicePage;
      return page.total;
    },
    staleTime: 30_000,
  });
}

export function useDevice(id: string) {
  return useQuery({
    queryKey: deviceKey(id),
    queryFn: async ({ signal }) =>
      (await unwrap(
        api.GET('/api/v1/devices/{id}', { params: { path: { id } }, signal }),
      )) as unknown as DeviceDetails,
    retry: (failures, error) => !isApiError(error, 404) && !isApiError(error, 403) && failures < 2,
  });
}

export function useDeviceGroups(enabled = true) {
  return useQuery({
    queryKey: ['device-groups'],
    enabled,
    queryFn: async ({ signal }) =>
      (await unwrap(api.GET('/api/v1/device-groups', { signal }))) as unknown as DeviceGroup[],
    staleTime: 60_000,
  });
}

/** The RustDesk clients' own connection records for this device, newest first. */
export function useDeviceConnections(id: string, enabled: boolean) {
  return useQuery({
    queryKey: ['device', id, 'connections'],
    enabled,
    queryFn: async ({ signal }) =>
      (await unwrap(
        api.GET('/api/v1/client-audit/connections', {
          params: { query: { device: id, limit: 20 } },
          signal,
        }),
      )) as unknown as ConnectionPage,
  });
}

export function useRevokePreview(device: DeviceDetails, enabled: boolean) {
  return useQuery({
    queryKey: ['device', device.id, 'revoke-preview'],
    enabled,
    // TODO(devs): GET /devices/{id}/revoke-preview answers the cascade transitively; until it lands,
    // the devices linked directly.
    queryFn: (): RevokePreview => ({
      id: device.id,
      cascade: device.links.map((link) => link.id),
      alreadyRevoked: device.revoked,
      tooMany: false,
      maxCascade: 1_000,
    }),
  });
}

/** Everything that shows a device: its page and every list. */
export function useInvalidateDevices() {
  const client = useQueryClient();
  return async (id?: string) => {
    await Promise.all([
      client.invalidateQueries({ queryKey: ['devices'] }),
      id === undefined
        ? client.invalidateQueries({ queryKey: ['device'] })
        : client.invalidateQueries({ queryKey: deviceKey(id) }),
      client.invalidateQueries({ queryKey: ['device-groups'] }),
      client.invalidateQueries({ queryKey: ['dashboard'] }),
    ]);
  };
}

export type DeviceAction =
  | { kind: 'approve' }
  | { kind: 'ban'; reason: string }
  | { kind: 'unban' }
  | { kind: 'delete' }
  | { kind: 'revoke'; cascade: boolean; reason?: string }
  | { kind: 'change-id'; newId: string }
  | { kind: 'disconnect'; connId: number }
  | { kind: 'update'; note?: string | null; tags?: string[]; group?: string | null };

export async function runDeviceAction(id: string, action: DeviceAction): Promise<void> {
  const path = { params: { path: { id } } };
  switch (action.kind) {
    case 'approve':
      await unwrap(api.POST('/api/v1/devices/{id}/approve', path));
      return;
    case 'ban':
      await unwrap(api.POST('/api/v1/devices/{id}/ban', { ...path, body: { reason: action.reason } }));
      return;
    case 'unban':
      await unwrap(api.POST('/api/v1/devices/{id}/unban', path));
      return;
    case 'delete':
      await unwrap(api.DELETE('/api/v1/devices/{id}', { params: { path: { id }, query: {} } }));
      return;
    case 'revoke':
      await unwrap(
        api.POST('/api/v1/devices/{id}/revoke', {
          ...path,
          body: {
            cascade: action.cascade,
            ...(action.reason === undefined ? {} : { reason: action.reason }),
          },
        }),
      );
      return;
    case 'change-id':
      await unwrap(api.POST('/api/v1/devices/{id}/change-id', { ...path, body: { newId: action.newId } }));
      return;
    case 'disconnect':
      await unwrap(api.POST('/api/v1/devices/{id}/disconnect', { ...path, body: { connId: action.connId } }));
      return;
    case 'update': {
      const { kind: _kind, ...body } = action;
      await unwrap(api.PATCH('/api/v1/devices/{id}', { ...path, body }));
      return;
    }
  }
}

export function useDeviceAction(id: string) {
  const invalidate = useInvalidateDevices();
  return useMutation({
    mutationFn: (action: DeviceAction) => runDeviceAction(id, action),
    onSettled: () => invalidate(id),
  });
}

const OK_STATES: Record<BulkAction, (device: Device) => BulkOutcome> = {
  approve: (device) => (device.admission === 'admitted' ? 'already' : 'ok'),
  ban: (device) => (device.banned ? 'already' : 'ok'),
  unban: (device) => (device.banned ? 'ok' : 'already'),
  delete: (device) => (device.deleted ? 'already' : 'ok'),
};

function countOf(results: BulkResult['results']): BulkResult['counts'] {
  const counts = { ok: 0, not_found: 0, not_allowed: 0, already: 0 };
  for (const result of results) counts[result.outcome] += 1;
  return counts;
}

/**
 * One action on many devices. TODO(devs): POST /devices/bulk (with its dry run) replaces this loop
 * over the single-device routes once it lands.
 */
export async function runBulk(
  action: BulkAction,
  devices: readonly Device[],
  reason: string | undefined,
  dryRun: boolean,
): Promise<BulkResult> {
  const results: BulkResult['results'] = [];
  for (const device of devices) {
    const expected = OK_STATES[action](device);
    if (dryRun || expected !== 'ok') {
      results.push({ id: device.id, outcome: expected, message: null });
      continue;
    }
    try {
      if (action === 'ban') await runDeviceAction(device.id, { kind: 'ban', reason: reason ?? '' });
      else await runDeviceAction(device.id, { kind: action });
      results.push({ id: device.id, outcome: 'ok', message: null });
    } catch (error) {
      const outcome: BulkOutcome = isApiError(error, 404) ? 'not_found' : 'not_allowed';
      results.push({ id: device.id, outcome, message: error instanceof Error ? error.message : null });
    }
  }
  return { action, dryRun, results, counts: countOf(results) };
}
