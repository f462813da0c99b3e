// The dashboard shell: sign-in when the API asks for a token, the caller's role, live events, routing.

import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiClient, ApiError } from './api-client.js';
import { AppContext, useApp, type AppContextValue } from './app-context.js';
import { TokenDialog } from './dialogs.js';
import { followEvents, type LiveEvent, type LiveState } from './live-events.js';
import { allows, type Role } from './task-fields.js';
import { TaskDetail } from './task-detail.js';
import { TaskForm } from './task-form.js';
import { TasksView } from './tasks-view.js';
import { TestPane } from './test-pane.js';
import { Toasts, useToasts } from './toasts.js';
import { hrefOf, useRoute } from './use-route.js';
import { useTaskList } from './use-task-list.js';

interface Who {
  readonly name: string | null;
  readonly role: Role;
}

const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];

export function App() {
  const [needToken, setNeedToken] = useState(false);
  const [rejected, setRejected] = useState(false);
  const api = useMemo(() => new ApiClient({
    onUnauthorized: () => {
      setRejected(api.hasToken());
      setNeedToken(true);
    },
  }), []);
  const [who, setWho] = useState<Who | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [auth, setAuth] = useState(0);
  const [session, setSession] = useState(0);
  const [live, setLive] = useState<LiveState>('connecting');
  const listeners = useRef(new Set<(event: LiveEvent) => void>());
  const toasts = useToasts();

  // Who is calling decides which actions are shown; a Director without /whoami has no auth: full rights.
  useEffect(() => {
    let current = true;
    api.get<{ name?: string; role?: string; auth?: boolean }>('/api/v1/whoami').then(
      (w) => current && setWho({ name: w.auth === false ? null : w.name ?? null, role: ROLES.includes(w.role as Role) ? (w.role as Role) : 'viewer' }),
      (e: unknown) => {
        if (!current) return;
        if (e instanceof ApiError && e.status === 404) setWho({ name: null, role: 'admin' });
        else if (!(e instanceof ApiError && e.status === 401)) setFailure(`Director does not answer: ${(e as Error).message}`);
      },
    );
    return () => {
      current = false;
    };
  }, [api, auth]);

  useEffect(() => {
    if (!who) return;
    return followEvents({
      api,
      onEvent: (event) => listeners.current.forEach((listener) => listener(event)),
      onState: setLive,
      onResync: () => setSession((s) => s + 1),
    });
  }, [api, who, auth]);

  const subscribe = useCallback((listener: (event: LiveEvent) => void) => {
    listeners.current.add(listener);
    return () => listeners.current.delete(listener);
  }, []);

  const signIn = (token: string) => {
    api.setToken(token);
    setNeedToken(false);
    setFailure(null);
    setAuth((n) => n + 1);
    setSession((n) => n + 1);
  };
  const signOut = () => {
    api.setToken(null);
    setWho(null);
    setAuth((n) => n + 1);
  };

  const context = useMemo<AppContextValue | null>(
    () => (who ? { api, role: who.role, session, subscribe, announce: toasts.announce } : null),
    [api, who, session, subscribe, toasts.announce],
  );

  return (
    <>
      <a class="skip-link" href="#main">Skip to content</a>
      <header class="top">
        <a class="brand" href={hrefOf.tasks()}>Director</a>
        <nav aria-label="Main">
          <a href={hrefOf.tasks()}>Tasks</a>
          {who && allows(who.role, 'test') && <a href={hrefOf.test()}>Test a script</a>}
        </nav>
        {who && <span class={`live live-${live}`} role="status">{{ connecting: 'Connecting…', live: 'Live', offline: 'Offline, retrying' }[live]}</span>}
        {who?.name && <span class="who">{who.name} · {who.role}</span>}
        {api.hasToken() && <button type="button" class="link" onClick={signOut}>Sign out</button>}
      </header>
      <main id="main" tabIndex={-1}>
        {failure && <p class="error" role="alert">{failure} <button type="button" onClick={() => { setFailure(null); setAuth((n) => n + 1); }}>Retry</button></p>}
        {context ? (
          <AppContext.Provider value={context}>
            <Views />
          </AppContext.Provider>
        ) : !failure && !needToken && <p aria-busy="true">Connecting to Director…</p>}
      </main>
      <Toasts toasts={toasts.items} onDismiss={toasts.dismiss} />
      {needToken && <TokenDialog rejected={rejected} onSave={signIn} />}
    </>
  );
}

function Views() {
  const route = useRoute();
  const list = useTaskList();
  const { role } = useApp();
  const focusTarget = useRef<string>('');

  // A new view moves focus to its heading region, as a page load would.
  useEffect(() => {
    const key = JSON.stringify(route);
    if (focusTarget.current !== '' && focusTarget.current !== key) {
      window.scrollTo(0, 0);
      document.getElementById('main')?.focus({ preventScroll: true });
    }
    focusTarget.current = key;
  }, [route]);

  switch (route.view) {
    case 'task':
      return <TaskDetail key={route.id} id={route.id} {...(route.runId === undefined ? {} : { runId: route.runId })} />;
    case 'edit':
      return allows(role, 'edit') ? <TaskForm key={`edit-${route.id}`} id={route.id} /> : <NotAllowed />;
    case 'new':
      return allows(role, 'create') ? <TaskForm key="new" /> : <NotAllowed />;
    case 'test':
      return allows(role, 'test') ? <TestPane /> : <NotAllowed />;
    default:
      return <TasksView list={list} />;
  }
}

function NotAllowed() {
  return <p class="error" role="alert">Your role does not allow this. <a href={hrefOf.tasks()}>Back to the tasks</a></p>;
}
