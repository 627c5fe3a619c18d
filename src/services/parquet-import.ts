// Upload of examples from a Parquet file. A Parquet reader needs random access (the footer at the
// end locates the row groups), so the upload is first written to a temporary file of bounded
// size. Then hyparquet (pure JavaScript) reads the rows one row group at a time. Each row goes to
// the NDJSON importer as one JSON line, so Parquet rows get the same validation, batching,
// transaction and error report as NDJSON lines.
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  asyncBufferFromFile,
  parquetMetadataAsync,
  parquetReadObjects,
  parquetSchema,
  type AsyncBuffer,
  type FileMetaData,
} from 'hyparquet';
import type { Database } from '../db/client.js';
import { badInput } from './errors.js';
import { UPLOAD_FIELDS } from './upload-rows.js';
import { importExamples, type UploadOptions, type UploadReport } from './uploads.js';

/** Largest Parquet upload, in bytes, because the file is spooled to disk whole. */
export const DEFAULT_MAX_PARQUET_BYTES = 1024 ** 3;

export interface ParquetImportOptions extends Omit<UploadOptions, 'format'> {
  /** Largest accepted file in bytes. Default DEFAULT_MAX_PARQUET_BYTES. */
  maxFileBytes?: number;
  /** Folder of the temporary file. Default the system temporary folder. */
  tempDir?: string;
}

/**
 * Imports examples from a Parquet file into dataset `datasetId`, in one transaction. Columns
 * named like the upload fields (`text` required; `id`, `label`, `source`, `split`, `meta`) are
 * read and others are ignored. Integer `id`, `label` and `source` values become decimal strings,
 * and a string `meta` is parsed as JSON. Errors name the 1-based row as `line`.
 *
 * Memory stays within one row group of the file (its size is the writer's choice) and one write
 * batch.
 * Disk holds the file, at most `maxFileBytes`, and the file is deleted when the import ends.
 *
 * @throws AppError BAD_USER_INPUT for a file over the size limit, a file that is not Parquet, a
 *   file without a `text` column, or invalid rows (see importExamples); NOT_FOUND for an unknown
 *   dataset
 */
export async function importParquet(
  db: Database,
  datasetId: string,
  input: NodeJS.ReadableStream | AsyncIterable<Buffer>,
  options: ParquetImportOptions = {},
): Promise<UploadReport> {
  const { maxFileBytes = DEFAULT_MAX_PARQUET_BYTES, tempDir = os.tmpdir(), ...upload } = options;
  const folder = await fs.mkdtemp(path.join(tempDir, 'datarater-parquet-'));
  try {
    const file = path.join(folder, 'upload.parquet');
    await spool(input, file, maxFileBytes);

    const buffer = await asyncBufferFromFile(file);
    const metadata = await readMetadata(buffer);
    const columns = uploadColumns(metadata);
    return await importExamples(db, datasetId, readRows(buffer, metadata, columns), {
      ...upload,
      format: 'ndjson',
    });
  } finally {
    await fs.rm(folder, { recursive: true, force: true });
  }
}

/** Writes the upload to `file`, failing once it passes `maxBytes`. */
async function spool(
  input: NodeJS.ReadableStream | AsyncIterable<Buffer>,
  file: string,
  maxBytes: number,
): Promise<void> {
  let bytes = 0;
  async function* limited(source: AsyncIterable<Buffer | string>) {
    for await (const chunk of source) {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        throw badInput(
          `The Parquet file is larger than ${maxBytes} bytes, the upload limit. Split it into smaller files.`,
        );
      }
      yield chunk;
    }
  }
  await pipeline(input as AsyncIterable<Buffer>, limited, createWriteStream(file));
}

async function readMetadata(buffer: AsyncBuffer): Promise<FileMetaData> {
  try {
    return await parquetMetadataAsync(buffer);
  } catch (error) {
    throw badInput(`The upload is not a valid Parquet file: ${(error as Error).message}.`);
  }
}

/** Lists the upload fields present as top-level columns; throws without a `text` column. */
function uploadColumns(metadata: FileMetaData): string[] {
  const names = new Set(parquetSchema(metadata).children.map((child) => child.element.name));
  if (!names.has('text')) {
    throw badInput(
      `The Parquet file has no "text" column; its columns are ${[...names].join(', ')}.`,
      { reason: 'MISSING_TEXT' },
    );
  }
  return UPLOAD_FIELDS.filter((field) => names.has(field));
}

/** Yields one NDJSON line per row, reading one row group at a time. */
async function* readRows(
  buffer: AsyncBuffer,
  metadata: FileMetaData,
  columns: string[],
): AsyncGenerator<Buffer> {
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    let rows: Record<string, unknown>[];
    try {
      rows = await parquetReadObjects({ file: buffer, metadata, columns, rowStart, rowEnd });
    } catch (error) {
      throw badInput(
        `Failed to read rows ${rowStart + 1} to ${rowEnd} of the Parquet file: ${(error as Error).message}.`,
      );
    }
    yield Buffer.from(rows.map((row) => `${JSON.stringify(toUploadRecord(row))}\n`).join(''));
    rowStart = rowEnd;
  }
}

function toUploadRecord(row: Record<string, unknown>): Record<string, unknown> {
  const record: Record<string, unknown> = { ...row };
  for (const field of ['id', 'label', 'source'] as const) {
    const value = row[field];
    if (typeof value === 'bigint' || (typeof value === 'number' && Number.isInteger(value))) {
      record[field] = String(value);
    }
  }
  const meta = row.meta;
  if (typeof meta === 'string') {
    try {
      record.meta = JSON.parse(meta);
    } catch {
      // Left as the string, which the row validation reports as not a JSON object.
    }
  }
  // JSON cannot carry a bigint; any other bigint column is reported as a string.
  return Object.fromEntries(
    Object.entries(record).map(([key, value]) => [
      key,
      typeof value === 'bigint' ? String(value) : value,
    ]),
  );
}
