// GET / and GET /dashboard/...: the dashboard page, its own scripts and styles, and the browser
// modules it imports from node_modules (uPlot, the graphql-ws client).
//
// Only files on an allow-list built at the first request are served: the files directly inside
// src/server/dashboard (by name) and a fixed list of vendor files. A request path is looked up in
// that list as a whole string and is never joined to a file system path, so no request can reach
// another file, whatever dots or encoded slashes it contains.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import type http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Route } from '../router.js';

/** URL prefix of every asset except the page itself. */
const ASSET_PREFIX = '/dashboard/';

/**
 * Folder of the page, scripts and styles, found beside this module's folder. NOTE: tsc copies no
 * .html, .css or .js assets, so a compiled build must copy src/server/dashboard next to it.
 */
const DASHBOARD_DIR = fileURLToPath(new URL('../dashboard/', import.meta.url));

/** File names in DASHBOARD_DIR that are served; anything else there (notes, editor files) is not. */
const OWN_FILE_NAME = /^[a-z0-9][a-z0-9-]*\.(?:html|js|css|svg)$/;

/** Vendor files, by the URL under /dashboard/vendor/ and the file inside the npm package. */
const VENDOR_FILES: readonly { url: string; packageName: string; file: string }[] = [
  { url: 'uplot/uPlot.esm.js', packageName: 'uplot', file: 'dist/uPlot.esm.js' },
  { url: 'uplot/uPlot.min.css', packageName: 'uplot', file: 'dist/uPlot.min.css' },
  { url: 'graphql-ws/client.js', packageName: 'graphql-ws', file: 'dist/client.js' },
];

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * Policy of the page: scripts, styles and connections to this origin only (in CSP Level 3,
 * `'self'` also allows ws: and wss: to the same host), no inline script, no framing.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  body: Buffer;
  contentType: string;
  etag: string;
}

let assets: Promise<Map<string, Asset>> | null = null;

/** Serves the dashboard page at / and its assets under /dashboard/. */
export const dashboardRoutes: Route[] = ['GET', 'HEAD'].map((method) => ({
  method,
  path: /^\/(?:dashboard\/.*)?$/,
  handle: (req, res, { url }) => sendAsset(req, res, url.pathname),
}));

async function sendAsset(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  pathname: string,
): Promise<void> {
  // A failed load is retried at the next request instead of being cached.
  assets ??= loadAssets().catch((error: unknown) => {
    assets = null;
    throw error;
  });
  const asset = (await assets).get(pathname === '/' ? `${ASSET_PREFIX}index.html` : pathname);
  if (!asset) {
    sendNotFound(res, pathname);
    return;
  }

  // The URLs carry no version, so browsers revalidate every time and get a 304 when unchanged.
  const headers: http.OutgoingHttpHeaders = {
    'content-type': asset.contentType,
    'cache-control': 'no-cache',
    etag: asset.etag,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
  if (asset.contentType.startsWith('text/html')) {
    headers['content-security-policy'] = CONTENT_SECURITY_POLICY;
  }

  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  headers['content-length'] = asset.body.length;
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : asset.body);
}

function sendNotFound(res: http.ServerResponse, pathname: string): void {
  const body = JSON.stringify({
    error: {
      code: 'NOT_FOUND',
      message: `No dashboard file at ${pathname}. The dashboard is at /.`,
    },
  });
  res.writeHead(404, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

/** Reads every allowed file into memory, keyed by its URL path. */
async function loadAssets(): Promise<Map<string, Asset>> {
  const files = new Map<string, string>();

  for (const entry of await fs.readdir(DASHBOARD_DIR, { withFileTypes: true })) {
    if (entry.isFile() && OWN_FILE_NAME.test(entry.name)) {
      files.set(`${ASSET_PREFIX}${entry.name}`, path.join(DASHBOARD_DIR, entry.name));
    }
  }

  for (const vendor of VENDOR_FILES) {
    const file = path.join(packageRoot(vendor.packageName), vendor.file);
    files.set(`${ASSET_PREFIX}vendor/${vendor.url}`, file);
    for (const chunk of await relativeImports(file)) {
      const url = path.posix.join(path.posix.dirname(vendor.url), chunk);
      files.set(`${ASSET_PREFIX}vendor/${url}`, path.join(path.dirname(file), chunk));
    }
  }

  const loaded = new Map<string, Asset>();
  for (const [url, file] of files) {
    const body = await fs.readFile(file);
    const contentType = CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream';
    const etag = `"${crypto.createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    loaded.set(url, { body, contentType, etag });
  }
  return loaded;
}

/**
 * Returns the sibling modules a vendor module imports (`from './name.js'`). The graphql-ws client
 * imports a chunk whose name carries a content hash, which changes with every release, so the
 * allow-list takes it from the client instead of naming it.
 */
async function relativeImports(file: string): Promise<string[]> {
  if (!file.endsWith('.js')) return [];
  const source = await fs.readFile(file, 'utf8');
  const names = new Set<string>();
  for (const match of source.matchAll(/\bfrom\s*['"]\.\/([A-Za-z0-9_.-]+\.js)['"]/g)) {
    if (match[1]) names.add(match[1]);
  }
  return [...names];
}

/** Returns the folder of an installed npm package, found from its main entry point. */
function packageRoot(packageName: string): string {
  const require = createRequire(import.meta.url);
  let folder = path.dirname(require.resolve(packageName));
  while (path.basename(folder) !== packageName) {
    const parent = path.dirname(folder);
    if (parent === folder) {
      throw new Error(`packageRoot: no folder named ${packageName} above its main entry point`);
    }
    folder = parent;
  }
  return folder;
}
