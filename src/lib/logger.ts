// Structured JSON logs (pino). Secrets are redacted by path wherever they could appear.

import { pino, type Logger } from 'pino';

export type { Logger };

export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'authorization',
  'password',
  'databaseUrl',
  'config.databaseUrl',
  'config.apiTokens',
  'apiTokens',
  'token',
];

/** `postgres://user:secret@host/db` → `postgres://user:***@host/db`: for any log line naming a database URL. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.href;
  } catch {
    return redactUrlsIn(url);
  }
}

// user:password@ inside any URL-looking text (error messages of drivers quote connection strings).
const CREDENTIALS_IN_URL = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:@/]*:)[^\s@/]*@/gi;

/** Masks the password of every URL inside free text. */
export function redactUrlsIn(text: string): string {
  return text.replace(CREDENTIALS_IN_URL, '$1***@');
}

/** Errors are logged with message and stack scrubbed: a driver may quote the connection string. */
function errSerializer(error: unknown): unknown {
  const serialized = pino.stdSerializers.err(error as Error) as unknown;
  if (!serialized || typeof serialized !== 'object') return serialized;
  const out = { ...(serialized as Record<string, unknown>) };
  for (const key of ['message', 'stack']) {
    if (typeof out[key] === 'string') out[key] = redactUrlsIn(out[key] as string);
  }
  return out;
}

/**
 * Without a destination, logs go to stdout asynchronously: a busy Director logs a line per run, and a
 * synchronous write per line blocks the event loop (for long when the reader of the pipe lags). Lines
 * written while a write is in flight go out together with the next one; pino flushes what is left
 * when the process exits (process.exit, an uncaught exception), so only a SIGKILL can lose the last few.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const out = destination ?? (level === 'silent' ? undefined : pino.destination({ dest: 1, sync: false }));
  return pino(
    { level, base: { service: 'director' }, redact: { paths: redactPaths, censor: '[redacted]' }, serializers: { err: errSerializer } },
    out,
  );
}
