// Metrics: the exposition text is valid Prometheus format, and each figure moves with what it counts.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RunRecord } from '../domain/run.js';
import { startHarness, type Harness } from '../../test/support/director-harness.js';
import { DirectorEvents } from '../lib/events.js';
import { createMetrics } from './metrics.js';

/** A strict reading of text format 0.0.4: returns samples by series, throws on any malformed line. */
export function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const typed = new Map<string, string>();
  const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:\\.|[^"\\\n])*",?)*\})? (-?(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|NaN|\+Inf|-Inf))(?: -?\d+)?$/i;
  for (const [index, line] of text.split('\n').entries()) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') {
        assert.ok(['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(meta[3]!), `line ${index + 1}: type ${meta[3]}`);
        assert.ok(!typed.has(meta[2]!), `line ${index + 1}: ${meta[2]} typed twice`);
        typed.set(meta[2]!, meta[3]!);
      }
      continue;
    }
    const match = sample.exec(line);
    assert.ok(match, `line ${index + 1} is not a valid sample: ${JSON.stringify(line)}`);
    const name = match[1]!;
    const base = name.replace(/_(bucket|sum|count|total|created)$/, '');
    assert.ok(typed.has(name) || typed.has(base), `line ${index + 1}: ${name} has no TYPE before it`);
    samples.set(`${name}${match[2] ?? ''}`, Number(match[3]));
  }
  return samples;
}

function run(overrides: Partial<RunRecord>): RunRecord {
  return {
    id: 1, taskId: 't', slot: 1000, attempt: 1, trigger: 'schedule', backfillId: null, status: 'succeeded', owner: 'o', createdMs: 1000,
    queuedMs: 1010, startedMs: 1040, finishedMs: 1540, durationMs: 500, latenessMs: 40, result: null, error: null, logs: null,
    scriptUrl: null, scriptSha256: null, leaseUntilMs: null, ...overrides,
  };
}

function setup(countTasks = async () => ({ total: 5, running: 2 })) {
  const events = new DirectorEvents();
  const pool = { executors: 4, running: 1, executing: 1, queued: 3, maxRuns: 200 };
  const metrics = createMetrics({ events, store: { countTasks }, runner: { poolState: () => pool } });
  return { events, metrics, pool };
}

describe('metrics', () => {
  it('exposes valid text format with every Director metric and the process metrics', async () => {
    const { metrics } = setup();
    const text = await metrics.text();
    const samples = parsePrometheus(text);
    for (const name of [
      'director_tasks{state="running"}', 'director_tasks{state="stopped"}', 'director_executors', 'director_runs_in_progress',
      'director_runs_queued', 'director_script_fetch_failures_total', 'process_cpu_user_seconds_total',
    ]) assert.ok(samples.has(name), `${name} is exposed`);
    for (const name of ['director_runs_total', 'director_run_duration_seconds', 'director_slot_lateness_seconds', 'director_slots_skipped_total',
      'director_slots_missed_total', 'director_runs_lost_total', 'director_script_fetch_duration_seconds', 'director_store_errors_total',
      'director_http_request_duration_seconds']) assert.match(text, new RegExp(`# TYPE ${name} `));
    assert.equal(samples.get('director_tasks{state="running"}'), 2);
    assert.equal(samples.get('director_tasks{state="stopped"}'), 3);
    assert.equal(samples.get('director_executors'), 4);
    assert.equal(samples.get('director_runs_in_progress'), 1);
    assert.equal(samples.get('director_runs_queued'), 3);
    assert.match(metrics.contentType, /^text\/plain; version=0\.0\.4/);
    metrics.close();
  });

  it('counts finished runs by outcome and trigger, with duration and lateness', async () => {
    const { events, metrics } = setup();
    events.emit('run:finished', run({ status: 'succeeded', durationMs: 500, latenessMs: 40 }));
    events.emit('run:finished', run({ status: 'failed', durationMs: 2000, latenessMs: 3000 }));
    events.emit('run:finished', run({ status: 'succeeded', trigger: 'manual', slot: null, latenessMs: null }));
    events.emit('run:finished', run({ status: 'skipped', startedMs: null, durationMs: null, latenessMs: null }));
    events.emit('run:finished', run({ status: 'lost', durationMs: null }));
    const s = parsePrometheus(await metrics.text());
    assert.equal(s.get('director_runs_total{outcome="succeeded",trigger="schedule"}'), 1);
    assert.equal(s.get('director_runs_total{outcome="failed",trigger="schedule"}'), 1);
    assert.equal(s.get('director_runs_total{outcome="succeeded",trigger="manual"}'), 1);
    assert.equal(s.get('director_runs_total{outcome="skipped",trigger="schedule"}'), 1);
    assert.equal(s.get('director_slots_skipped_total'), 1);
    assert.equal(s.get('director_runs_lost_total'), 1);
    assert.equal(s.get('director_run_duration_seconds_count{outcome="succeeded"}'), 2);
    assert.equal(s.get('director_run_duration_seconds_sum{outcome="failed"}'), 2);
    // Scheduled runs that started (the lost one did): the manual and the skipped runs are left out.
    assert.equal(s.get('director_slot_lateness_seconds_count'), 3);
    assert.equal(s.get('director_slot_lateness_seconds_bucket{le="0.05"}'), 2);
    assert.equal(s.get('director_slot_lateness_seconds_bucket{le="+Inf"}'), 3);
    metrics.close();
    events.emit('run:finished', run({}));
    assert.equal(parsePrometheus(await metrics.text()).get('director_runs_total{outcome="succeeded",trigger="schedule"}'), 1, 'close unsubscribes');
  });

  it('records fetches, store errors, missed slots and HTTP requests through its functions', async () => {
    const { metrics } = setup();
    metrics.observeFetch(0.02, true);
    metrics.observeFetch(1.5, false);
    metrics.storeError('finishRun');
    metrics.slotsMissed(7);
    metrics.observeRequest('/api/v1/tasks/:id', 'GET', 200, 0.003);
    metrics.observeRequest('(unmatched)', 'PROPFIND', 404, 0.001);
    const s = parsePrometheus(await metrics.text());
    assert.equal(s.get('director_script_fetch_duration_seconds_count{result="ok"}'), 1);
    assert.equal(s.get('director_script_fetch_duration_seconds_count{result="failed"}'), 1);
    assert.equal(s.get('director_script_fetch_failures_total'), 1);
    assert.equal(s.get('director_store_errors_total{operation="finishRun"}'), 1);
    assert.equal(s.get('director_slots_missed_total'), 7);
    assert.equal(s.get('director_http_request_duration_seconds_count{route="/api/v1/tasks/:id",method="GET",status="200"}'), 1);
    assert.equal(s.get('director_http_request_duration_seconds_count{route="(unmatched)",method="OTHER",status="404"}'), 1);
    metrics.close();
  });

  it('still answers a scrape when the store fails, counting the error', async () => {
    const { metrics } = setup(async () => { throw new Error('store down'); });
    const s = parsePrometheus(await metrics.text());
    assert.equal(s.get('director_store_errors_total{operation="countTasks"}'), 1);
    metrics.close();
  });

  it('keeps two Directors in one process apart', async () => {
    const a = setup();
    const b = setup();
    a.events.emit('run:finished', run({}));
    assert.equal(parsePrometheus(await a.metrics.text()).get('director_runs_total{outcome="succeeded",trigger="schedule"}'), 1);
    assert.equal(parsePrometheus(await b.metrics.text()).get('director_runs_total{outcome="succeeded",trigger="schedule"}'), undefined);
    a.metrics.close();
    b.metrics.close();
  });
});

describe('GET /metrics on a running Director', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    h.assets.setScript('ok.js', 'module.exports.main = () => ({ ok: true });');
    h.assets.setScript('fails.js', 'module.exports.main = () => { throw new Error("no"); };');
  });
  after(async () => h.close());

  async function scrape(): Promise<Map<string, number>> {
    const response = await h.request({ method: 'GET', url: '/metrics' });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    return parsePrometheus(response.body);
  }
  const runs = (s: Map<string, number>, outcome: string, trigger: string) => s.get(`director_runs_total{outcome="${outcome}",trigger="${trigger}"}`) ?? 0;

  it('moves when runs happen, by hand and by schedule', async () => {
    const before = await scrape();
    assert.equal((await h.call('POST', '/api/v1/tasks', { id: 'm-ok', script: 'ok.js', running: false })).status, 200);
    assert.equal((await h.call('POST', '/api/v1/tasks', { id: 'm-fail', script: 'fails.js', running: false })).status, 200);
    assert.equal((await h.call('POST', '/api/v1/tasks/m-ok/run')).status, 200);
    assert.equal((await h.call('POST', '/api/v1/tasks/m-fail/run')).status, 500);
    const scheduled = h.director.events.next('run:finished', (run) => run.taskId === 'm-sched' && run.trigger === 'schedule');
    assert.equal((await h.call('POST', '/api/v1/tasks', { id: 'm-sched', script: 'ok.js', running: true, interval: 500 })).status, 200);
    await scheduled;
    assert.equal((await h.call('POST', '/api/v1/tasks/m-sched/status/stop')).status, 200);

    const after = await scrape();
    assert.equal(runs(after, 'succeeded', 'manual'), runs(before, 'succeeded', 'manual') + 1);
    assert.equal(runs(after, 'failed', 'manual'), runs(before, 'failed', 'manual') + 1);
    assert.ok(runs(after, 'succeeded', 'schedule') >= 1);
    assert.ok((after.get('director_slot_lateness_seconds_count') ?? 0) >= 1, 'lateness observed for the scheduled run');
    assert.ok((after.get('director_run_duration_seconds_count{outcome="failed"}') ?? 0) >= 1);
    assert.equal(after.get('director_tasks{state="stopped"}'), 3);
    assert.equal(after.get('director_executors'), 1);
    assert.ok((after.get('director_http_request_duration_seconds_count{route="/api/v1/tasks/:id/run",method="POST",status="200"}') ?? 0) >= 1);
    const fetches = [...after.entries()].filter(([name]) => name.startsWith('director_script_fetch_duration_seconds_count')).reduce((sum, [, v]) => sum + v, 0);
    assert.ok(fetches >= 3, 'every run\'s script fetch is timed');
  });

  it('counts a failed script fetch', async () => {
    h.assets.removeScript('ok.js');
    await h.call('POST', '/api/v1/tasks', { id: 'm-gone', script: 'ok.js', running: false });
    assert.equal((await h.call('POST', '/api/v1/tasks/m-gone/run')).status, 500);
    assert.ok(((await scrape()).get('director_script_fetch_failures_total') ?? 0) >= 1);
    h.assets.setScript('ok.js', 'module.exports.main = () => ({ ok: true });');
  });

  it('labels unknown paths as one series, whatever the URL', async () => {
    for (let k = 0; k < 20; k++) await h.request({ method: 'GET', url: `/random-${k}/${'x'.repeat(k)}` });
    const body = (await h.request({ method: 'GET', url: '/metrics' })).body;
    assert.ok(!body.includes('random-'), 'raw URLs never become labels');
    assert.ok((parsePrometheus(body).get('director_http_request_duration_seconds_count{route="(unmatched)",method="GET",status="404"}') ?? 0) >= 20);
  });
});

