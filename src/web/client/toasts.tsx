// Short messages about what just happened, read out by screen readers; errors stay until dismissed.

import { useCallback, useState } from 'preact/hooks';

export interface Toast {
  readonly id: number;
  readonly message: string;
  readonly kind: 'info' | 'error';
}

const SHOWN_MS = 6000;
const MAX_SHOWN = 4;
let nextId = 1;

export function useToasts() {
  const [items, setItems] = useState<readonly Toast[]>([]);
  const dismiss = useCallback((id: number) => setItems((list) => list.filter((t) => t.id !== id)), []);
  const announce = useCallback((message: string, kind: 'info' | 'error' = 'info') => {
    const id = nextId++;
    setItems((list) => [...list, { id, message, kind }].slice(-MAX_SHOWN));
    if (kind === 'info') setTimeout(() => dismiss(id), SHOWN_MS);
  }, [dismiss]);
  return { items, announce, dismiss };
}

export function Toasts({ toasts, onDismiss }: { readonly toasts: readonly Toast[]; readonly onDismiss: (id: number) => void }) {
  const info = toasts.filter((t) => t.kind === 'info');
  const errors = toasts.filter((t) => t.kind === 'error');
  const item = (t: Toast) => (
    <li key={t.id} class={`toast ${t.kind}`}>
      <span>{t.message}</span>
      <button type="button" class="link" onClick={() => onDismiss(t.id)} aria-label="Dismiss">×</button>
    </li>
  );
  // Two regions: errors interrupt (role=alert), the rest waits its turn (polite).
  return (
    <div class="toasts">
      <ul aria-live="assertive" role="alert" aria-label="Errors">{errors.map(item)}</ul>
      <ul aria-live="polite" role="status" aria-label="Messages">{info.map(item)}</ul>
    </div>
  );
}
