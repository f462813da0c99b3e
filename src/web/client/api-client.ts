// Calls Director's JSON API with the stored token; a 401 asks the app for a token instead of failing.

const TOKEN_KEY = 'director.token';

/** An API answer other than 2xx, with the fields of Director's error body. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  readonly body: Record<string, unknown>;

  constructor(status: number, body: Record<string, unknown>) {
    super(typeof body.message === 'string' ? body.message : `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = typeof body.error === 'string' ? body.error : `HTTP_${status}`;
    this.field = typeof body.field === 'string' ? body.field : undefined;
    this.body = body;
  }
}

export interface ApiClientOptions {
  /** Called when the server answers 401: the app shows the token dialog. */
  readonly onUnauthorized: () => void;
}

export class ApiClient {
  private token: string | null;
  private readonly options: ApiClientOptions;

  constructor(options: ApiClientOptions) {
    this.options = options;
    this.token = readToken();
  }

  hasToken(): boolean {
    return this.token !== null;
  }

  setToken(token: string | null): void {
    this.token = token;
    try {
      if (token === null) localStorage.removeItem(TOKEN_KEY);
      else localStorage.setItem(TOKEN_KEY, token);
    } catch {
      // Storage may be disabled (private mode): the token then lasts for this page only.
    }
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.token === null ? extra : { ...extra, authorization: `Bearer ${this.token}` };
  }

  /** JSON request; resolves with the parsed body (or its text), rejects with ApiError. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(path, {
      method,
      headers: this.headers(body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' }),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    if (response.status === 401) this.options.onUnauthorized();
    if (!response.ok) {
      const fields = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : { message: String(parsed || response.statusText) };
      throw new ApiError(response.status, fields);
    }
    return parsed as T;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }
}

function readToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export const taskPath = (id: string, rest = '') => `/api/v1/tasks/${encodeURIComponent(id)}${rest}`;
