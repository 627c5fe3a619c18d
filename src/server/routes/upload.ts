// POST /api/datasets/{id}/examples: streaming NDJSON, CSV or Parquet upload of examples.
import { fromGlobalId } from '../../graphql/ids.js';
import { authenticate, requireRole } from '../../services/tokens.js';
import { badInput } from '../../services/errors.js';
import { importParquet } from '../../services/parquet-import.js';
import { importExamples } from '../../services/uploads.js';
import { sendJson } from '../http-utils.js';
import type { Route } from '../router.js';

export const uploadRoute: Route = {
  method: 'POST',
  path: /^\/api\/datasets\/(?<id>[^/]+)\/examples$/,
  async handle(req, res, { db, services, params, url, logger }) {
    const principal = await authenticate(db, req.headers.authorization, services.authRequired);
    requireRole(principal, 'WRITER');

    const datasetId = fromGlobalId(params.id ?? '', 'Dataset', 'dataset id');
    const format = uploadFormat(url.searchParams.get('format'), req.headers['content-type']);
    const onError = url.searchParams.get('onError') ?? 'abort';
    if (onError !== 'abort' && onError !== 'skip') {
      throw badInput(`Invalid onError=${JSON.stringify(onError)}: expected abort or skip.`);
    }

    const options = { onError, maxLineBytes: services.maxUploadLineBytes } as const;
    const report =
      format === 'parquet'
        ? await importParquet(db, datasetId, req, options)
        : await importExamples(db, datasetId, req, { ...options, format });
    logger.info(
      { datasetId, format, imported: report.imported, rejected: report.rejected },
      'examples uploaded',
    );
    sendJson(res, 200, report);
  },
};

/** Chooses the format from `?format=`, else from the Content-Type, else NDJSON. */
function uploadFormat(
  query: string | null,
  contentType: string | undefined,
): 'ndjson' | 'csv' | 'parquet' {
  if (query !== null) {
    const format = query.toLowerCase();
    if (format === 'ndjson' || format === 'jsonl' || format === 'json') return 'ndjson';
    if (format === 'csv') return 'csv';
    if (format === 'parquet') return 'parquet';
    throw badInput(`Invalid format=${JSON.stringify(query)}: expected ndjson, csv or parquet.`);
  }
  if (contentType?.includes('text/csv')) return 'csv';
  if (contentType?.includes('parquet')) return 'parquet';
  return 'ndjson';
}
