// Slots claimed ahead of time (and ends coming up), waiting in slot order for their instant.

import type { RunRecord } from '../domain/run.js';
import type { TaskPlan } from './task-plan.js';

export type AheadItem =
  /** `run` null: not claimed ahead (the task was busy or its state unknown); decided at its instant. */
  | { readonly kind: 'slot'; readonly plan: TaskPlan; readonly at: number; readonly run: RunRecord | null }
  | { readonly kind: 'end'; readonly plan: TaskPlan; readonly at: number };

/** A binary min-heap on `at`; several items per task are fine (intervals shorter than the window). */
export class AheadQueue {
  private readonly items: AheadItem[] = [];

  get size(): number {
    return this.items.length;
  }

  peekAt(): number | undefined {
    return this.items[0]?.at;
  }

  push(item: AheadItem): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((items[parent] as AheadItem).at <= item.at) break;
      items[i] = items[parent] as AheadItem;
      i = parent;
    }
    items[i] = item;
  }

  /** True while a slot claimed ahead (a run is waiting for its instant) is in the queue. */
  holdsClaimedRuns(): boolean {
    return this.items.some((item) => item.kind === 'slot' && item.run !== null);
  }

  /** Removes and returns the items due at or before `atMs`, earliest first. */
  popDue(atMs: number): AheadItem[] {
    const due: AheadItem[] = [];
    while (this.items.length > 0 && (this.items[0] as AheadItem).at <= atMs) due.push(this.pop());
    return due;
  }

  /** Empties the queue (stop), returning what was in it. */
  drain(): AheadItem[] {
    return this.items.splice(0);
  }

  private pop(): AheadItem {
    const items = this.items;
    const top = items[0] as AheadItem;
    const last = items.pop() as AheadItem;
    if (items.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && (items[right] as AheadItem).at < (items[left] as AheadItem).at ? right : left;
      if ((items[child] as AheadItem).at >= last.at) break;
      items[i] = items[child] as AheadItem;
      i = child;
    }
    items[i] = last;
    return top;
  }
}
