// Configuration: defaults, validation messages that name the variable and the fix, README coverage.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ConfigError, isLoopbackHost, loadConfig, settings } from './config.js';

describe('config', () => {
  it('has the documented defaults with an empty environment', () => {
    const config = loadConfig({});
    assert.equal(config.port, 5800);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.scriptPolicy, 'strict');
    assert.equal(config.databaseUrl, null);
    assert.match(config.assetsUrl, /^file:.*\/assets$/);
    assert.deepEqual(config.corsOrigins, [], 'CORS is closed until origins are configured');
    assert.deepEqual(config.publicHosts, []);
    assert.equal(config.maskKeys, 'pass|secret|token|key|auth|credential');
    assert.equal(config.runsPageMaxBytes, 4 * 1024 * 1024);
    assert.equal(config.sqliteSync, 'full');
  });

  it('names the variable and the fix when a value is wrong', () => {
    assert.throws(() => loadConfig({ PORT: 'eighty' }), (e: Error) => e instanceof ConfigError && /PORT/.test(e.message) && /number/.test(e.message));
    assert.throws(() => loadConfig({ DIRECTOR_SCRIPT_POLICY: 'lax' }), /DIRECTOR_SCRIPT_POLICY.*strict/);
    assert.throws(() => loadConfig({ DIRECTOR_DATABASE_URL: 'mysql://x' }), /DIRECTOR_DATABASE_URL/);
    assert.throws(() => loadConfig({ DIRECTOR_SQLITE_SYNC: 'off' }), /DIRECTOR_SQLITE_SYNC: "off".*full.*normal/);
    assert.equal(loadConfig({ DIRECTOR_SQLITE_SYNC: 'NORMAL' }).sqliteSync, 'normal');
    for (const bad of ['*', 'proxy.local', '10.0.0.0/33', '10.0.0.1/8/1', 'fe80::/129']) {
      assert.throws(() => loadConfig({ DIRECTOR_TRUST_PROXY: bad }), /DIRECTOR_TRUST_PROXY.*not an IP address or CIDR/, bad);
    }
    assert.deepEqual(loadConfig({ DIRECTOR_TRUST_PROXY: '127.0.0.1, 10.0.0.0/8,::1' }).trustProxy, ['127.0.0.1', '10.0.0.0/8', '::1']);
    assert.throws(() => loadConfig({ DIRECTOR_API_TOKENS: 'ops:root:0123456789abcdef' }), /viewer, operator or admin/);
  });

  it('refuses to listen beyond loopback without tokens unless DIRECTOR_AUTH=off', () => {
    assert.throws(() => loadConfig({ DIRECTOR_HOST: '0.0.0.0' }), /DIRECTOR_API_TOKENS.*DIRECTOR_AUTH=off/);
    assert.equal(loadConfig({ DIRECTOR_HOST: '0.0.0.0', DIRECTOR_AUTH: 'off' }).host, '0.0.0.0');
    assert.equal(loadConfig({ DIRECTOR_HOST: '0.0.0.0', DIRECTOR_API_TOKENS: 'ci:admin:0123456789abcdef0123' }).apiTokens.length, 1);
  });

  it('counts only real loopback addresses as loopback', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '0:0:0:0:0:0:0:1', '[::1]']) assert.equal(isLoopbackHost(host), true, host);
    for (const host of ['127.x.example', '127.0.0.1.nip.io', '127.0.0.256', '127.1', '0.0.0.0', '::', '10.0.0.1', 'localhost.example', '::ffff:10.0.0.1']) {
      assert.equal(isLoopbackHost(host), false, host);
    }
    assert.throws(() => loadConfig({ DIRECTOR_HOST: '127.x.example' }), /DIRECTOR_API_TOKENS.*DIRECTOR_AUTH=off/);
    assert.equal(loadConfig({ DIRECTOR_HOST: '127.0.0.2' }).host, '127.0.0.2');
    assert.equal(loadConfig({ DIRECTOR_HOST: '::1' }).host, '::1');
  });

  it('reads the edge settings, and names the fix of a wrong one', () => {
    assert.deepEqual(loadConfig({ DIRECTOR_CORS_ORIGINS: '*' }).corsOrigins, ['*']);
    assert.deepEqual(loadConfig({ DIRECTOR_CORS_ORIGINS: 'https://ui.example, http://localhost:3000/' }).corsOrigins, ['https://ui.example', 'http://localhost:3000']);
    assert.throws(() => loadConfig({ DIRECTOR_CORS_ORIGINS: 'ui.example' }), /DIRECTOR_CORS_ORIGINS: "ui.example" is not an origin.*scheme:\/\/host/);
    assert.throws(() => loadConfig({ DIRECTOR_CORS_ORIGINS: 'https://ui.example/app' }), /DIRECTOR_CORS_ORIGINS/);
    assert.deepEqual(loadConfig({ DIRECTOR_PUBLIC_HOSTS: 'Director.Example, x:8080' }).publicHosts, ['director.example', 'x:8080']);
    assert.throws(() => loadConfig({ DIRECTOR_PUBLIC_HOSTS: 'http://x' }), /DIRECTOR_PUBLIC_HOSTS.*Host header/);
    assert.equal(loadConfig({ DIRECTOR_MASK_KEYS: 'none' }).maskKeys, null);
    assert.throws(() => loadConfig({ DIRECTOR_MASK_KEYS: '(' }), /DIRECTOR_MASK_KEYS.*regular expression/);
    assert.throws(() => loadConfig({ DIRECTOR_RUNS_PAGE_MAX_BYTES: '10' }), /DIRECTOR_RUNS_PAGE_MAX_BYTES/);
  });

  it('reads the notification settings; a wrong webhook is named by position and masked form, never quoted', () => {
    const defaults = loadConfig({});
    assert.deepEqual(defaults.notifyWebhooks, []);
    assert.equal(defaults.notifyAfterFailures, 3);
    assert.deepEqual(defaults.notifyEvents, ['failed', 'failing', 'recovered']);
    assert.equal(defaults.publicUrl, null);
    const set = loadConfig({
      DIRECTOR_NOTIFY_WEBHOOKS: 'https://hooks.slack.com/services/T/B/x, http://127.0.0.1:9000/hook',
      DIRECTOR_NOTIFY_AFTER_FAILURES: '5',
      DIRECTOR_NOTIFY_EVENTS: 'failing,recovered',
      DIRECTOR_PUBLIC_URL: 'https://director.example/ops/',
    });
    assert.deepEqual(set.notifyWebhooks, ['https://hooks.slack.com/services/T/B/x', 'http://127.0.0.1:9000/hook']);
    assert.equal(set.notifyAfterFailures, 5);
    assert.deepEqual(set.notifyEvents, ['failing', 'recovered']);
    assert.equal(set.publicUrl, 'https://director.example/ops');
    assert.throws(
      () => loadConfig({ DIRECTOR_NOTIFY_WEBHOOKS: 'https://ok.example/a,ftp://u:Cfg-S3cret@files.example/x' }),
      (e: Error) => /DIRECTOR_NOTIFY_WEBHOOKS: entry 2 \(ftp:\/\/files.example\/…\) must be an http\(s\) URL/.test(e.message) && !e.message.includes('Cfg-S3cret'),
    );
    assert.throws(() => loadConfig({ DIRECTOR_NOTIFY_AFTER_FAILURES: '0' }), /DIRECTOR_NOTIFY_AFTER_FAILURES: 0 is out of range/);
    assert.throws(() => loadConfig({ DIRECTOR_NOTIFY_EVENTS: 'failed,down' }), /DIRECTOR_NOTIFY_EVENTS: "down" is not an event.*failed, failing, recovered/);
    assert.throws(() => loadConfig({ DIRECTOR_PUBLIC_URL: 'director.example' }), /DIRECTOR_PUBLIC_URL.*https:\/\/director.example/);
  });

  it('keeps instance ids within what PostgreSQL keeps of an application_name', () => {
    assert.throws(() => loadConfig({ DIRECTOR_INSTANCE_ID: 'x'.repeat(64) }), /DIRECTOR_INSTANCE_ID.*63 printable ASCII/);
    assert.throws(() => loadConfig({ DIRECTOR_INSTANCE_ID: 'réplica-1' }), /DIRECTOR_INSTANCE_ID/);
    assert.equal(loadConfig({ DIRECTOR_INSTANCE_ID: 'director-1' }).instanceId, 'director-1');
    assert.match(loadConfig({}).instanceId, /^[\x20-\x7e]{1,63}$/);
  });

  it('documents every variable in README', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const { variable } of settings) assert.ok(readme.includes(`\`${variable}\``), `${variable} is missing from README`);
    // The configuration table lists every setting with its default and meaning, as src/config.ts does
    // (regenerate it with scripts/config-table.ts).
    const table = readme.slice(readme.indexOf('<!-- config-table:start -->'), readme.indexOf('<!-- config-table:end -->'));
    const escape = (text: string) => text.replace(/\|/g, '\\|');
    for (const { variable, default: fallback, meaning } of settings) {
      assert.ok(table.includes(`| \`${variable}\` | ${escape(fallback)} | ${escape(meaning)} |`), `${variable}: README's configuration table does not match src/config.ts`);
    }
    const rows = table.split('\n').filter((line) => line.startsWith('| `'));
    assert.equal(rows.length, settings.length, 'one row per setting');
  });
});
