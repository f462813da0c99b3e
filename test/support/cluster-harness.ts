// The scaffolding of a cluster test: a scratch PostgreSQL database and a loopback assets recorder for the
// describe block, replicas started on them, and every replica still running killed at the end.

import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import { startFetchRecorder, type FetchRecorder } from '../../bench/support/fetch-recorder.js';
import { createClusterDatabase, CLUSTER_TEST_POLICY, type ClusterDatabase } from './cluster-db.js';
import { startDirectorProcess, type DirectorProcess } from './director-process.js';

export interface ClusterHarness {
  readonly db: ClusterDatabase;
  readonly assets: FetchRecorder;
  /** Unique to this run of the tests: replica names carry it, so runs never share one. */
  readonly suffix: string;
  /**
   * Starts a replica on the database and the recorder (policy CLUSTER_TEST_POLICY), with `env` over
   * that; named `${name}-<n>-${suffix}` unless `id` is given.
   */
  startReplica(options?: { readonly env?: Record<string, string>; readonly timeoutMs?: number; readonly id?: string }): Promise<{ id: string; process: DirectorProcess }>;
}

/** Call inside a describe: its before/after hooks create and drop what the tests use. */
export function useCluster(name: string, script: string): ClusterHarness {
  let db: ClusterDatabase | undefined;
  let assets: FetchRecorder | undefined;
  const processes: DirectorProcess[] = [];
  const suffix = randomBytes(3).toString('hex');
  let started = 0;

  before(async () => {
    db = await createClusterDatabase(name);
    assets = await startFetchRecorder(script);
  });

  after(async () => {
    for (const replica of processes) if (replica.child.exitCode === null && replica.child.signalCode === null) replica.kill('SIGKILL');
    await Promise.all(processes.map((r) => r.exited));
    await assets?.close();
    await db?.drop();
  });

  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the cluster's ${what} is made in before(): use it inside a test`);
    return value;
  };

  return {
    get db() {
      return ready(db, 'database');
    },
    get assets() {
      return ready(assets, 'assets recorder');
    },
    suffix,
    async startReplica(options = {}) {
      const id = options.id ?? `${name}-${started++}-${suffix}`;
      const { url } = ready(db, 'database');
      const process = await startDirectorProcess({
        DIRECTOR_DATABASE_URL: url, DIRECTOR_INSTANCE_ID: id, DIRECTOR_ASSETS_URL: ready(assets, 'assets recorder').url,
        DIRECTOR_SCRIPT_POLICY: CLUSTER_TEST_POLICY, ...options.env,
      }, options.timeoutMs ?? 60_000);
      processes.push(process);
      return { id, process };
    },
  };
}
