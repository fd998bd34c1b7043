// A small static server for the demo page: web-demo's own files plus the installed `anyhsm`
// package, on 127.0.0.1 only. No dependencies. `PORT` picks the port (default 8080; 0 = any free one).

import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('.', import.meta.url));
const PACKAGE_DIR = join(ROOT, 'node_modules', 'anyhsm');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ts': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

// What may be served: the page and its modules, and the package a user would install.
// Everything else in web-demo (tests, scripts, other dependencies, dotfiles) is not.
function allowed(rel) {
  const parts = rel.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..' || p.startsWith('.'))) return false;
  if (parts[0] === 'node_modules') return parts[1] === 'anyhsm' && parts.length > 2;
  if (parts.length === 1) return ['index.html', 'favicon.svg', 'screenshot.png'].includes(parts[0]);
  return parts[0] === 'src';
}

async function resolveFile(urlPath) {
  let rel;
  try {
    rel = decodeURIComponent(urlPath).replace(/^\/+/, '');
  } catch {
    return null;
  }
  if (rel === '') rel = 'index.html';
  if (rel.includes('\\') || rel.includes('\0') || !allowed(rel)) return null;
  const candidate = join(ROOT, ...rel.split('/'));
  // Resolve symlinks and check the target is still inside web-demo (or the package).
  let real;
  try {
    real = await realpath(candidate);
  } catch {
    return null;
  }
  const rootReal = await realpath(ROOT);
  let pkgReal = null;
  try {
    pkgReal = await realpath(PACKAGE_DIR);
  } catch {
    // not installed yet
  }
  const inside = (dir) => dir !== null && (real === dir || real.startsWith(dir + sep));
  if (!inside(rootReal) && !inside(pkgReal)) return null;
  const st = await stat(real).catch(() => null);
  return st && st.isFile() ? { path: real, size: st.size } : null;
}

function send(res, status, text) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

async function handle(req, res) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return send(res, 405, 'method not allowed\n');
  }
  const url = new URL(req.url, 'http://127.0.0.1');
  const file = await resolveFile(url.pathname);
  if (!file) {
    if (url.pathname.startsWith('/node_modules/anyhsm/')) {
      return send(res, 404, 'not found (is the package installed? run: npm --prefix web-demo run setup)\n');
    }
    return send(res, 404, 'not found\n');
  }
  res.writeHead(200, {
    'content-type': TYPES[extname(file.path).toLowerCase()] ?? 'application/octet-stream',
    'content-length': file.size,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  if (req.method === 'HEAD') return res.end();
  createReadStream(file.path).on('error', () => res.destroy()).pipe(res);
}

/** Start the server; resolves to `{ url, port, close() }` once it listens. */
export function startServer({ port = 8080, host = '127.0.0.1' } = {}) {
  return new Promise((resolve, reject) => {
    const server = createServer((req, res) => {
      handle(req, res).catch((err) => {
        console.error(err);
        if (!res.headersSent) send(res, 500, 'internal error\n');
        else res.destroy();
      });
    });
    server.on('error', reject);
    server.listen(port, host, () => {
      const actual = server.address().port;
      resolve({
        url: `http://${host}:${actual}/`,
        port: actual,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

if (process.argv[1] && (await realpath(process.argv[1]).catch(() => '')) === fileURLToPath(import.meta.url)) {
  const port = process.env.PORT === undefined || process.env.PORT === '' ? 8080 : Number(process.env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`PORT must be a port number, got ${JSON.stringify(process.env.PORT)}`);
    process.exit(2);
  }
  const { url } = await startServer({ port }).catch((err) => {
    console.error(`cannot listen on 127.0.0.1:${port}: ${err.message}`);
    process.exit(1);
  });
  const pkg = await stat(PACKAGE_DIR).catch(() => null);
  if (!pkg) console.warn('warning: the anyhsm package is not installed; run: npm --prefix web-demo run setup');
  console.log(`anyhsm web demo: ${url}`);
  const stop = () => process.exit(0);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
