// Bearer-token authorisation: every route declares its least role; this hook checks it before the
// body is read, so an anonymous client cannot make Director parse, validate or store anything.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiToken, Role } from '../config.js';
import { DirectorError } from '../domain/errors.js';

export type RouteRole = 'public' | Role;

/** Who is calling: the token's name and role, or anonymous (admin) when no tokens are configured. */
export interface Caller {
  readonly name: string;
  readonly role: Role;
  /** False when Director runs without tokens (loopback only, or DIRECTOR_AUTH=off). */
  readonly auth: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
  }
}

const RANK: Record<RouteRole, number> = { public: 0, viewer: 1, operator: 2, admin: 3 };

export const ANONYMOUS: Caller = Object.freeze({ name: 'anonymous', role: 'admin', auth: false });

/**
 * The least role of a request's route. Routes that declare none fail closed (admin), except the
 * OpenAPI pages (/docs, read-only and useful to anyone allowed to see the port) and unknown paths,
 * which need any valid token so that a 404 does not tell strangers which routes exist.
 */
export function requiredRole(request: FastifyRequest): RouteRole {
  const declared = request.routeOptions.config?.role;
  if (declared) return declared;
  if (request.is404) return 'viewer';
  const url = request.routeOptions.url ?? '';
  if (url === '/docs' || url.startsWith('/docs/')) return 'public';
  return 'admin';
}

/** The bearer token of an Authorization header, or undefined when there is none. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(value);
  return match ? match[1] : undefined;
}

export interface TokenMatcher {
  /** The configured token whose hash equals the given token's, or undefined. */
  match(token: string): ApiToken | undefined;
}

export function createTokenMatcher(tokens: readonly ApiToken[]): TokenMatcher {
  const hashes = tokens.map((token) => ({ token, digest: Buffer.from(token.sha256, 'hex') }));
  return {
    match(token) {
      const digest = createHash('sha256').update(token, 'utf8').digest();
      let found: ApiToken | undefined;
      // Every hash is compared, and all digests are 32 bytes: the time taken says nothing about
      // which token (or how much of one) matched.
      for (const candidate of hashes) {
        if (timingSafeEqual(candidate.digest, digest) && found === undefined) found = candidate.token;
      }
      return found;
    },
  };
}

/** Installs the check at the root instance so that it covers every route, the 404 handler included. */
export interface AuthDeps {
  readonly config: { readonly apiTokens: readonly ApiToken[] };
  /** True when the request comes from one of Director's executors (a script), which never gets in without a token. */
  readonly fromExecutor?: (request: FastifyRequest) => boolean;
}

export function installAuth(app: FastifyInstance, deps: AuthDeps): void {
  const tokens = deps.config.apiTokens;
  const matcher = createTokenMatcher(tokens);
  app.decorateRequest('caller', null);

  app.addHook('onRequest', async (request, reply) => {
    // With no tokens Director listens on loopback only, or the operator set DIRECTOR_AUTH=off: anyone
    // who reaches it is trusted, except a script of Director's own, whose host is loopback too.
    if (tokens.length === 0) {
      if (requiredRole(request) !== 'public' && deps.fromExecutor?.(request) === true) {
        throw new DirectorError('FORBIDDEN', 'scripts cannot use Director\'s API: it answers them only with an API token (DIRECTOR_API_TOKENS)');
      }
      request.caller = ANONYMOUS;
      return;
    }
    // CORS preflights carry no credentials by design; they reveal nothing and change nothing.
    if (request.method === 'OPTIONS') return;
    const needed = requiredRole(request);
    const token = bearerToken(request.headers.authorization);
    const found = token === undefined ? undefined : matcher.match(token);
    if (found) request.caller = { name: found.name, role: found.role, auth: true };
    if (needed === 'public') return;
    if (!found) {
      reply.header('www-authenticate', 'Bearer realm="director"');
      throw new DirectorError(
        'UNAUTHORIZED',
        token === undefined ? 'this route needs an API token: send Authorization: Bearer <token>' : 'the API token is not valid',
      );
    }
    if (RANK[found.role] < RANK[needed]) {
      throw new DirectorError('FORBIDDEN', `this route needs the ${needed} role; token "${found.name}" has ${found.role}`, { role: found.role, needed });
    }
  });
}
