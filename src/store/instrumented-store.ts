// Counts failed store operations by name (for /metrics) without touching each caller's error handling.

import type { Store } from './store.js';

export function countStoreErrors(store: Store, onError: (operation: string) => void): Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string' || property === 'close') return value;
      return (...args: unknown[]) => {
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (result instanceof Promise) {
          // The caller still gets the rejection; this only counts it.
          result.catch(() => onError(property));
        }
        return result;
      };
    },
  });
}
