// Runs the benchmark scenarios in sequence: `npm run bench [-- --only <name|group> --seconds N]`.
// Module scenarios export `scenarios: BenchScenario[]`; older stand-alone scripts run as child processes.

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchScenario } from './support/scenario.js';

const here = path.dirname(fileURLToPath(import.meta.url));

type Source =
  | { readonly kind: 'module'; readonly group: string; load(): Promise<readonly BenchScenario[]> }
  | { readonly kind: 'script'; readonly group: string; readonly file: string; readonly description: string };

/** Add a scenario module here (a group name is what `--only` selects). */
const sources: readonly Source[] = [
  { kind: 'module', group: 'scheduler', load: async () => (await import('./scheduler.js')).scenarios },
  { kind: 'module', group: 'execution', load: async () => (await import('./scheduler.js')).executionScenarios },
  { kind: 'module', group: 'backfill', load: async () => (await import('./backfill.js')).scenarios },
  { kind: 'module', group: 'cluster', load: async () => [...(await import('./cluster.js')).scenarios, ...(await import('./cluster-failover.js')).scenarios] },
  {
    kind: 'module',
    group: 'api',
    load: async () => {
      const { apiBenchmark } = await import('./api.js');
      return [
        { name: 'api:crud', description: 'HTTP API: creates, GET one, list 10,000 tasks (DIRECTOR_SQLITE_SYNC=full, the default)', run: () => apiBenchmark() },
        { name: 'api:crud-normal', description: 'the same with DIRECTOR_SQLITE_SYNC=normal', run: () => apiBenchmark({ DIRECTOR_SQLITE_SYNC: 'normal' }) },
      ];
    },
  },
  { kind: 'script', group: 'runner', file: 'runner.ts', description: 'TaskRunner throughput and latency (BENCH_DURATION_MS)' },
  { kind: 'script', group: 'store-sqlite', file: 'store-sqlite.ts', description: 'SQLite store operation timings' },
];

interface Args {
  readonly only: readonly string[];
  readonly seconds: number;
}

function parseArgs(argv: readonly string[]): Args {
  const only: string[] = [];
  let seconds = 60;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--only') only.push(...(argv[++i] ?? '').split(',').filter(Boolean));
    else if (arg === '--seconds') seconds = Number(argv[++i]);
    else if (arg === '--help') {
      console.log('usage: node --import tsx bench/run.ts [--only <group|group:name>[,…]] [--seconds N]');
      process.exit(0);
    } else throw new Error(`unknown argument "${arg}" (try --help)`);
  }
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error('--seconds needs a positive number');
  return { only, seconds };
}

const selected = (only: readonly string[], name: string, group: string): boolean =>
  only.length === 0 || only.includes(name) || only.includes(group);

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  let failures = 0;
  for (const source of sources) {
    if (source.kind === 'script') {
      if (!selected(args.only, source.group, source.group)) continue;
      console.log(`\n## ${source.group} — ${source.description}`);
      const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, source.file)], { stdio: 'inherit', env: { ...process.env, BENCH_SECONDS: String(args.seconds) } });
      if (result.status !== 0) failures += 1;
      continue;
    }
    const wanted = args.only.length === 0 || args.only.some((o) => o === source.group || o.startsWith(`${source.group}:`));
    if (!wanted) continue;
    for (const scenario of await source.load()) {
      if (!selected(args.only, scenario.name, source.group)) continue;
      console.log(`\n## ${scenario.name} — ${scenario.description}`);
      try {
        const result = await scenario.run({ seconds: args.seconds });
        for (const [figure, value] of Object.entries(result)) console.log(`${figure.padEnd(44)} ${value}`);
      } catch (error) {
        failures += 1;
        console.error(`FAILED: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
      }
    }
  }
  process.exitCode = failures === 0 ? 0 : 1;
}

await main();
