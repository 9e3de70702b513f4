import { useQueryClient } from '@tanstack/react-query';
import {
  createContext,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
} from 'react';

import { useMe } from '../auth/session';

/**
 * The api's live stream (GET /api/v1/live, a WebSocket on the session cookie; see
 * apps/api/src/live-events): each frame makes the queries it touches refetch, so every page shows
 * the change without knowing about the stream. Reconnects with backoff; a `resync` refetches all.
 */

export interface LiveMessage {
  readonly type: string;
  readonly at: string;
  readonly data: Record<string, unknown>;
}
export type LiveState = 'connecting' | 'live' | 'offline';
type Listener = (message: LiveMessage) => void;

interface LiveContext {
  readonly state: LiveState;
  readonly subscribe: (listener: Listener) => () => void;
}

const Context = createContext<LiveContext>({ state: 'offline', subscribe: () => () => undefined });

const MAX_BACKOFF_MS = 30_000;
/**
 * A fleet coming online sends a frame per device: queries are marked stale at most this often, so a
 * burst costs each visible page one refetch, not hundreds.
 */
const INVALIDATE_EVERY_MS = 500;

/** Which cached queries a message makes stale (their first key segment). */
function staleQueriesOf(type: string): readonly string[] {
  if (type.startsWith('device.') || type.startsWith('devices.')) return ['devices', 'device', 'dashboard'];
  if (type.startsWith('audit.')) return ['audit', 'dashboard'];
  if (type.startsWith('relay.') || type.startsWith('relays.')) return ['relays', 'dashboard'];
  return [];
}

export function LiveEventsProvider({ children }: { children: ReactNode }) {
  const { me } = useMe();
  const client = useQueryClient();
  const [state, setState] = useState<LiveState>('offline');
  const listeners = useRef(new Set<Listener>());
  const signedIn = me !== null && me !== undefined && !me.passwordMustChange;

  useEffect(() => {
    if (!signedIn) return;
    let socket: WebSocket | undefined;
    let retry: number | undefined;
    let attempts = 0;
    let stopped = false;
    const staleKeys = new Set<string>();
    let flush: number | undefined;
    const markStale = (keys: Iterable<string>) => {
      for (const key of keys) staleKeys.add(key);
      flush ??= window.setTimeout(() => {
        flush = undefined;
        for (const key of staleKeys) void client.invalidateQueries({ queryKey: [key] });
        staleKeys.clear();
      }, INVALIDATE_EVERY_MS);
    };

    const connect = () => {
      setState('connecting');
      const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
      socket = new WebSocket(`${scheme}//${window.location.host}/api/v1/live`);
      socket.onopen = () => {
        attempts = 0;
        setState('live');
      };
      socket.onmessage = (event: MessageEvent<unknown>) => {
        if (typeof event.data !== 'string') return;
        let message: LiveMessage;
        try {
          message = JSON.parse(event.data) as LiveMessage;
        } catch {
          return;
        }
        if (message.type === 'resync') {
          const scope = Array.isArray(message.data['scope']) ? (message.data['scope'] as unknown[]) : [];
          const keys = scope.flatMap((part) => staleQueriesOf(`${String(part)}.`));
          if (keys.length === 0) void client.invalidateQueries();
          else markStale(keys);
        } else {
          markStale(staleQueriesOf(message.type));
        }
        for (const listener of listeners.current) listener(message);
      };
      socket.onclose = () => {
        setState('offline');
        if (stopped) return;
        // The browser hides why an upgrade was refused, and 4401 means the session ended: asking who
        // we are sends a signed-out user to the sign-in page (and stops this loop), else we retry.
        void client.invalidateQueries({ queryKey: ['me'] });
        const delay = Math.min(MAX_BACKOFF_MS, 1_000 * 2 ** attempts) * (0.5 + Math.random() / 2);
        attempts += 1;
        retry = window.setTimeout(connect, delay);
      };
    };
    connect();
    return () => {
      stopped = true;
      window.clearTimeout(retry);
      window.clearTimeout(flush);
      socket?.close();
      setState('offline');
    };
  }, [signedIn, client]);

  const subscribe = useCallback((listener: Listener) => {
    listeners.current.add(listener);
    return () => {
      listeners.current.delete(listener);
    };
  }, []);
  const value = useMemo(() => ({ state, subscribe }), [state, subscribe]);
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

export function useLiveState(): LiveState {
  return useContext(Context).state;
}

/** Calls `listener` for every live message while the component is mounted. */
export function useLiveMessages(listener: Listener): void {
  const { subscribe } = useContext(Context);
  const latest = useRef(listener);
  useEffect(() => {
    latest.current = listener;
  });
  useEffect(() => subscribe((message) => latest.current(message)), [subscribe]);
}
