import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import { isApiError } from '../../api/api-error';
import { api, unwrap } from '../../api/client';
import { type DeviceFilters, listQueryOf } from './device-filters';
import { type BulkAction, type BulkResult } from './devices-types';

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
      return await unwrap(api.GET('/api/v1/devices', { params: { query }, signal }));
    },
    // A page stays on screen while the next one (or a narrower search) loads: no flash of "Loading…".
    placeholderData: keepPreviousData,
  });
}

/** How many devices wait for approval (a small set, so counting it is cheap even in a large fleet). */
export function usePendingCount(enabled: boolean) {
  return useQuery({
    queryKey: ['devices', 'pending-count'],
    enabled,
    queryFn: async ({ signal }) => {
      const query = { admission: 'pending', withTotal: 'true', limit: 1 } as const;
      return (await unwrap(api.GET('/api/v1/devices', { params: { query }, signal }))).total;
    },
    staleTime: 30_000,
  });
}

export function useDevice(id: string) {
  return useQuery({
    queryKey: deviceKey(id),
    queryFn: ({ signal }) => unwrap(api.GET('/api/v1/devices/{id}', { params: { path: { id } }, signal })),
    retry: (failures, error) => !isApiError(error, 404) && !isApiError(error, 403) && failures < 2,
  });
}

export function useDeviceGroups(enabled = true) {
  return useQuery({
    queryKey: ['device-groups'],
    enabled,
    queryFn: ({ signal }) => unwrap(api.GET('/api/v1/device-groups', { signal })),
    staleTime: 60_000,
  });
}

/** The RustDesk clients' own connection records for this device, newest first. */
export function useDeviceConnections(id: string, enabled: boolean) {
  return useQuery({
    queryKey: ['device', id, 'connections'],
    enabled,
    queryFn: ({ signal }) =>
      unwrap(
        api.GET('/api/v1/client-audit/connections', {
          params: { query: { device: id, limit: 20 } },
          signal,
        }),
      ),
  });
}

/** What a cascading revoke would take down: the linked devices, transitively (the api's own query). */
export function useRevokePreview(id: string, enabled: boolean) {
  return useQuery({
    queryKey: ['device', id, 'revoke-preview'],
    enabled,
    queryFn: ({ signal }) =>
      unwrap(api.GET('/api/v1/devices/{id}/revoke-preview', { params: { path: { id } }, signal })),
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

/** One action on many devices; `dryRun` answers what would happen (each device's outcome), changing nothing. */
export function runBulk(
  action: BulkAction,
  ids: readonly string[],
  reason: string | undefined,
  dryRun: boolean,
): Promise<BulkResult> {
  return unwrap(
    api.POST('/api/v1/devices/bulk', {
      body: { action, ids: [...ids], dryRun, ...(reason === undefined ? {} : { reason }) },
    }),
  );
}
