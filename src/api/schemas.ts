// TypeBox schemas: one source for request validation and the OpenAPI document at /docs.
// Task bodies are validated loosely here (types a client may send) and precisely by parseTask,
// whose messages name the field; unknown fields are always kept.

import { Type, type TSchema } from '@sinclair/typebox';

const DateValue = Type.Union([Type.String(), Type.Number()], { description: 'ISO-8601 (no offset = UTC) or epoch ms' });

export const TaskBody = Type.Object(
  {
    id: Type.Optional(Type.String({ maxLength: 200, description: 'Generated (UUID v4) when absent' })),
    script: Type.Optional(Type.String({ description: 'http(s) URL, or a name relative to DIRECTOR_ASSETS_URL (e.g. hello.js)' })),
    running: Type.Optional(Type.Unknown({ description: 'true to schedule; falsy values ("" included) mean stopped' })),
    config: Type.Optional(Type.Unknown({ description: 'Passed to main(config)' })),
    configuration: Type.Optional(Type.Unknown({ description: 'Used as config when config is absent (Admin UI)' })),
    init: Type.Optional(Type.Union([DateValue, Type.Null()])),
    end: Type.Optional(Type.Union([DateValue, Type.Null()])),
    interval: Type.Optional(Type.Union([Type.Number(), Type.String(), Type.Null()], { description: 'Milliseconds; absent (and no cron) = on-demand task' })),
    cron: Type.Optional(Type.Union([Type.String(), Type.Null()], {
      description: 'Instead of interval: five fields (minute hour day-of-month month day-of-week) or six (seconds first), e.g. "0 3 * * *". ' +
        'A local time that does not exist (DST spring forward) is skipped; one that occurs twice runs once, at its first occurrence',
      examples: ['0 3 * * *', '*/10 * * * * *'],
    })),
    timezone: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'IANA time zone of cron, e.g. "Europe/Madrid"; default UTC. Only with cron', examples: ['Europe/Madrid'] })),
    timeout: Type.Optional(Type.Union([Type.Number(), Type.String()])),
    overlap: Type.Optional(Type.String({ enum: ['skip', 'allow', 'queue'] })),
    catchUp: Type.Optional(Type.String({ enum: ['skip', 'once', 'all'] })),
    retries: Type.Optional(Type.Unknown({ description: '{max, backoffMs}' })),
    notify: Type.Optional(Type.Unknown({
      description: 'Failure notifications of this task, besides the global ones (DIRECTOR_NOTIFY_WEBHOOKS): ' +
        '{webhooks: http(s) URLs (at most 10; answered masked as scheme://host/…, and a masked URL written back keeps the stored one), ' +
        'afterFailures: consecutive failures that make the task "failing" (default DIRECTOR_NOTIFY_AFTER_FAILURES), ' +
        'events: which of "failed", "failing", "recovered" its own webhooks get (default DIRECTOR_NOTIFY_EVENTS)}',
      examples: [{ webhooks: ['https://hooks.slack.com/services/T000/B000/XXXX'], afterFailures: 5, events: ['failing', 'recovered'] }],
    })),
  },
  { additionalProperties: true, description: 'A task; every field is stored verbatim, unknown ones too' },
);

export const TaskDocSchema = Type.Object({ id: Type.String() }, { additionalProperties: true });

export const ErrorSchema = Type.Object(
  { code: Type.Integer(), error: Type.String(), message: Type.String() },
  { additionalProperties: true },
);

export const IdParams = Type.Object({ id: Type.String({ maxLength: 1000 }) });

// At most 15 digits: a larger offset is not a safe integer, and SQLite refuses it as a datatype mismatch (a 500).
export const PageQuery = Type.Object(
  {
    limit: Type.Optional(Type.String({ pattern: '^\\d{1,15}$' })),
    offset: Type.Optional(Type.String({ pattern: '^\\d{1,15}$' })),
  },
  { additionalProperties: true },
);

export const RunSchema = Type.Object({}, { additionalProperties: true, description: 'A run record' });

/** Standard error responses of a route, for the OpenAPI document. */
export function errors(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((s) => [s, ErrorSchema]));
}

/** Parses a `limit`/`offset` pair with bounds, defaults applied. */
export function pageOf(query: { limit?: string; offset?: string }, defaultLimit: number, maxLimit: number): { limit: number; offset: number } {
  const limit = query.limit === undefined ? defaultLimit : Math.min(Number(query.limit), maxLimit);
  const offset = query.offset === undefined ? 0 : Number(query.offset);
  return { limit, offset };
}
