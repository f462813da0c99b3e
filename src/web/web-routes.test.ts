// The dashboard's server side: built files with security headers, 503 before a build, and the event stream.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { get, type IncomingMessage } from 'node:http';
import { buildWeb } from '../../scripts/build-web.mjs';
import type { ApiDeps } from '../api/app.js';
import { eventRoutes } from '../api/routes/events.js';
import { DirectorEvents } from '../lib/events.js';
import type { RunRecord } from '../domain/run.js';
import { webRoutes } from './web-routes.js';

const deps = (events = new DirectorEvents()) => ({ events }) as unknown as ApiDeps;

describe('dashboard files', () => {
  let dir: string;
  let app: FastifyInstance;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'director-web-'));
    await buildWeb({ outDir: dir });
    app = Fastify();
    await webRoutes(app, { dir });
    app.get('/api/v1/other', async () => ({ ok: true }));
  });
  after(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves index.html at / with the security headers', async () => {
    const response = await app.inject({ url: '/' });
    assert.equal(response.statusCode, 200);
    assert.match(response.headers['content-type'] as string, /^text\/html/);
    assert.match(response.headers['content-security-policy'] as string, /default-src 'self'/);
    assert.equal(response.headers['x-content-type-options'], 'nosniff');
    assert.equal(response.headers['referrer-policy'], 'no-referrer');
    assert.equal(response.headers['x-frame-options'], 'DENY');
    assert.equal(response.headers['cache-control'], 'no-cache');
    assert.match(response.body, /<script type="module" src="\/app\.js\?v=[0-9a-f]{12}">/);
    assert.doesNotMatch(response.body, /https?:\/\//, 'no external URL: the dashboard works offline');
  });

  it('serves the assets that index.html names, cacheable for good when versioned', async () => {
    const html = (await app.inject({ url: '/' })).body;
    const js = /src="(\/app\.js\?v=[0-9a-f]+)"/.exec(html)![1]!;
    const css = /href="(\/app\.css\?v=[0-9a-f]+)"/.exec(html)![1]!;
    const script = await app.inject({ url: js });
    assert.equal(script.statusCode, 200);
    assert.match(script.headers['content-type'] as string, /^text\/javascript/);
    assert.match(script.headers['cache-control'] as string, /immutable/);
    assert.equal(script.headers['x-content-type-options'], 'nosniff');
    const style = await app.inject({ url: css });
    assert.match(style.headers['content-type'] as string, /^text\/css/);
  });

  it('keeps the security headers to the dashboard', async () => {
    const response = await app.inject({ url: '/api/v1/other' });
    assert.equal(response.headers['content-security-policy'], undefined);
  });

  it('serves nothing else of the folder', async () => {
    assert.equal((await app.inject({ url: '/web-routes.js' })).statusCode, 404);
    assert.equal((await app.inject({ url: '/../package.json' })).statusCode, 404);
  });
});

describe('dashboard before a build', () => {
  it('answers 503 with the command to run', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'director-web-empty-'));
    const app = Fastify();
    await webRoutes(app, { dir: empty });
    const response = await app.inject({ url: '/' });
    assert.equal(response.statusCode, 503);
    assert.match(response.body, /npm run build/);
    assert.equal(response.headers['x-frame-options'], 'DENY');
    await app.close();
    rmSync(empty, { recursive: true, force: true });
  });
});

/** A plain HTTP GET without a connection pool (fetch keeps spare sockets open that delay app.close()). */
function openStream(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => get(url, { agent: false }, resolve).on('error', reject));
}

describe('GET /api/v1/events', () => {
  const run = { id: 7, taskId: 't1', slot: 1000, attempt: 1, trigger: 'schedule', status: 'succeeded', result: '{"big":true}', logs: 'secret-ish output', error: null, durationMs: 12, latenessMs: 3 } as unknown as RunRecord;

  it('streams task changes and runs as server-sent events, without results and logs', async () => {
    const events = new DirectorEvents();
    const app = Fastify();
    await eventRoutes(app, deps(events));
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const response = await openStream(`${base}/api/v1/events`);
    assert.equal(response.statusCode, 200);
    assert.match(response.headers['content-type']!, /^text\/event-stream/);
    response.setEncoding('utf8');
    let text = '';
    let waiting: (() => void) | undefined;
    response.on('data', (chunk: string) => {
      text += chunk;
      waiting?.();
    });
    const ended = new Promise((resolve) => response.on('end', resolve));
    const readUntil = async (pattern: RegExp) => {
      while (!pattern.test(text)) await new Promise<void>((resolve) => { waiting = resolve; });
    };
    await readUntil(/: connected/);
    events.emit('task:changed', { id: 't1', change: 'created' });
    events.emit('run:started', { ...run, status: 'running' });
    events.emit('run:finished', run);
    await readUntil(/event: run:finished\ndata: .*\n\n/);
    assert.match(text, /event: task:changed\ndata: {"id":"t1","change":"created"}\n\n/);
    assert.match(text, /event: run:started\ndata: {"id":7,"taskId":"t1"/);
    const finished = JSON.parse(/event: run:finished\ndata: (.*)\n/.exec(text)![1]!);
    assert.equal(finished.status, 'succeeded');
    assert.equal(finished.durationMs, 12);
    assert.equal(finished.logs, undefined);
    assert.equal(finished.result, undefined);

    // app.close() ends open streams instead of waiting for the browser to go away.
    await app.close();
    await ended;
  });

  it('removes its listeners when the client goes away', async () => {
    const events = new DirectorEvents();
    let listening = 0;
    const on = events.on.bind(events);
    events.on = ((name: Parameters<typeof on>[0], listener: Parameters<typeof on>[1]) => {
      listening += 1;
      const off = on(name, listener);
      return () => {
        listening -= 1;
        off();
      };
    }) as typeof events.on;
    const app = Fastify();
    await eventRoutes(app, deps(events));
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const response = await openStream(`${base}/api/v1/events`);
    await new Promise((resolve) => response.once('data', resolve));
    assert.equal(listening, 3);
    response.destroy();
    for (let i = 0; i < 100 && listening > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(listening, 0);
    await app.close();
  });
});
