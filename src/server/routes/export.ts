// GET /api/datasets/{id}/export and GET /api/curations/{id}/export: streaming export of examples
// as JSON Lines, CSV or Parquet, for curation tools.
//
// Query parameters: format=jsonl|csv|parquet (default jsonl), raterVersionId (adds a score
// column), minScore (only examples scored at or above it; needs raterVersionId), split
// (TRAIN or HELDOUT). Ids are the GraphQL global ids.
import type http from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fromGlobalId } from '../../graphql/ids.js';
import { badInput } from '../../services/errors.js';
import {
  EXPORT_FORMATS,
  prepareExport,
  type ExportFormat,
  type ExportTarget,
} from '../../services/export.js';
import { authenticate, requireRole } from '../../services/tokens.js';
import type { Route, RouteContext } from '../router.js';

export const datasetExportRoute: Route = {
  method: 'GET',
  path: /^\/api\/datasets\/(?<id>[^/]+)\/export$/,
  handle: (req, res, context) =>
    sendExport(req, res, context, {
      datasetId: fromGlobalId(context.params.id ?? '', 'Dataset', 'dataset id'),
    }),
};

export const curationExportRoute: Route = {
  method: 'GET',
  path: /^\/api\/curations\/(?<id>[^/]+)\/export$/,
  handle: (req, res, context) =>
    sendExport(req, res, context, {
      curationId: fromGlobalId(context.params.id ?? '', 'Curation', 'curation id'),
    }),
};

async function sendExport(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  { db, services, url, logger }: RouteContext,
  target: ExportTarget,
): Promise<void> {
  const principal = await authenticate(db, req.headers.authorization, services.authRequired);
  requireRole(principal, 'READER');

  const query = url.searchParams;
  const raterVersionId = query.get('raterVersionId');
  const prepared = await prepareExport(db, target, {
    format: parseFormat(query.get('format')),
    raterVersionId:
      raterVersionId === null
        ? null
        : fromGlobalId(raterVersionId, 'RaterVersion', 'raterVersionId'),
    minScore: parseMinScore(query.get('minScore')),
    split: parseSplit(query.get('split')),
  });

  res.writeHead(200, {
    'content-type': prepared.contentType,
    'content-disposition': `attachment; filename="${prepared.fileName}"`,
    'cache-control': 'no-store',
  });
  // pipeline waits for the response to drain before it pulls the next chunk, and closes the
  // generator (ending its transaction) when the client disconnects.
  const started = Date.now();
  try {
    await pipeline(Readable.from(prepared.chunks, { objectMode: false }), res);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') throw error;
    logger.warn({ ...target, file: prepared.fileName }, 'export aborted: the client disconnected');
    return;
  }
  logger.info({ ...target, file: prepared.fileName, ms: Date.now() - started }, 'export sent');
}

function parseFormat(raw: string | null): ExportFormat {
  const format = (raw ?? 'jsonl').toLowerCase();
  if (format === 'ndjson') return 'jsonl';
  if ((EXPORT_FORMATS as readonly string[]).includes(format)) return format as ExportFormat;
  throw badInput(`Invalid format=${JSON.stringify(raw)}: expected jsonl, csv or parquet.`, {
    format: raw,
  });
}

function parseMinScore(raw: string | null): number | null {
  if (raw === null) return null;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value)) {
    throw badInput(`Invalid minScore=${JSON.stringify(raw)}: expected a finite number.`);
  }
  return value;
}

function parseSplit(raw: string | null): 'TRAIN' | 'HELDOUT' | null {
  if (raw === null) return null;
  const split = raw.toUpperCase();
  if (split === 'TRAIN' || split === 'HELDOUT') return split;
  throw badInput(`Invalid split=${JSON.stringify(raw)}: expected TRAIN or HELDOUT.`);
}
