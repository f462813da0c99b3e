// The HTTP app, built without listening so tests drive it in-process with app.inject().

import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Config } from '../config.js';
import type { DirectorEvents } from '../lib/events.js';
import type { Logger } from '../lib/logger.js';
import type { TaskRunner } from '../runner/runner.js';
import type { Store } from '../store/store.js';
import { DirectorError } from '../domain/errors.js';
import type { Task } from '../domain/task.js';
import type { BackfillRequests } from '../backfills/backfill-requests.js';
import type { TaskWrites } from '../tasks/task-writes.js';
import { DRAIN_MAX_BYTES, installErrorHandling } from './error-handler.js';
import { installHttpEdge } from './http-edge.js';
import { jsonErrorWithoutText } from './json-error.js';
import type { Metrics } from '../observability/metrics.js';
import { installAuth } from './auth.js';
import { createExecutorPeerCheck } from './executor-peers.js';
import { jsonDeeperThan, MAX_JSON_DEPTH } from './json-depth.js';
import { installCloseConnectionsOnClose } from './close-connections.js';
import { installRateLimit } from './rate-limit.js';
import { installRequestIdEcho, requestId } from './request-id.js';
import { installHttpMetrics, metricsRoutes } from './routes/metrics.js';
import { whoamiRoutes } from './routes/whoami.js';
import { taskRoutes } from './routes/tasks.js';
import { taskStatusRoutes } from './routes/task-status.js';
import { taskRunRoutes } from './routes/task-runs.js';
import { backfillRoutes } from './routes/backfills.js';
import { healthRoutes } from './routes/health.js';
import { eventRoutes } from './routes/events.js';
import { webRoutes } from '../web/web-routes.js';
import { commonsRoutes } from './routes/commons.js';

/** What the API needs of the scheduler. */
export interface SchedulerPort {
  /** The next slot the scheduler will run, if the task is planned. */
  nextExecution(id: string): number | undefined;
  /** The next slots of a task: as planned when it runs here, as they would be otherwise. */
  previewSlots(task: Task, count: number): number[];
  /** Slots of a task that will never run (downtime, late wake-ups), counted since start. */
  stats(id: string): { readonly missedSlots: number } | undefined;
  isRunning(): boolean;
  /** Why slots are not being claimed although the scheduler runs (store unreachable), if so. */
  claimsPausedReason?(): string | undefined;
}

export interface ApiDeps {
  readonly config: Config;
  readonly store: Store;
  readonly scheduler: SchedulerPort;
  /** Null until an executor pool is available: run routes answer 503. */
  readonly runner: TaskRunner | null;
  /** Every task write goes through the one task-write service. */
  readonly tasks: TaskWrites;
  /** Asking for and cancelling backfills (the driver runs them). */
  readonly backfills: BackfillRequests;
  readonly events: DirectorEvents;
  readonly logger: Logger;
  readonly clock: { now(): number };
  /** Cluster mode: this replica's database session, without which it claims and starts nothing (/ready). */
  readonly session?: { downReason(): string | undefined };
  /** Prometheus metrics: GET /metrics and HTTP request timings; absent in API-only tests. */
  readonly metrics?: Metrics;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Least role allowed to call the route when API tokens are configured. */
    role?: 'public' | 'viewer' | 'operator' | 'admin';
  }
}

export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // pino's Logger and Fastify's logger type differ only in optional members.
    loggerInstance: deps.logger as unknown as FastifyBaseLogger,
    // One line per request would double the log volume of a busy Director; 5xx are logged below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.config.bodyLimitBytes,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1000 },
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false } },
    // A sane incoming x-request-id is kept, anything else replaced (see request-id.ts).
    requestIdHeader: false,
    genReqId: requestId,
    // request.ip is the socket's address unless it is a listed proxy (DIRECTOR_TRUST_PROXY).
    trustProxy: deps.config.trustProxy.length > 0 ? [...deps.config.trustProxy] : false,
  });

  // JSON only: an empty body is allowed (clients POST /run with a JSON content type and nothing else, or
  // with no body and whatever type their library sets); bad JSON is a 400. Other types with a body were
  // refused with 415 before this point (http-edge.ts): a page could send them cross-site without a preflight.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, text, done) => {
    const body = String(text);
    if (body.trim() === '') return done(null, undefined);
    try {
      const value: unknown = JSON.parse(body);
      if (jsonDeeperThan(value, MAX_JSON_DEPTH)) return done(new DirectorError('INVALID_BODY', `the body nests deeper than ${MAX_JSON_DEPTH} levels`), undefined);
      done(null, value);
    } catch (error) {
      done(new DirectorError('INVALID_BODY', `the body is not valid JSON: ${jsonErrorWithoutText(error)}`), undefined);
    }
  });
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, bytes, done) => {
    if ((bytes as Buffer).length === 0) return done(null, undefined);
    done(new DirectorError('UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json (content-type: application/json)'), undefined);
  });

  installErrorHandling(app, { drainMaxBytes: Math.max(DRAIN_MAX_BYTES, deps.config.bodyLimitBytes) });
  // First of the hooks: a refused Host or Origin is refused before anything else happens.
  installHttpEdge(app, deps.config);
  app.addHook('onResponse', (request, reply, done) => {
    if (reply.statusCode >= 500) request.log.error({ method: request.method, url: request.url, status: reply.statusCode }, 'request answered 5xx');
    done();
  });

  await app.register(cors, {
    // None by default: only the configured origins (or all with *, as Governify deployments set) may read answers.
    origin: deps.config.corsOrigins.includes('*') ? '*' : deps.config.corsOrigins.length > 0 ? [...deps.config.corsOrigins] : false,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    optionsSuccessStatus: 204,
  });
  // After CORS (a 401 still carries its headers), before the routes; rate limit before auth so that
  // guessing tokens is limited too.
  installRequestIdEcho(app);
  installCloseConnectionsOnClose(app);
  if (deps.metrics) installHttpMetrics(app, deps.metrics);
  installRateLimit(app, deps);
  const runner = deps.runner;
  const fromExecutor = runner === null ? undefined : createExecutorPeerCheck(() => runner.executorPids());
  installAuth(app, { config: deps.config, ...(fromExecutor ? { fromExecutor: (request) => fromExecutor(request.raw.socket) } : {}) });
  await app.register(swagger, {
    openapi: {
      info: { title: 'Director', description: 'Task scheduler of the Governify platform', version: '1' },
      tags: [{ name: 'tasks' }, { name: 'runs' }, { name: 'backfills' }, { name: 'operations' }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  await app.register(async (api) => {
    await taskRoutes(api, deps);
    await taskStatusRoutes(api, deps);
    await taskRunRoutes(api, deps);
  }, { prefix: '/api/v1/tasks' });
  await backfillRoutes(app, deps);
  await healthRoutes(app, deps);
  await whoamiRoutes(app);
  if (deps.metrics) await metricsRoutes(app, deps.metrics);
  await eventRoutes(app, deps);
  await webRoutes(app);
  await commonsRoutes(app, deps);
  return app;
}
