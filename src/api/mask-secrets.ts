// What a viewer token sees of a task: secret-looking config values masked. Operators and admins (and
// the anonymous admin of a token-less loopback Director) see the task as stored.
//
// The rule (DIRECTOR_MASK_KEYS): inside `config` and `configuration`, at any depth, the value of every
// key matching the pattern (default pass|secret|token|key|auth|credential, case-insensitive) becomes
// "***"; anywhere in the task, the password of a URL (scheme://user:password@host) becomes "***".
// Only config is masked by key: top-level fields such as `tags.keyValue` (TPA-Manager's grouping) are
// not secrets and must stay readable.

import type { TaskDoc } from '../domain/task.js';

export const MASK = '***';
const CONFIG_FIELDS = ['config', 'configuration'];
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:@/?#]*:)[^\s@/?#]*@/gi;

export type DocMasker = (doc: TaskDoc) => TaskDoc;

export function createDocMasker(maskKeys: string | null): DocMasker {
  const secretKey = maskKeys === null ? null : new RegExp(maskKeys, 'i');

  function mask(value: unknown, byKey: boolean, depth: number): unknown {
    if (typeof value === 'string') return value.includes('@') ? value.replace(URL_PASSWORD, `$1${MASK}@`) : value;
    if (typeof value !== 'object' || value === null || depth > 300) return value;
    if (Array.isArray(value)) return value.map((item) => mask(item, byKey, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      // Object.entries and defineProperty: a key named __proto__ stays a plain field.
      const masked = byKey && secretKey !== null && secretKey.test(key) && inner !== null && inner !== undefined && inner !== ''
        ? MASK
        : mask(inner, byKey, depth + 1);
      Object.defineProperty(out, key, { value: masked, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }

  return (doc) => {
    const out: TaskDoc = {};
    for (const [key, value] of Object.entries(doc)) {
      Object.defineProperty(out, key, { value: mask(value, CONFIG_FIELDS.includes(key), 0), enumerable: true, writable: true, configurable: true });
    }
    return out;
  };
}

/** The password of every URL in a text masked (run records' script URLs and error messages). */
export function maskUrlPasswords(text: string): string {
  return text.includes('@') ? text.replace(URL_PASSWORD, `$1${MASK}@`) : text;
}
