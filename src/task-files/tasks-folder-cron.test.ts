// The tasks folder with cron tasks: mirrored with cron and timezone, a cron file written by someone
// else is imported and planned in its zone, a bad cron file is skipped and changes nothing.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startHarness, type Harness } from '../../test/support/director-harness.js';
import { eventually } from '../../test/support/wait.js';

describe('tasks folder with cron tasks', () => {
  let h: Harness;
  let dir: string;
  const file = (id: string) => path.join(dir, `${id}.json`);
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'director-cron-folder-'));
    h = await startHarness({ config: { tasksDir: dir } });
    h.assets.setScript('ok.js', 'module.exports.main = () => 1;');
  });
  after(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('mirrors a cron task with its cron and timezone', async () => {
    const body = { id: 'cron-api', script: 'ok.js', running: false, cron: '0 6 * * 1-5', timezone: 'Europe/Madrid' };
    assert.equal((await h.call('POST', '/api/v1/tasks', body)).status, 200);
    assert.deepEqual(JSON.parse(readFileSync(file('cron-api'), 'utf8')), body);
  });

  it('imports a cron file written by someone else and plans it in its zone', async () => {
    writeFileSync(file('cron-file'), JSON.stringify({ script: 'ok.js', running: true, cron: '0 0 12 * * *', timezone: 'America/New_York' }));
    const status = await eventually(async () => {
      const answer = await h.call('GET', '/api/v1/tasks/cron-file/status');
      return answer.status === 200 ? answer.body : undefined;
    }, 5000, 'the cron file imported');
    assert.equal(status.cron, '0 0 12 * * *');
    assert.equal(status.timezone, 'America/New_York');
    const next = new Date(Number(status.nextExecution));
    assert.equal(new Intl.DateTimeFormat('en-GB', { timeZone: 'America/New_York', timeStyle: 'medium' }).format(next), '12:00:00');
  });

  it('skips a file whose cron is bad, keeping the stored task as it was', async () => {
    writeFileSync(file('cron-api'), JSON.stringify({ id: 'cron-api', script: 'ok.js', running: false, cron: '0 6 * * 1-5', timezone: 'Mars/Olympus' }));
    await eventually(() => h.warnings().some((w) => JSON.stringify(w).includes('Mars/Olympus')), 5000, 'the bad file reported');
    assert.equal((await h.call('GET', '/api/v1/tasks/cron-api')).body.timezone, 'Europe/Madrid');
  });
});
