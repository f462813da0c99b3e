// Structured JSON logs (pino). Secrets are redacted by path wherever they could appear.

import { pino, type Logger } from 'pino';

export type { Logger };

export const redactPaths = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'databaseUrl',
  'config.databaseUrl',
  'token',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { service: 'director' }, redact: { paths: redactPaths, censor: '[redacted]' } }, destination);
}
