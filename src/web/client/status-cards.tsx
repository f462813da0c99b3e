// The facts of one task (script, interval, next and last run, counts) and its next slots.

import { durationInWords, zonedTime } from './format.js';
import { cronOf, scheduleInWords, scriptOf, type TaskDoc, type TaskStatus } from './task-fields.js';
import { OutcomeBadge, When } from './task-table.js';

export interface Slot {
  readonly ms: number;
  readonly at: string;
}

interface Props {
  readonly task: TaskDoc;
  readonly status: TaskStatus;
  readonly slots: readonly Slot[];
  readonly now: number;
}

export function StatusCards({ task, status, slots, now }: Props) {
  const next = status.nextExecution ? Number(status.nextExecution) : undefined;
  const last = status.lastRun;
  const cron = cronOf(task);
  const counts = Object.entries(status.runs).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k.replace('_', ' ')}`).join(', ');
  return (
    <div class="cards">
      <section class="card" aria-labelledby="status-title">
        <h2 id="status-title">Status</h2>
        <dl class="facts">
          <dt>Script</dt>
          <dd class="script">{scriptOf(task)}</dd>
          <dt>{cron ? 'Cron' : 'Interval'}</dt>
          <dd class={cron ? 'cron' : undefined}>{scheduleInWords(task)}</dd>
          <dt>Next run</dt>
          <dd>{next !== undefined ? <When ms={next} now={now} /> : status.ended ? 'ended' : '—'}</dd>
          <dt>Last run</dt>
          <dd>
            {last ? (
              <span class="last-run">
                <OutcomeBadge status={last.status} /> {durationInWords(last.durationMs)}
                {last.finishedAt && <> · <When ms={Date.parse(last.finishedAt)} now={now} /></>}
              </span>
            ) : 'never'}
          </dd>
          <dt>Consecutive failures</dt>
          <dd class={status.consecutiveFailures > 0 ? 'failing' : ''}>{status.consecutiveFailures}</dd>
          <dt>Runs</dt>
          <dd>{counts || 'none'}</dd>
        </dl>
      </section>
      <section class="card" aria-labelledby="slots-title">
        <h2 id="slots-title">Next slots{status.running ? '' : ' (if started)'}{cron ? ` in ${cron.timezone}` : ''}</h2>
        {slots.length === 0 ? <p>{status.onDemand ? 'On demand: runs only when asked.' : 'No more slots.'}</p> : (
          <ol class="slots">{slots.map((s) => (
            <li key={s.ms}>
              {cron && <span class="zoned">{zonedTime(s.ms, cron.timezone)}</span>} <When ms={s.ms} now={now} />
            </li>
          ))}</ol>
        )}
      </section>
    </div>
  );
}
