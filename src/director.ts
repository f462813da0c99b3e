// Composition root: the only module that knows every other. Builds store, assets, runner, scheduler
// and API, and owns the start and stop order.
//
// Start: open store → assets → executor pool → scheduler (plans, catches up) → HTTP listen.
// Stop:  stop accepting requests → leave the replicas that claim (cluster: the others take this one's
//        tasks at once) → stop claiming slots and backfill runs, running the ones already claimed → running scripts get
//        the grace period, the rest are killed and recorded → in-flight requests end → pending failure
//        notifications get a short grace, the rest are dropped → close the store (cluster: its
//        database session last, so its runs count as alive until their outcome is written).

import type { FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Config } from './config.js';
import { buildApp } from './api/app.js';
import { createBackfillDriver } from './backfills/backfill-driver.js';
import { createBackfillRequests } from './backfills/backfill-requests.js';
import { createAssets } from './assets/assets.js';
import { prepareClusterMode, type ClusterMode } from './cluster/cluster-mode.js';
import { systemClock, type Clock } from './lib/clock.js';
import { DirectorEvents } from './lib/events.js';
import { createLogger, type Logger } from './lib/logger.js';
import { notifyOnRuns } from './notifications/notify-on-runs.js';
import { createWebhookSender } from './notifications/webhook-sender.js';
import { createMetrics } from './observability/metrics.js';
import { startRunLog } from './observability/run-log.js';
import { countStoreErrors } from './observability/count-store-errors.js';
import { createTaskRunner } from './runner/task-runner.js';
import { createHeldRuns } from './runs/held-runs.js';
import { createLeaseKeeper } from './runs/lease-keeper.js';
import { startRunRetention, type RunRetention } from './runs/run-retention.js';
import { createScheduler } from './scheduler/scheduler.js';
import type { ClusterStore, Store } from './store/store.js';
import { openSqliteStore } from './store/sqlite/sqlite-store.js';
import { createTasksFolder } from './task-files/tasks-folder.js';
import { createTaskWrites } from './tasks/task-writes.js';

export interface DirectorOptions {
  readonly logger?: Logger;
  readonly clock?: Clock;
  /**
   * The process environment, which executors derive theirs from: all of it minus Director's secrets
   * under trusted, only DIRECTOR_SCRIPT_ENV under strict. main.ts passes process.env; default empty.
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface Director {
  readonly config: Config;
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly events: DirectorEvents;
  readonly logger: Logger;
  /** Starts scheduling and listens on config.host:config.port; resolves with the base URL. */
  start(): Promise<string>;
  /** Starts scheduling without listening (in-process tests use app.inject). Idempotent. */
  startScheduling(): Promise<void>;
  /** Graceful stop in the documented order; idempotent. */
  stop(): Promise<void>;
}

/**
 * Cluster mode: how often each replica looks for runs whose owner's database session has ended. A
 * killed replica's runs are lost (and their tasks free) within this much of PostgreSQL noticing.
 */
const SESSION_SWEEP_MS = 500;

/** How long notifications still pending at shutdown may take before they are dropped. */
const NOTIFY_SHUTDOWN_GRACE_MS = 2000;

const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Director's address for links (notifications): DIRECTOR_PUBLIC_URL, else where it listens. */
function listeningUrl(config: Config, port: number): string {
  const everywhere = config.host === '0.0.0.0' || config.host === '::';
  const host = everywhere ? hostname() : config.host.includes(':') ? `[${config.host}]` : config.host;
  return `http://${host}:${port}`;
}

/** The store, and the same store as a cluster store when it is one (PostgreSQL). */
async function openStore(config: Config, logger: Logger): Promise<{ readonly store: Store; readonly cluster?: ClusterStore }> {
  if (config.databaseUrl) {
    const { openPostgresStore } = await import('./store/postgres/postgres-store.js');
    const store = await openPostgresStore({ url: config.databaseUrl, instanceId: config.instanceId, replicaSession: true, logger });
    return { store, cluster: store };
  }
  const file = path.join(config.dataDir, 'director.sqlite');
  logger.info({ file, sync: config.sqliteSync }, config.sqliteSync === 'full'
    ? 'SQLite store: writes are answered once on disk'
    : 'SQLite store: writes are answered once committed; a power cut may lose the last ones (DIRECTOR_SQLITE_SYNC=normal)');
  return { store: await openSqliteStore({ file, synchronous: config.sqliteSync === 'full' ? 'FULL' : 'NORMAL' }) };
}

/** Runs this process has handed to the runner and not seen finish (from its run events). */
function trackRunsInFlight(events: DirectorEvents) {
  const running = new Set<number>();
  events.on('run:started', (run) => running.add(run.id));
  events.on('run:finished', (run) => running.delete(run.id));
  return {
    /** Resolves once every run in flight is in an executor (none fetching or queued), or at `untilMs`. */
    async allStarted(executing: () => number, untilMs: number): Promise<void> {
      while (running.size > executing() && Date.now() < untilMs) await new Promise((resolve) => setTimeout(resolve, 10));
    },
  };
}

export async function createDirector(config: Config, options: DirectorOptions = {}): Promise<Director> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const events = new DirectorEvents();
  const opened = await openStore(config, logger);
  // Cluster mode: replicas share the PostgreSQL store, its clock, and the work (see README "Cluster mode").
  const cluster: ClusterMode | undefined = opened.cluster
    ? await prepareClusterMode({ store: opened.cluster, config, logger, ...(options.clock ? { clock: options.clock } : {}) })
    : undefined;
  const clock = cluster?.clock ?? options.clock ?? systemClock;
  // First, so that assets, runner and scheduler can report fetches and store errors to it; the pool is
  // read through a getter because the runner is built below (and is only read at scrape time).
  const metrics = createMetrics({ events, store: opened.store, runner: { poolState: () => runner.poolState() } });
  const store = countStoreErrors(opened.store, (operation) => metrics.storeError(operation));
  // Lease renewal extends only the runs this process holds: the scheduler's claims and the runner's runs.
  const held = createHeldRuns(config.instanceId);
  const stopHolding = held.follow(events);
  const assets = createAssets({ config, onFetch: (seconds, ok) => metrics.observeFetch(seconds, ok) });
  const runner = createTaskRunner({ config, store, assets, events, clock, env: options.env ?? {}, logger: logger.child({ module: 'runner' }) });
  // A single Director's store is written by nobody else: only a cluster replica re-reads every task.
  const schedulerConfig = { ...config, reconcileMs: cluster ? config.reconcileMs : null };
  // The one path for task writes: API, tasks folder and end-of-task. The scheduler is built below and
  // only called once a write happens, so it is reached through `replan` rather than passed in.
  const tasks = createTaskWrites({ store, assets, events, clock, replan: (id) => scheduler.taskChanged(id) });
  const scheduler = createScheduler({
    config: schedulerConfig, store, held, tasks, runner, events, clock, logger: logger.child({ module: 'scheduler' }), ...(cluster?.sharing ? { sharing: cluster.sharing } : {}),
  });
  // Renews this process's run leases and declares runs of dead processes lost (then retried); in cluster
  // mode it looks every SESSION_SWEEP_MS for replicas whose database session ended.
  const leaseKeeper = createLeaseKeeper({
    config, store, held, clock, events, logger: logger.child({ module: 'leases' }), ...(cluster ? { sweepMs: SESSION_SWEEP_MS } : {}),
  });
  // Backfills: every replica steps the active ones; a claim's compare-and-set keeps them from doubling.
  const backfillDriver = createBackfillDriver({ store, runner, held, events, clock, logger: logger.child({ module: 'backfills' }), config });
  const backfills = createBackfillRequests({ store, clock, config, onChange: () => backfillDriver.kick() });
  const stopRunLog = startRunLog({ events, logger: logger.child({ module: 'runs' }) });
  // Failure notifications: decided from each recorded outcome, sent in the background (never fatal).
  let baseUrl = config.publicUrl ?? listeningUrl(config, config.port);
  const notifyLogger = logger.child({ module: 'notifications' });
  const webhooks = createWebhookSender({
    clock, logger: notifyLogger, userAgent: `governify-director/${version}`, onOutcome: (event, outcome) => metrics.notification(event, outcome),
  });
  const notifier = notifyOnRuns({ events, store, config, sender: webhooks, clock, logger: notifyLogger, baseUrl: () => baseUrl });
  const inFlight = trackRunsInFlight(events);
  let retention: RunRetention | undefined;
  const tasksFolder = config.tasksDir === null ? null : createTasksFolder({
    dir: config.tasksDir, store, tasks, events, clock, logger: logger.child({ module: 'tasks-folder' }),
  });
  const app = await buildApp({
    config, store, scheduler, runner, tasks, backfills, events, logger, clock, metrics,
    ...(opened.cluster ? { session: { downReason: () => opened.cluster?.sessionDownReason() } } : {}),
  });

  let scheduling: Promise<void> | undefined;
  let listening: Promise<string> | undefined;
  let stopping: Promise<void> | undefined;

  function startScheduling(): Promise<void> {
    // Cluster mode: a replica becomes live for the others (they hand it a share of the tasks) only once
    // its executors are up. Joined before, its first share of runs waited for them to start, ran more
    // than their interval late on a 2-core machine and made the others skip those tasks' next slots.
    // An executor that cannot start is reported by /ready; the replica joins all the same.
    const joinCluster = async (): Promise<void> => {
      if (!cluster) return;
      await runner.ready().catch((error: unknown) => logger.warn({ err: error }, 'executors not ready; joining the cluster all the same'));
      await cluster.start({ scheduler, events });
    };
    const started = scheduling ?? joinCluster().then(() => scheduler.start()).then(async () => {
      leaseKeeper.start();
      backfillDriver.start();
      await tasksFolder?.start();
    });
    scheduling = started;
    retention ??= startRunRetention({ store, config, clock, logger: logger.child({ module: 'retention' }) });
    return started;
  }

  async function start(): Promise<string> {
    await startScheduling();
    listening ??= app.listen({ host: config.host, port: config.port });
    await listening;
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    baseUrl = config.publicUrl ?? listeningUrl(config, port);
    return `http://${host}:${port}`;
  }

  function stop(): Promise<void> {
    const stopped = stopping ?? (async () => {
      // A trim in flight must end before the store closes; nothing else waits for it.
      const retentionStopped = retention?.stop();
      const closing = app.close();
      await tasksFolder?.stop();
      await cluster?.stop();
      await scheduler.stop();
      await backfillDriver.stop();
      const graceEnds = Date.now() + config.shutdownGraceMs;
      // Cluster mode: runs handed to the runner but not started yet (fetching, or waiting for an
      // executor) are slots no other replica may run any more; they start within the grace rather than
      // being failed, so a rolling restart misses nothing. Running scripts are told to stop after that.
      if (cluster) await inFlight.allStarted(() => runner.poolState().executing, graceEnds);
      await runner.close(Math.max(0, graceEnds - Date.now()));
      // After the runner: runs finishing within the grace keep their lease until they end.
      await leaseKeeper.stop();
      await closing;
      await retentionStopped;
      // After the runner and the lease keeper: runs killed at shutdown are notified too, within the grace.
      notifier.stop();
      await notifier.idle();
      await webhooks.close(NOTIFY_SHUTDOWN_GRACE_MS);
      // Unsubscribed only now: runs killed at shutdown are still logged and counted.
      stopRunLog();
      stopHolding();
      metrics.close();
      assets.close();
      await store.close();
    })();
    stopping = stopped;
    return stopped;
  }

  return { config, app, store, events, logger, start, startScheduling, stop };
}
