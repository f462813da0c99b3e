// What every view gets from the app: the API client, the caller's role, live events and the announcer.

import { createContext } from 'preact';
import { useContext, useEffect, useRef, useState } from 'preact/hooks';
import type { ApiClient } from './api-client.js';
import type { LiveEvent } from './live-events.js';
import type { Action, Role } from './task-fields.js';
import { allows } from './task-fields.js';

export interface AppContextValue {
  readonly api: ApiClient;
  readonly role: Role;
  /** Bumped after login and after a reconnection of the live stream: views reload what they show. */
  readonly session: number;
  subscribe(listener: (event: LiveEvent) => void): () => void;
  /** Says something in the page's live region (and shows it as a toast). */
  announce(message: string, kind?: 'info' | 'error'): void;
}

export const AppContext = createContext<AppContextValue | null>(null);

export function useApp(): AppContextValue {
  const value = useContext(AppContext);
  if (!value) throw new Error('useApp outside <AppContext.Provider>');
  return value;
}

export function useCan(action: Action): boolean {
  return allows(useApp().role, action);
}

/** Calls `listener` for every live event while the component is mounted; the latest listener wins. */
export function useLive(listener: (event: LiveEvent) => void): void {
  const { subscribe } = useApp();
  const latest = useRef(listener);
  latest.current = listener;
  useEffect(() => subscribe((event) => latest.current(event)), [subscribe]);
}

/** The current time, refreshed every `everyMs`, for relative times ("in 5 s"). */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}
