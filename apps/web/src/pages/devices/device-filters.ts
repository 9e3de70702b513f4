import { type Admission, type DeviceListQuery, OS_FAMILIES, type OsFamily } from './devices-types';

// The device list's filters live in the address bar, so a reload or a shared link shows the same list.
// Unknown or malformed values are dropped rather than sent: the api would refuse them with a 400.

export const SORT_KEYS = ['rustdeskId', 'hostname', 'os', 'lastSeenAt', 'createdAt'] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export type Flag = 'true' | 'false';
export type DeviceView = 'all' | 'pending' | 'deleted';

export interface DeviceFilters {
  readonly view: DeviceView;
  readonly q: string;
  readonly online?: Flag;
  readonly banned?: Flag;
  readonly admission?: Admission;
  readonly os?: OsFamily | 'unknown';
  readonly group: string;
  readonly tag: string;
  readonly sort: SortKey;
  readonly order: 'asc' | 'desc';
}

const ADMISSIONS: readonly Admission[] = ['admitted', 'pending', 'rejected'];
const OS_VALUES: readonly (OsFamily | 'unknown')[] = [...OS_FAMILIES, 'unknown'];

function oneOf<T extends string>(values: readonly T[], value: string | null): T | undefined {
  return values.find((candidate) => candidate === value);
}

export function filtersOf(params: URLSearchParams): DeviceFilters {
  const view = oneOf<DeviceView>(['pending', 'deleted'], params.get('view')) ?? 'all';
  return {
    view,
    q: (params.get('q') ?? '').slice(0, 64),
    online: oneOf<Flag>(['true', 'false'], params.get('online')),
    banned: oneOf<Flag>(['true', 'false'], params.get('banned')),
    admission: view === 'pending' ? undefined : oneOf(ADMISSIONS, params.get('admission')),
    os: oneOf(OS_VALUES, params.get('os')),
    group: (params.get('group') ?? '').slice(0, 128),
    tag: (params.get('tag') ?? '').trim().slice(0, 64),
    sort: oneOf(SORT_KEYS, params.get('sort')) ?? 'rustdeskId',
    order: params.get('order') === 'desc' ? 'desc' : 'asc',
  };
}

/** Sets one filter in the address bar, removing it when empty or the default. */
export function withFilter(params: URLSearchParams, key: string, value: string | undefined): URLSearchParams {
  const next = new URLSearchParams(params);
  const isDefault =
    value === undefined ||
    value === '' ||
    (key === 'sort' && value === 'rustdeskId') ||
    (key === 'order' && value === 'asc') ||
    (key === 'view' && value === 'all');
  if (isDefault) next.delete(key);
  else next.set(key, value);
  return next;
}

/** The list call's query for these filters (without the cursor and page size). */
export function listQueryOf(filters: DeviceFilters): DeviceListQuery {
  const q = filters.q.trim();
  const admission = filters.view === 'pending' ? 'pending' : filters.admission;
  return {
    sort: filters.sort,
    order: filters.order,
    ...(q === '' ? {} : { q }),
    ...(filters.online === undefined ? {} : { online: filters.online }),
    ...(filters.banned === undefined ? {} : { banned: filters.banned }),
    ...(admission === undefined ? {} : { admission }),
    ...(filters.view === 'deleted' ? { deleted: 'true' as const } : {}),
    ...(filters.os === undefined ? {} : { os: filters.os }),
    ...(filters.group === '' ? {} : { group: filters.group }),
    ...(filters.tag === '' ? {} : { tag: filters.tag }),
  };
}

export function hasNarrowingFilter(filters: DeviceFilters): boolean {
  return (
    filters.q.trim() !== '' ||
    filters.online !== undefined ||
    filters.banned !== undefined ||
    filters.admission !== undefined ||
    filters.os !== undefined ||
    filters.group !== '' ||
    filters.tag !== ''
  );
}
