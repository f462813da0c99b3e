// Redirects of script fetches are held to DIRECTOR_SCRIPT_ORIGINS: one that leads elsewhere is not
// followed (the other server never hears of it); one within the allowed origins is. Real HTTP servers.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAssets } from './assets.js';

function serve(handler: (path: string) => { status: number; location?: string; body?: string }): Promise<{ url: string; hits: string[]; server: Server }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '/');
    const answer = handler(req.url ?? '/');
    res.writeHead(answer.status, answer.location ? { location: answer.location } : {});
    res.end(answer.body ?? '');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, server })));
}

describe('script fetch redirects', () => {
  let allowed: Awaited<ReturnType<typeof serve>>;
  let elsewhere: Awaited<ReturnType<typeof serve>>;
  before(async () => {
    elsewhere = await serve(() => ({ status: 200, body: 'module.exports.main = () => "evil"' }));
    allowed = await serve((path) => {
      if (path === '/s/away.js') return { status: 302, location: `${elsewhere.url}/evil.js` };
      if (path === '/s/moved.js') return { status: 301, location: '/s/here.js' };
      if (path === '/s/here.js') return { status: 200, body: 'module.exports.main = () => "here"' };
      return { status: 404 };
    });
  });
  after(() => {
    allowed.server.close();
    elsewhere.server.close();
  });

  const assetsFor = (origins: string[]) => createAssets({ config: { assetsUrl: 'http://127.0.0.1:1', scriptOrigins: origins, fetchTimeoutMs: 5000, scriptMaxBytes: 1_000_000 } });

  it('does not follow a redirect out of DIRECTOR_SCRIPT_ORIGINS', async () => {
    const assets = assetsFor([`${allowed.url}/s/`]);
    try {
      await assert.rejects(assets.fetchScript(`${allowed.url}/s/away.js`), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'SCRIPT_ORIGIN_REJECTED');
        assert.match(error.message, /redirect.*not followed/);
        return true;
      });
      assert.deepEqual(elsewhere.hits, [], 'the other server was never asked');
      const fetched = await assets.fetchScript(`${allowed.url}/s/moved.js`);
      assert.match(fetched.text, /here/, 'a redirect within the allowed origins is followed');
    } finally {
      assets.close();
    }
  });

  it('follows redirects anywhere when no origins are configured (the default)', async () => {
    const assets = assetsFor([]);
    try {
      assert.match((await assets.fetchScript(`${allowed.url}/s/away.js`)).text, /evil/);
    } finally {
      assets.close();
    }
  });
});
