// Request bodies nested deeper than any task needs are refused at parse time: every later step
// (validation, JSON.stringify into the store, IPC to an executor) recurses and would overflow the
// stack at a few thousand levels, answering 500 or wedging an executor.

/** Deepest nesting of arrays/objects a request body may have; real task configs use a handful. */
export const MAX_JSON_DEPTH = 256;

/** True when `value` nests deeper than `max`. Iterative, so it cannot overflow the stack itself. */
export function jsonDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth + 1 > max) return true;
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}
