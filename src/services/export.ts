// Streaming export of a dataset's examples (a curated dataset: its kept members) as JSON Lines,
// CSV or Parquet, optionally with one rater version's scores.
//
// Rows are read in keyset batches by example seq inside one REPEATABLE READ transaction, so the
// export is one consistent snapshot and memory stays within one batch. The output is an async
// generator of byte chunks that reads the next batch only when the consumer requests more, so a
// slow client slows the reads instead of filling memory. The columns match the upload format
// (`id`, `text`, `label`, `source`, `split`, `meta`), so an export imports back as the same rows;
// `exampleId` and `score` are extra columns that an import ignores.
import type pg from 'pg';
import type { Database } from '../db/client.js';
import type { Split } from './datasets.js';
import { datasetNotFound } from './datasets.js';
import { badInput, notFound } from './errors.js';
import { exampleGlobalId, type ExportRow } from './export-row.js';
import { encodeParquet } from './parquet-export.js';
import { raterVersionNotFound } from './score-scope.js';

export type ExportFormat = 'jsonl' | 'csv' | 'parquet';

export const EXPORT_FORMATS: readonly ExportFormat[] = ['jsonl', 'csv', 'parquet'];

export const CONTENT_TYPES: Record<ExportFormat, string> = {
  jsonl: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  parquet: 'application/vnd.apache.parquet',
};

/** Examples to export: a dataset's own or curated examples, or a curation's kept set. */
export type ExportTarget = { datasetId: string } | { curationId: string };

export interface ExportOptions {
  format: ExportFormat;
  /** Adds a `score` column with this version's scores. */
  raterVersionId?: string | null;
  /** Exports only examples scored at or above this value (needs raterVersionId). */
  minScore?: number | null;
  split?: Split | null;
  /** Rows per batch (a Parquet row group). Default 5,000. */
  batchRows?: number;
  /** A batch ends once its texts reach this many bytes. Default 8 MiB. */
  batchBytes?: number;
}

export const DEFAULT_BATCH_ROWS = 5000;
export const DEFAULT_BATCH_BYTES = 8 * 1024 * 1024;

export interface PreparedExport {
  /** File name for Content-Disposition, without directories. */
  fileName: string;
  contentType: string;
  /** The encoded file, chunk by chunk. Reading it runs the export; it reads the rows once. */
  chunks: AsyncGenerator<Buffer>;
}

/**
 * Checks the target and options and prepares the export. Nothing is read until `chunks` is
 * iterated, and the transaction closes when iteration ends, fails or is abandoned with
 * `return()`. Throws NOT_FOUND naming the id of a missing dataset, curation or rater version,
 * and BAD_USER_INPUT for an invalid option.
 */
export async function prepareExport(
  db: Database,
  target: ExportTarget,
  options: ExportOptions,
): Promise<PreparedExport> {
  validateOptions(options);
  const scope = await resolveTarget(db, target);
  if (options.raterVersionId != null) {
    const version = await db.prisma.raterVersion.findUnique({
      where: { id: options.raterVersionId },
      select: { id: true },
    });
    if (!version) throw raterVersionNotFound(options.raterVersionId);
  }

  const batches = readBatches(db, scope, options);
  const withScore = options.raterVersionId != null;
  return {
    fileName: `${safeFileName(scope.name)}.${options.format}`,
    contentType: CONTENT_TYPES[options.format],
    chunks: encode(options.format, batches, withScore),
  };
}

function validateOptions(options: ExportOptions): void {
  if (!EXPORT_FORMATS.includes(options.format)) {
    throw badInput(
      `Invalid format=${JSON.stringify(options.format)}: expected jsonl, csv or parquet.`,
    );
  }
  if (options.minScore != null) {
    if (!Number.isFinite(options.minScore)) {
      throw badInput(`Invalid minScore=${options.minScore}: expected a finite number.`);
    }
    if (options.raterVersionId == null) {
      throw badInput('minScore needs raterVersionId: name the rater version whose scores to use.');
    }
  }
  for (const [name, value] of [
    ['batchRows', options.batchRows],
    ['batchBytes', options.batchBytes],
  ] as const) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) {
      throw badInput(`Invalid ${name}=${value}: expected a positive integer.`);
    }
  }
}

interface ExportScope {
  name: string;
  /** Set for a plain dataset: its own rows. */
  datasetId: string | null;
  /** Set for a curation or a curated dataset: the members. */
  curationId: string | null;
}

async function resolveTarget(db: Database, target: ExportTarget): Promise<ExportScope> {
  if ('curationId' in target) {
    const curation = await db.prisma.curation.findUnique({
      where: { id: target.curationId },
      select: { id: true, curatedDataset: { select: { name: true } } },
    });
    if (!curation) {
      throw notFound(`Curation ${target.curationId} was not found.`, {
        curationId: target.curationId,
      });
    }
    const name = curation.curatedDataset?.name ?? `curation-${curation.id}`;
    return { name, datasetId: null, curationId: curation.id };
  }

  const dataset = await db.prisma.dataset.findUnique({
    where: { id: target.datasetId },
    select: { id: true, name: true, curation: { select: { id: true } } },
  });
  if (!dataset) throw datasetNotFound(target.datasetId);
  return dataset.curation
    ? { name: dataset.name, datasetId: null, curationId: dataset.curation.id }
    : { name: dataset.name, datasetId: dataset.id, curationId: null };
}

/**
 * Reads the rows in seq order, batch by batch, in one read-only REPEATABLE READ transaction on
 * one pooled connection, which is released when the generator finishes or is closed.
 */
async function* readBatches(
  db: Database,
  scope: ExportScope,
  options: ExportOptions,
): AsyncGenerator<ExportRow[]> {
  const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
  const batchBytes = options.batchBytes ?? DEFAULT_BATCH_BYTES;
  const client = await db.pool.connect();
  let committed = false;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    let afterSeq = 0;
    for (;;) {
      const rows = await readBatch(client, scope, options, afterSeq, batchRows, batchBytes);
      if (rows.length === 0) break;
      yield rows;
      afterSeq = rows.at(-1)!.seq;
    }
    await client.query('COMMIT');
    committed = true;
  } finally {
    // A failed or abandoned export (the client went away) rolls back. A connection that cannot
    // even roll back is broken, so the pool discards it.
    const rollbackError = committed
      ? undefined
      : await client.query('ROLLBACK').then(
          () => undefined,
          (error: Error) => error,
        );
    client.release(rollbackError);
  }
}

/**
 * Reads the next batch after `afterSeq`: up to `batchRows` rows, cut after the row whose text
 * brings the batch to `batchBytes` (so a batch contains at least one row). The scan walks the
 * example primary key (a plain dataset) or the curation_member primary key (a curation) from
 * the cursor.
 */
async function readBatch(
  client: pg.PoolClient,
  scope: ExportScope,
  options: ExportOptions,
  afterSeq: number,
  batchRows: number,
  batchBytes: number,
): Promise<ExportRow[]> {
  const params: unknown[] = [afterSeq, batchRows, batchBytes];
  const curated = scope.curationId !== null;
  const from = curated ? 'curation_member m JOIN example e ON e.seq = m.example_seq' : 'example e';
  const orderKey = curated ? 'm.example_seq' : 'e.seq';
  const conditions = curated
    ? [`m.curation_id = $${params.push(scope.curationId)}::uuid`, 'm.example_seq > $1']
    : [`e.dataset_id = $${params.push(scope.datasetId)}::uuid`, 'e.seq > $1'];
  if (options.split != null) conditions.push(`e.split = $${params.push(options.split)}::"Split"`);

  let scoreColumn = 'NULL::real';
  let scoreJoin = '';
  if (options.raterVersionId != null) {
    const version = params.push(options.raterVersionId);
    scoreColumn = 's.score';
    scoreJoin = `LEFT JOIN score s ON s.rater_version_id = $${version}::uuid AND s.example_seq = e.seq`;
    if (options.minScore != null) {
      conditions.push(`s.score >= $${params.push(options.minScore)}::float8`);
    }
  }

  // The running byte total cuts the batch inside Postgres, so no text past the cut is sent.
  const { rows } = await client.query<{
    seq: number;
    external_id: string | null;
    text: string;
    label: string | null;
    source: string | null;
    split: Split;
    meta: unknown;
    score: number | null;
    bytes_before: number;
  }>(
    `SELECT * FROM (
       SELECT e.seq, e.external_id, e.text, e.label, e.source, e.split, e.meta,
              ${scoreColumn} AS score,
              (sum(e.byte_length) OVER (ORDER BY ${orderKey}) - e.byte_length)::float8
                AS bytes_before
         FROM ${from} ${scoreJoin}
        WHERE ${conditions.join(' AND ')}
        ORDER BY ${orderKey}
        LIMIT $2) batch
      WHERE bytes_before < $3`,
    params,
  );

  return rows.map((row) => ({
    seq: row.seq,
    id: row.external_id,
    text: row.text,
    label: row.label,
    source: row.source,
    split: row.split,
    meta: row.meta,
    score: row.score,
  }));
}

async function* encode(
  format: ExportFormat,
  batches: AsyncGenerator<ExportRow[]>,
  withScore: boolean,
): AsyncGenerator<Buffer> {
  switch (format) {
    case 'jsonl':
      for await (const rows of batches) yield Buffer.from(rows.map(toJsonLine).join(''), 'utf8');
      return;
    case 'csv':
      yield Buffer.from(csvLine(csvHeader(withScore)), 'utf8');
      for await (const rows of batches) {
        yield Buffer.from(rows.map((row) => csvLine(csvFields(row, withScore))).join(''), 'utf8');
      }
      return;
    case 'parquet':
      yield* encodeParquet(batches, withScore);
      return;
    default: {
      const unknown: never = format;
      throw new Error(`encode: unknown format ${String(unknown)}`);
    }
  }

  function toJsonLine(row: ExportRow): string {
    const { seq, score, ...fields } = row;
    const record = withScore
      ? { exampleId: exampleGlobalId(seq), ...fields, score }
      : { exampleId: exampleGlobalId(seq), ...fields };
    return `${JSON.stringify(record)}\n`;
  }
}

function csvHeader(withScore: boolean): string[] {
  const columns = ['exampleId', 'id', 'text', 'label', 'source', 'split', 'meta'];
  return withScore ? [...columns, 'score'] : columns;
}

/** CSV cells of a row. Null is an empty cell, which an import reads as absent. */
function csvFields(row: ExportRow, withScore: boolean): string[] {
  const fields = [
    exampleGlobalId(row.seq),
    row.id ?? '',
    row.text,
    row.label ?? '',
    row.source ?? '',
    row.split,
    row.meta === null || row.meta === undefined ? '' : JSON.stringify(row.meta),
  ];
  return withScore ? [...fields, row.score === null ? '' : String(row.score)] : fields;
}

/** Formats one RFC 4180 record: every field quoted, quotes doubled, CRLF-terminated. */
function csvLine(fields: string[]): string {
  return `${fields.map((field) => `"${field.replaceAll('"', '""')}"`).join(',')}\r\n`;
}

/** Makes a file name from a dataset name: letters, digits, dot, dash and underscore only. */
function safeFileName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '');
  return cleaned.slice(0, 100) || 'export';
}
