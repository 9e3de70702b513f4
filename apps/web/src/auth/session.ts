import { useQuery, useQueryClient } from '@tanstack/react-query';

import { isApiError } from '../api/api-error';
import { api, csrfToken, unwrap } from '../api/client';
import { type components } from '../api/schema';

export type Me = components['schemas']['Me'];
export type Permission = Me['permissions'][number];

export const ME_QUERY_KEY = ['me'] as const;

/** Who is signed in: undefined while loading, null when nobody is (a 401). */
export function useMe(): { me: Me | null | undefined; error: unknown } {
  const query = useQuery({
    queryKey: ME_QUERY_KEY,
    queryFn: async () => {
      // No CSRF cookie, no session (they are set and cleared together): skip the call, whose 401
      // would be the first thing every signed-out visit logs.
      if (csrfToken() === undefined) return null;
      try {
        return await unwrap(api.GET('/api/v1/auth/me'));
      } catch (error) {
        if (isApiError(error, 401)) return null;
        throw error;
      }
    },
    staleTime: 60_000,
  });
  return { me: query.data, error: query.error };
}

/** The signed-in user, inside the authenticated shell (RequireSession guarantees one). */
export function useSignedIn(): Me {
  const { me } = useMe();
  if (me === null || me === undefined) throw new Error('useSignedIn outside the signed-in shell');
  return me;
}

/** Whether the signed-in user may do this. The api enforces it anyway; the console only hides controls. */
export function useCan(permission: Permission): boolean {
  return useSignedIn().permissions.includes(permission);
}

export function useSignOut(): () => Promise<void> {
  const client = useQueryClient();
  return async () => {
    try {
      await unwrap(api.POST('/api/v1/auth/logout', { body: {} }));
    } finally {
      client.clear();
      client.setQueryData(ME_QUERY_KEY, null);
    }
  };
}
