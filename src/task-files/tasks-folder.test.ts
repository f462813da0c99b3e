// The tasks folder never stops Director: ids that cannot be file names are refused before they are
// stored, files are opened without following symlinks and up to a size, bad files are logged and
// skipped, start-up always succeeds, and what Director writes there (and in its data folder) is private.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseTask } from '../domain/task.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import { startAssetsServer, type AssetsServer } from '../../test/support/assets-server.js';
import { startHarness, type Harness } from '../../test/support/director-harness.js';
import { MAX_ID_BYTES } from './task-file-name.js';

const modeOf = (file: string) => statSync(file).mode & 0o777;

describe('tasks folder safety', () => {
  let root: string;
  let assets: AssetsServer;
  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'director-folder-'));
    assets = await startAssetsServer();
    assets.setScript('ok.js', 'module.exports.main = () => 1;');
  });
  after(async () => {
    await assets.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('refuses ids that cannot be file names with 400 naming the field, and stores nothing', async () => {
    const dir = path.join(root, 'ids');
    const h = await startHarness({ assets, config: { tasksDir: dir } });
    try {
      for (const id of ['é'.repeat(200), 'a'.repeat(MAX_ID_BYTES - 1) + 'é', '.hidden', '.']) {
        const answer = await h.call('POST', '/api/v1/tasks', { id, script: 'ok.js' });
        assert.equal(answer.status, 400, id.slice(0, 20));
        assert.equal(answer.body.field, 'id');
      }
      assert.deepEqual((await h.call('GET', '/api/v1/tasks')).body, [], 'nothing stored');
      const longest = 'é'.repeat(MAX_ID_BYTES / 2);
      assert.equal((await h.call('POST', '/api/v1/tasks', { id: longest, script: 'ok.js' })).status, 200, 'the longest id that fits');
      assert.ok(existsSync(path.join(dir, `${longest}.json`)));
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.equal((await h.call('GET', `/api/v1/tasks/${encodeURIComponent(longest)}`)).status, 200, 'still there after a scan');
    } finally {
      await h.close();
    }
  });

  it('starts whatever the folder and the store hold, logs each bad file once and skips it', async () => {
    const dataDir = path.join(root, 'data-bad');
    const dir = path.join(root, 'bad');
    mkdirSync(dir);
    // Tasks stored by an older Director, before their ids were checked: one cannot be a file name, one is a dot file.
    const store = await openSqliteStore({ file: path.join(dataDir, 'director.sqlite') });
    for (const id of ['é'.repeat(200), '.legacy', 'fine']) {
      await store.putTask(parseTask({ id, script: 'ok.js', running: false }, { fallbackId: id, createdMs: Date.now(), nowMs: Date.now() }));
    }
    await store.close();
    const outside = path.join(root, 'outside.json');
    writeFileSync(outside, JSON.stringify({ script: 'ok.js', running: false, note: 'from outside the folder' }));
    symlinkSync(outside, path.join(dir, 'linked.json'));
    writeFileSync(path.join(dir, 'broken.json'), '{"config":{"password":"S3cret-broken"} x');
    writeFileSync(path.join(dir, 'huge.json'), Buffer.alloc(64 * 1024 * 1024 + 1, ' '));
    mkdirSync(path.join(dir, 'folder.json'));
    execFileSync('mkfifo', [path.join(dir, 'fifo.json')]);
    writeFileSync(path.join(dir, 'ok-file.json'), JSON.stringify({ script: 'ok.js', running: false }));

    const h = await startHarness({ assets, dataDir, config: { tasksDir: dir } });
    try {
      assert.equal((await h.call('GET', '/health')).status, 200, 'started');
      assert.equal((await h.call('GET', '/api/v1/tasks/ok-file')).status, 200, 'a good file is imported');
      assert.equal((await h.call('GET', '/api/v1/tasks/linked')).status, 404, 'a symlink is not followed');
      for (const id of ['broken', 'huge', 'folder', 'fifo']) assert.equal((await h.call('GET', `/api/v1/tasks/${id}`)).status, 404, id);
      assert.ok(existsSync(path.join(dir, 'fine.json')), 'the other stored tasks get their files');
      await new Promise((resolve) => setTimeout(resolve, 2500));
      for (const id of ['.legacy', 'é'.repeat(200), 'fine']) {
        assert.equal((await h.call('GET', `/api/v1/tasks/${encodeURIComponent(id)}`)).status, 200, `${id.slice(0, 10)} is kept across scans`);
      }
      const warnings = h.warnings().map((w) => JSON.stringify(w));
      for (const name of ['linked', 'broken', 'huge', 'folder', 'fifo']) {
        assert.equal(warnings.filter((w) => w.includes(`"taskId":"${name}"`) && w.includes('skipped')).length, 1, `${name} is logged once: ${warnings.join('\n')}`);
      }
      assert.ok(warnings.some((w) => w.includes('writing the task file failed')), 'the file that cannot be written is logged');
      assert.ok(!warnings.join('\n').includes('S3cret-broken'), 'the log does not quote the file');
      // A scan may be writing a file right now (its temporary file then exists for an instant): what must
      // not happen is one that stays.
      const leftover = (): string[] => readdirSync(dir).filter((n) => n.endsWith('.tmp'));
      for (let tries = 0; leftover().length > 0 && tries < 20; tries++) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(leftover(), [], 'no temporary file is left behind');
    } finally {
      await h.close();
    }
  });

  it('writes task files 0600, the data folder 0700 and the database files 0600', async () => {
    const dataDir = path.join(root, 'modes-data');
    const dir = path.join(root, 'modes-tasks');
    const h = await startHarness({ assets, dataDir, config: { tasksDir: dir } });
    try {
      assert.equal((await h.call('POST', '/api/v1/tasks', { id: 'private', script: 'ok.js', config: { password: 'x' } })).status, 200);
      assert.equal(modeOf(path.join(dir, 'private.json')), 0o600);
      assert.equal(modeOf(dir), 0o700);
      assert.equal(modeOf(dataDir), 0o700);
      for (const name of ['director.sqlite', 'director.sqlite-wal', 'director.sqlite-shm']) assert.equal(modeOf(path.join(dataDir, name)), 0o600, name);
    } finally {
      await h.close();
    }
  });
});
