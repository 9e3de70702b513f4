import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import { api, unwrap } from '../../api/client';

export const SETTINGS_QUERY_KEY = ['settings'] as const;

/** The known keys (libs/domain setting-keys.ts; values checked by libs/events settings.ts). */
export const REGISTRATION_POLICY_KEY = 'registration.policy';
export const CLIENT_ID_SERVER_KEY = 'client.id_server';
export const CLIENT_RELAY_SERVER_KEY = 'client.relay_server';
export const CLIENT_API_SERVER_KEY = 'client.api_server';

export function useSettings() {
  return useQuery({
    queryKey: SETTINGS_QUERY_KEY,
    queryFn: async () => (await unwrap(api.GET('/api/v1/settings'))).settings,
  });
}

/** Sets a key, or removes it (back to the configured default) when `value` is null. */
export function useSaveSetting(key: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (value: unknown) => {
      if (value === null) {
        await unwrap(api.DELETE('/api/v1/settings/{key}', { params: { path: { key } } }));
      } else {
        await unwrap(api.PUT('/api/v1/settings/{key}', { params: { path: { key } }, body: { value } }));
      }
    },
    // The change is also an audit entry, and the client configuration is derived from these keys.
    onSuccess: () =>
      Promise.all([
        client.invalidateQueries({ queryKey: SETTINGS_QUERY_KEY }),
        client.invalidateQueries({ queryKey: ['audit'] }),
        client.invalidateQueries({ queryKey: ['server-info'] }),
      ]),
  });
}

/** "you", or who the api recorded (`user:<id>`, `api_key:<prefix>`). */
export function changedBy(updatedBy: string | null, myId: string): string {
  if (updatedBy === null) return 'the system';
  return updatedBy === `user:${myId}` ? 'you' : updatedBy;
}
