// A binary min-heap of the next due instant of each planned task, with O(log n) removal by task id.

/** What is due for a task: its next slot, or its end once no slot is left before end. */
export type DueKind = 'slot' | 'end';

export interface DueEntry {
  readonly taskId: string;
  readonly at: number;
  readonly kind: DueKind;
}

/** Told of every entry planned or unplanned (not of those taken when due): what follows the plan. */
export interface HeapObserver {
  planned(entry: DueEntry): void;
  unplanned(taskId: string): void;
}

export class SlotHeap {
  private readonly items: DueEntry[] = [];
  /** Position of each task's entry in `items`: one entry per task, so removal needs no search. */
  private readonly index = new Map<string, number>();

  constructor(private readonly observer?: HeapObserver) {}

  get size(): number {
    return this.items.length;
  }

  peek(): DueEntry | undefined {
    return this.items[0];
  }

  get(taskId: string): DueEntry | undefined {
    const i = this.index.get(taskId);
    return i === undefined ? undefined : this.items[i];
  }

  /** Sets (or replaces) the task's entry. */
  set(entry: DueEntry): void {
    this.observer?.planned(entry);
    const i = this.index.get(entry.taskId);
    if (i === undefined) {
      this.items.push(entry);
      this.index.set(entry.taskId, this.items.length - 1);
      this.up(this.items.length - 1);
      return;
    }
    this.items[i] = entry;
    this.fix(i);
  }

  delete(taskId: string): boolean {
    const i = this.index.get(taskId);
    if (i === undefined) return false;
    this.observer?.unplanned(taskId);
    this.removeAt(i);
    return true;
  }

  /** Removes and returns every entry due at or before `atMs`, earliest first. */
  popDue(atMs: number): DueEntry[] {
    const due: DueEntry[] = [];
    for (let top = this.items[0]; top !== undefined && top.at <= atMs; top = this.items[0]) {
      due.push(top);
      this.removeAt(0);
    }
    return due;
  }

  /** Replaces all entries at once in O(n): start-up plans 100,000 tasks without n pushes. */
  build(entries: readonly DueEntry[]): void {
    this.items.length = 0;
    this.index.clear();
    for (const entry of entries) {
      if (this.index.has(entry.taskId)) throw new Error(`slot heap: task "${entry.taskId}" planned twice`);
      this.observer?.planned(entry);
      this.index.set(entry.taskId, this.items.length);
      this.items.push(entry);
    }
    for (let i = (this.items.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  private removeAt(i: number): void {
    const removed = this.items[i] as DueEntry;
    const last = this.items.pop() as DueEntry;
    this.index.delete(removed.taskId);
    if (i === this.items.length) return;
    this.items[i] = last;
    this.index.set(last.taskId, i);
    this.fix(i);
  }

  private fix(i: number): void {
    if (!this.up(i)) this.down(i);
  }

  private less(a: number, b: number): boolean {
    return (this.items[a] as DueEntry).at < (this.items[b] as DueEntry).at;
  }

  private swap(a: number, b: number): void {
    const x = this.items[a] as DueEntry;
    const y = this.items[b] as DueEntry;
    this.items[a] = y;
    this.items[b] = x;
    this.index.set(y.taskId, a);
    this.index.set(x.taskId, b);
  }

  /** Moves an entry towards the root; true when it moved. */
  private up(i: number): boolean {
    let moved = false;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
      moved = true;
    }
    return moved;
  }

  private down(i: number): void {
    const n = this.items.length;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < n && this.less(left, smallest)) smallest = left;
      if (right < n && this.less(right, smallest)) smallest = right;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }
}
