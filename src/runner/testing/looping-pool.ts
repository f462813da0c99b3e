// A process that owns an executor pool whose executor spins in an endless loop; the orphan test
// SIGKILLs this process and checks that its executors died with it.

import { startTestPool } from './test-pool.js';

const t = await startTestPool({ size: 1, policy: process.argv[2] === 'trusted' ? 'trusted' : 'strict' });
void t.run('module.exports.main = () => { for (;;) {} };', { timeoutMs: 600_000 });
setTimeout(() => console.log('looping'), 300);
