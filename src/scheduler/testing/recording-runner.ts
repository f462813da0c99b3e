// Test double of the runner boundary: records each dispatched run and ends it as the test says.
// Not imported by production code; it writes outcomes through the real store like the real runner.

import type { RunRecord, RunReport } from '../../domain/run.js';
import type { Task } from '../../domain/task.js';
import type { Clock } from '../../lib/clock.js';
import type { DirectorEvents } from '../../lib/events.js';
import type { TaskRunner } from '../../runner/runner.js';
import type { Store } from '../../store/store.js';

export type TestOutcome = 'succeeded' | 'failed' | 'timed_out';

export interface RunnerCall {
  readonly task: Task;
  readonly run: RunRecord;
  /** Clock time when the scheduler handed the run over: the run's start. */
  readonly atMs: number;
}

interface Held {
  readonly call: RunnerCall;
  readonly resolve: (run: RunRecord) => void;
}

export class RecordingRunner implements TaskRunner {
  readonly calls: RunnerCall[] = [];
  /** How a run ends: at once with an outcome, or `hold` until `finish(runId)`. */
  behaviour: (call: RunnerCall) => TestOutcome | 'hold' = () => 'succeeded';
  private readonly held = new Map<number, Held>();

  constructor(private readonly deps: { readonly store: Store; readonly clock: Clock; readonly events: DirectorEvents }) {}

  async runClaimed(task: Task, run: RunRecord): Promise<RunRecord> {
    const call: RunnerCall = { task, run, atMs: this.deps.clock.now() };
    this.calls.push(call);
    this.deps.events.emit('run:started', run);
    const behaviour = this.behaviour(call);
    if (behaviour !== 'hold') return this.complete(call, behaviour);
    return new Promise((resolve) => this.held.set(run.id, { call, resolve }));
  }

  /** Ends a held run now, with `outcome`. */
  async finish(runId: number, outcome: TestOutcome = 'succeeded'): Promise<RunRecord> {
    const held = this.held.get(runId);
    if (held === undefined) throw new Error(`run ${runId} is not held`);
    this.held.delete(runId);
    const finished = await this.complete(held.call, outcome);
    held.resolve(finished);
    return finished;
  }

  heldRuns(): RunRecord[] {
    return [...this.held.values()].map((h) => h.call.run);
  }

  /** Slots handed over for a task, in dispatch order (with attempts). */
  dispatched(taskId: string): { slot: number | null; attempt: number }[] {
    return this.calls.filter((c) => c.task.id === taskId).map((c) => ({ slot: c.run.slot, attempt: c.run.attempt }));
  }

  private async complete(call: RunnerCall, outcome: TestOutcome): Promise<RunRecord> {
    const finishedMs = this.deps.clock.now();
    const common = { logs: '', queuedMs: call.atMs, startedMs: call.atMs, finishedMs, scriptUrl: null, scriptSha256: null };
    const report: RunReport = outcome === 'succeeded'
      ? { outcome, result: 'true', ...common }
      : { outcome, error: { stage: outcome === 'failed' ? 'run' : 'timeout', name: 'Error', message: `test ${outcome}` }, ...common };
    const finished = (await this.deps.store.finishRun(call.run.id, report)) ?? call.run;
    this.deps.events.emit('run:finished', finished);
    return finished;
  }

  async runNow(): Promise<RunRecord> {
    throw new Error('RecordingRunner: runNow is not part of the scheduler boundary');
  }

  async runTest(): Promise<RunReport> {
    throw new Error('RecordingRunner: runTest is not part of the scheduler boundary');
  }

  poolState() {
    return { executors: 0, running: this.held.size, executing: this.held.size, queued: 0, maxRuns: Infinity };
  }

  executorPids(): number[] {
    return [];
  }

  /** Tasks the scheduler asked to prepare, and to forget, in order. */
  readonly prepared: string[] = [];
  readonly forgotten: string[] = [];

  prepare(taskId: string): void {
    this.prepared.push(taskId);
  }

  /** Scripts the scheduler asked to fetch ahead, as `taskId@slot`, in order. */
  readonly prefetched: string[] = [];

  prefetch(task: Task, slotMs: number): void {
    this.prefetched.push(`${task.id}@${slotMs}`);
  }

  forget(taskId: string): void {
    this.forgotten.push(taskId);
  }

  async close(): Promise<void> {}
}
