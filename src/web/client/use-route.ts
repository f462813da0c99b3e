// Hash routes, so that Director serves one page and a reload or a shared link opens the same view.

import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { readonly view: 'tasks' }
  /** `runId`: a run opened in the history (the links of failure notifications). */
  | { readonly view: 'task'; readonly id: string; readonly runId?: number }
  | { readonly view: 'edit'; readonly id: string }
  | { readonly view: 'new' }
  | { readonly view: 'test' };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '');
  const task = /^\/tasks\/([^/]+)(?:(\/edit)|\/runs\/(\d{1,15}))?$/.exec(path);
  if (task) {
    let id = task[1]!;
    try {
      id = decodeURIComponent(id);
    } catch {
      // a malformed escape: use the text as it is
    }
    if (task[2]) return { view: 'edit', id };
    return task[3] ? { view: 'task', id, runId: Number(task[3]) } : { view: 'task', id };
  }
  if (path === '/new') return { view: 'new' };
  if (path === '/test') return { view: 'test' };
  return { view: 'tasks' };
}

export const hrefOf = {
  tasks: () => '#/',
  task: (id: string) => `#/tasks/${encodeURIComponent(id)}`,
  run: (id: string, runId: number) => `#/tasks/${encodeURIComponent(id)}/runs/${runId}`,
  edit: (id: string) => `#/tasks/${encodeURIComponent(id)}/edit`,
  create: () => '#/new',
  test: () => '#/test',
};

export function navigate(href: string): void {
  window.location.hash = href.replace(/^#/, '');
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}
