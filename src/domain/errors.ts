// One error type with a code catalogue; the HTTP status of every code is decided here and nowhere else.

export const errorCatalogue = {
  INVALID_BODY: 400,
  INVALID_FIELD: 400,
  INVALID_QUERY: 400,
  TASK_ALREADY_EXISTS: 400,
  TASK_ALREADY_RUNNING: 400,
  TASK_NOT_RUNNING: 400,
  ACTION_NOT_PERMITTED: 400,
  SCRIPT_ORIGIN_REJECTED: 400,
  SIBLING_JSON_INVALID: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  HOST_NOT_ALLOWED: 403,
  ORIGIN_NOT_ALLOWED: 403,
  TASK_NOT_FOUND: 404,
  BACKFILL_NOT_FOUND: 404,
  NOT_FOUND: 404,
  BACKFILL_OVERLAPS: 409,
  BACKFILL_ENDED: 409,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  SCRIPT_FAILED: 500,
  ASSETS_UNREACHABLE: 502,
  RUNNER_UNAVAILABLE: 503,
  STORE_UNAVAILABLE: 503,
  TEST_ENDPOINT_DISABLED: 404,
} as const;

export type ErrorCode = keyof typeof errorCatalogue;

export class DirectorError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra JSON fields sent to the client with the error (e.g. `field`, `stage`). */
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'DirectorError';
    this.code = code;
    this.status = errorCatalogue[code];
    this.details = details;
  }
}

export function isDirectorError(error: unknown): error is DirectorError {
  return error instanceof DirectorError;
}

/** Shorthand for the most common error: a field of a request that is not acceptable. */
export function invalidField(field: string, reason: string): DirectorError {
  return new DirectorError('INVALID_FIELD', `${field}: ${reason}`, { field });
}
