import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { permissionFlags, permissionSupport } from './node-permission.js';

test('uses the stable --permission flag where the running Node has it, the experimental one before', () => {
  assert.equal(permissionSupport(new Set(['--permission', '--experimental-permission'])).enable, '--permission');
  assert.equal(permissionSupport(new Set(['--experimental-permission'])).enable, '--experimental-permission');
  assert.deepEqual(permissionFlags('allow', { enable: '--experimental-permission', restrictsNetwork: false }), ['--experimental-permission', '--disable-warning=ExperimentalWarning']);
});

test('keeps the network for scripts on a Node that denies it by default, unless asked to deny it', () => {
  const node26 = permissionSupport(new Set(['--permission', '--allow-net']));
  assert.deepEqual(permissionFlags('allow', node26), ['--permission', '--allow-net']);
  assert.deepEqual(permissionFlags('deny', node26), ['--permission']);
});

test('the flags chosen for the running Node are accepted by it and turn the model on', () => {
  const flags = permissionFlags('allow');
  const out = spawnSync(process.execPath, [...flags, '-e', 'process.stdout.write(String(process.permission.has("fs.read", "/etc/passwd")))'], { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  assert.equal(out.stdout, 'false');
});
