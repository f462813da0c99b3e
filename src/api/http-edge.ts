// What a web page may do with Director: the Host and Origin checks and the JSON-only body rule.
// In the default setup (loopback, no tokens) a page on another site can neither read Director (no CORS,
// and DNS rebinding fails the Host check) nor change it (foreign Origins are refused, and a body that is
// not application/json, which a page could send without a preflight, gets 415 before it is read).

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { hostnameOf, isLoopbackHost, type Config } from '../config.js';
import { DirectorError } from '../domain/errors.js';

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export interface EdgeRules {
  /** Null when any Host is accepted. */
  hostAllowed: ((host: string) => boolean) | null;
  originAllowed(origin: string, host: string | undefined): boolean;
}

export function edgeRules(config: Pick<Config, 'host' | 'publicHosts' | 'corsOrigins'>): EdgeRules {
  const hosts = new Set(config.publicHosts);
  // Listening beyond loopback, Director is reached under names it cannot know (service names, load
  // balancers); there tokens (or DIRECTOR_AUTH=off) decide, unless the operator lists the names.
  const checkHosts = !hosts.has('*') && (hosts.size > 0 || isLoopbackHost(config.host));
  const anyOrigin = config.corsOrigins.includes('*');
  const origins = new Set(config.corsOrigins);
  return {
    hostAllowed: checkHosts
      ? (host) => {
          const name = hostnameOf(host);
          if (name === null) return false;
          return isLoopbackHost(name) || hosts.has(name) || hosts.has(host.trim().toLowerCase());
        }
      : null,
    originAllowed(origin, host) {
      if (anyOrigin || origins.has(origin)) return true;
      // Same origin (the dashboard): the page's host is the one the request was sent to. The scheme is
      // not compared: behind a TLS-terminating proxy the page is https and the request reaches us as http.
      if (host === undefined || origin === 'null') return false;
      try {
        const page = new URL(origin);
        return page.host === new URL(`${page.protocol}//${host.trim()}`).host;
      } catch {
        return false;
      }
    },
  };
}

/** Is the body one a page could send cross-site without a preflight, or anything else but JSON? */
function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

const JSON_TYPE = /^application\/json\s*(;|$)/i;

/** Runs first of all hooks: nothing is parsed, authorised or counted for a refused request. */
export function installHttpEdge(app: FastifyInstance, config: Pick<Config, 'host' | 'publicHosts' | 'corsOrigins'>): void {
  const rules = edgeRules(config);
  app.addHook('onRequest', async (request) => {
    const host = request.headers.host;
    // HTTP/1.0 clients may omit Host; browsers always send it, so its absence is no rebinding.
    if (rules.hostAllowed && host !== undefined && !rules.hostAllowed(host)) {
      throw new DirectorError(
        'HOST_NOT_ALLOWED',
        `Host "${host.slice(0, 100)}" is not a name of this Director: use localhost or 127.0.0.1, or list the name in DIRECTOR_PUBLIC_HOSTS`,
      );
    }
    if (!STATE_CHANGING.has(request.method)) return;
    const origin = request.headers.origin;
    if (origin !== undefined && !rules.originAllowed(origin, host)) {
      throw new DirectorError(
        'ORIGIN_NOT_ALLOWED',
        `requests from ${origin.slice(0, 100)} may not change anything here: list the origin in DIRECTOR_CORS_ORIGINS`,
      );
    }
    if (hasBody(request) && !JSON_TYPE.test(request.headers['content-type'] ?? '')) {
      throw new DirectorError('UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json (content-type: application/json)');
    }
  });
}
