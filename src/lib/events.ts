// Typed events: how modules observe each other (and how tests wait) without back-references.

import { EventEmitter } from 'node:events';
import type { RunRecord } from '../domain/run.js';

export type TaskChange = 'created' | 'replaced' | 'deleted' | 'ended';

export interface DirectorEventMap {
  'task:changed': { readonly id: string; readonly change: TaskChange };
  'slot:claimed': { readonly taskId: string; readonly slot: number; readonly runId: number };
  'run:started': RunRecord;
  'run:finished': RunRecord;
}

export type DirectorEventName = keyof DirectorEventMap;

export class DirectorEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    // The dashboard's live streams each listen; many open browser tabs are not a leak.
    this.emitter.setMaxListeners(0);
  }

  emit<K extends DirectorEventName>(name: K, payload: DirectorEventMap[K]): void {
    this.emitter.emit(name, payload);
  }

  /**
   * Emits and resolves once every listener's returned promise has settled: a task write is announced
   * completely (the tasks folder's file written) before it is answered. A listener's failure is its
   * own to report; it does not reject here.
   */
  async emitAndWait<K extends DirectorEventName>(name: K, payload: DirectorEventMap[K]): Promise<void> {
    const listeners = this.emitter.listeners(name) as Array<(payload: DirectorEventMap[K]) => unknown>;
    await Promise.allSettled(listeners.map(async (listener) => listener(payload)));
  }

  /** A listener may return a promise: emitAndWait waits for it, emit does not. */
  on<K extends DirectorEventName>(name: K, listener: (payload: DirectorEventMap[K]) => unknown): () => void {
    this.emitter.on(name, listener);
    return () => this.emitter.off(name, listener);
  }

  /** Resolves with the next event of that name that matches `where`. */
  next<K extends DirectorEventName>(name: K, where: (payload: DirectorEventMap[K]) => boolean = () => true): Promise<DirectorEventMap[K]> {
    return new Promise((resolve) => {
      const off = this.on(name, (payload) => {
        if (!where(payload)) return;
        off();
        resolve(payload);
      });
    });
  }
}
