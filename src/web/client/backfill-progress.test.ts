// How far along a backfill is, as its row in the task page says it.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backfillProgress, isActiveBackfill, type BackfillCounts } from './backfill-progress.js';

const counts = (part: Partial<BackfillCounts>): BackfillCounts => ({ pending: 0, running: 0, succeeded: 0, failed: 0, timed_out: 0, skipped: 0, lost: 0, ...part });

describe('backfill progress', () => {
  it('counts as done every slot neither pending nor running', () => {
    const progress = backfillProgress({ slots: 5, status: 'running', counts: counts({ pending: 1, running: 1, succeeded: 2, failed: 1 }) });
    assert.equal(progress.done, 3);
    assert.equal(progress.total, 5);
    assert.equal(progress.percent, 60);
    assert.equal(progress.label, '3 of 5 slots done (60%)');
  });

  it('counts failed, timed out and lost slots as failed, and lists only the outcomes that occurred', () => {
    const progress = backfillProgress({ slots: 10, status: 'completed', counts: counts({ succeeded: 6, failed: 2, timed_out: 1, lost: 1 }) });
    assert.equal(progress.failed, 4);
    assert.deepEqual(progress.outcomes.map((o) => o.text), ['6 succeeded', '2 failed', '1 timed out', '1 lost']);
    assert.deepEqual(progress.outcomes.filter((o) => o.bad).map((o) => o.text), ['2 failed', '1 timed out', '1 lost']);
  });

  it('rounds the percentage down, so it says 100% only when every slot is done', () => {
    const progress = backfillProgress({ slots: 1000, status: 'running', counts: counts({ pending: 1, succeeded: 999 }) });
    assert.equal(progress.percent, 99);
    assert.equal(backfillProgress({ slots: 1, status: 'completed', counts: counts({ succeeded: 1 }) }).label, '1 of 1 slot done (100%)');
  });

  it('claims no progress it does not know of when the server sends no counts', () => {
    assert.equal(backfillProgress({ slots: 4, status: 'completed', counts: null }).done, 4);
    assert.equal(backfillProgress({ slots: 4, status: 'cancelled', counts: null }).done, 0);
    assert.deepEqual(backfillProgress({ slots: 4, status: 'cancelled', counts: null }).outcomes, []);
  });

  it('writes large counts with separators', () => {
    assert.equal(backfillProgress({ slots: 10_000, status: 'running', counts: counts({ pending: 8_766, succeeded: 1_234 }) }).label, '1,234 of 10,000 slots done (12%)');
  });

  it('is active while running or cancelling', () => {
    assert.deepEqual(['running', 'cancelling', 'completed', 'cancelled'].map((s) => isActiveBackfill(s as 'running')), [true, true, false, false]);
  });
});
