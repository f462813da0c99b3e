// Serves the dashboard built by scripts/build-web.mjs (dist/web) at `/`, with its security headers.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Both src/web (tsx) and dist/web (built) sit two levels below the repository root. */
export const DEFAULT_WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/web');

/** Only these files are served: dist/web also holds the compiled server modules. */
const FILES: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export interface WebOptions {
  /** Folder of the built dashboard; dist/web of this repository unless a test says otherwise. */
  readonly dir?: string;
}

export async function webRoutes(app: FastifyInstance, options: WebOptions = {}): Promise<void> {
  const dir = options.dir ?? DEFAULT_WEB_DIR;
  // Built files do not change while Director runs; a missing build is looked for again on each request
  // so that `npm run build` beside a running `npm run dev` is picked up without a restart.
  const cache = new Map<string, Buffer>();

  async function load(name: string): Promise<Buffer | undefined> {
    const hit = cache.get(name);
    if (hit) return hit;
    try {
      const content = await readFile(path.join(dir, name));
      cache.set(name, content);
      return content;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  await app.register(async (web) => {
    web.addHook('onSend', async (_request, reply, payload) => {
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) reply.header(name, value);
      return payload;
    });

    const serve = (name: string) => async (request: FastifyRequest, reply: FastifyReply) => {
      const content = await load(name);
      if (!content) {
        if (name !== 'index.html') return reply.status(404).type('text/plain; charset=utf-8').send('Not Found');
        return reply.status(503).type('text/plain; charset=utf-8')
          .send(`The dashboard is not built (${dir} has no index.html): run \`npm run build\`, then reload. The API is available under /api/v1.`);
      }
      // index.html names its assets with ?v=<content hash>, so they may be cached for good; it may not.
      const versioned = name !== 'index.html' && typeof (request.query as { v?: unknown }).v === 'string';
      reply.header('cache-control', versioned ? 'public, max-age=31536000, immutable' : 'no-cache');
      return reply.type(FILES[name]!).send(content);
    };

    const schema = { hide: true };
    web.get('/', { config: { role: 'public' }, schema }, serve('index.html'));
    for (const name of Object.keys(FILES)) {
      if (name !== 'index.html') web.get(`/${name}`, { config: { role: 'public' }, schema }, serve(name));
    }
  });
}
