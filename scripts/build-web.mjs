// Bundles the dashboard (src/web/client) into dist/web: index.html, app.js, app.css, favicon.svg.

import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const clientDir = path.join(root, 'src/web/client');

/**
 * @param {{ outDir?: string, minify?: boolean }} [options]
 * @returns {Promise<{ outDir: string, files: Record<string, number> }>} sizes in bytes of the written files
 */
export async function buildWeb(options = {}) {
  const outDir = options.outDir ?? path.join(root, 'dist/web');
  const minify = options.minify ?? true;
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [
      { in: path.join(clientDir, 'main.tsx'), out: 'app' },
      { in: path.join(clientDir, 'styles.css'), out: 'app' },
    ],
    outdir: outDir,
    bundle: true,
    minify,
    format: 'esm',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: path.join(clientDir, 'tsconfig.json'),
    legalComments: 'none',
    sourcemap: false,
    logLevel: 'warning',
  });
  const js = await readFile(path.join(outDir, 'app.js'));
  const css = await readFile(path.join(outDir, 'app.css'));
  const favicon = await readFile(path.join(clientDir, 'favicon.svg'));
  const version = (content) => createHash('sha256').update(content).digest('hex').slice(0, 12);
  const template = await readFile(path.join(clientDir, 'index.html'), 'utf8');
  const html = template
    .replace('{{app.js}}', `/app.js?v=${version(js)}`)
    .replace('{{app.css}}', `/app.css?v=${version(css)}`)
    .replace('{{favicon.svg}}', `/favicon.svg?v=${version(favicon)}`);
  await writeFile(path.join(outDir, 'index.html'), html);
  await writeFile(path.join(outDir, 'favicon.svg'), favicon);
  return {
    outDir,
    files: { 'index.html': Buffer.byteLength(html), 'app.js': js.length, 'app.css': css.length, 'favicon.svg': favicon.length },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const { outDir, files } = await buildWeb();
  const sizes = Object.entries(files).map(([name, bytes]) => `${name} ${(bytes / 1024).toFixed(1)} kB`).join(', ');
  console.log(`dashboard built in ${path.relative(process.cwd(), outDir) || '.'}: ${sizes}`);
}
