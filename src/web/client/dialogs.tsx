// Modal dialogs on the native <dialog>: focus moves in, Escape cancels, focus returns where it was.

import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

interface ModalProps {
  readonly title: string;
  readonly onCancel: () => void;
  readonly children: ComponentChildren;
  readonly id?: string;
}

export function Modal({ title, onCancel, children, id = 'dialog' }: ModalProps) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const before = document.activeElement as HTMLElement | null;
    if (!dialog.open) dialog.showModal();
    return () => {
      if (dialog.open) dialog.close();
      before?.focus?.();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      class="modal"
      aria-labelledby={`${id}-title`}
      onCancel={(event) => {
        event.preventDefault();
        onCancel();
      }}
    >
      <h2 id={`${id}-title`}>{title}</h2>
      {children}
    </dialog>
  );
}

interface ConfirmProps {
  readonly title: string;
  readonly message: string;
  readonly confirmLabel: string;
  /** The button that changes nothing; "Cancel" unless that word is the action itself ("Cancel backfill"). */
  readonly cancelLabel?: string;
  readonly onConfirm: () => void;
  readonly onCancel: () => void;
}

export function ConfirmDialog({ title, message, confirmLabel, cancelLabel = 'Cancel', onConfirm, onCancel }: ConfirmProps) {
  return (
    <Modal title={title} onCancel={onCancel} id="confirm">
      <p>{message}</p>
      <div class="dialog-buttons">
        <button type="button" autoFocus onClick={onCancel}>{cancelLabel}</button>
        <button type="button" class="danger" onClick={onConfirm}>{confirmLabel}</button>
      </div>
    </Modal>
  );
}

interface TokenProps {
  readonly rejected: boolean;
  readonly onSave: (token: string) => void;
}

/** Asked for when the API answers 401; not cancellable: nothing can be shown without a token. */
export function TokenDialog({ rejected, onSave }: TokenProps) {
  const [token, setToken] = useState('');
  return (
    <Modal title="Sign in to Director" onCancel={() => undefined} id="token">
      <form
        method="dialog"
        onSubmit={(event) => {
          event.preventDefault();
          if (token.trim() !== '') onSave(token.trim());
        }}
      >
        <p>This Director requires an API token (one of DIRECTOR_API_TOKENS). It is kept in this browser only.</p>
        {rejected && <p class="error" role="alert">The token was not accepted. Check it and try again.</p>}
        <label for="token-input">API token</label>
        <input id="token-input" type="password" autoComplete="current-password" autoFocus required value={token} onInput={(e) => setToken(e.currentTarget.value)} />
        <div class="dialog-buttons">
          <button type="submit" class="primary">Sign in</button>
        </div>
      </form>
    </Modal>
  );
}
