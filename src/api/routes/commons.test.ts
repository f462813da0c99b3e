// /commons/infrastructure is anonymous: GOV_INFRASTRUCTURE is read once and its answer kept, not fetched
// on every request. Real HTTP on both sides.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startHarness } from '../../../test/support/director-harness.js';
import { rawHttp } from '../../../test/support/raw-http.js';

describe('/commons/infrastructure', () => {
  it('fetches GOV_INFRASTRUCTURE once for many anonymous requests', async () => {
    let fetches = 0;
    const yaml = createServer((_req, res) => {
      fetches++;
      // Slow: concurrent requests share the one fetch in flight.
      setTimeout(() => res.end('internal:\n  assets:\n    default: http://assets:80\nexternal: {}\n'), 100);
    });
    await new Promise<void>((resolve) => yaml.listen(0, '127.0.0.1', resolve));
    const h = await startHarness({ listen: true, env: { GOV_INFRASTRUCTURE: `http://127.0.0.1:${(yaml.address() as AddressInfo).port}/infra.yaml` } });
    try {
      const address = h.director.app.server.address() as AddressInfo;
      const answers = await Promise.all(Array.from({ length: 20 }, () => rawHttp({ port: address.port, path: '/commons/infrastructure' })));
      for (let i = 0; i < 30; i++) answers.push(await rawHttp({ port: address.port, path: '/commons/infrastructure' }));
      for (const answer of answers) {
        assert.equal(answer.status, 200);
        assert.deepEqual(answer.json, { internal: { assets: { default: 'http://assets:80' } }, external: {} });
      }
      assert.equal(fetches, 1);
    } finally {
      await h.close();
      yaml.close();
    }
  });
});
