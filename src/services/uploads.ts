// Streaming upload of examples into a dataset, from NDJSON or CSV, in one transaction.
import type pg from 'pg';
import type { Database } from '../db/client.js';
import {
  DEFAULT_MAX_BATCH_BYTES,
  DEFAULT_MAX_BATCH_ROWS,
  ExampleWriter,
  exampleWriteMethod,
  type ExampleWriteMethod,
} from '../db/example-writer.js';
import { datasetNotFound } from './datasets.js';
import { badInput } from './errors.js';
import { frameRecords, type FramedRecord } from './upload-records.js';
import {
  CsvRecordParser,
  UPLOAD_FIELDS,
  csvErrorMessage,
  decodeUtf8,
  parseNdjsonLine,
  validateFields,
  type CsvResult,
  type RowResult,
  type UploadErrorReason,
  type UploadRow,
} from './upload-rows.js';

export type { UploadErrorReason } from './upload-rows.js';

export type UploadFormat = 'ndjson' | 'csv';

export interface UploadOptions {
  format: UploadFormat;
  /**
   * `abort` (default): the first bad line fails the upload and nothing is imported. `skip`: the
   * valid rows are imported and the bad lines are reported.
   */
  onError?: 'abort' | 'skip';
  /** Maximum line (CSV: record) length in bytes, without its terminator. Default 16 MiB. */
  maxLineBytes?: number;
  /** Errors listed in the report in `skip` mode; `rejected` still counts all. Default 1,000. */
  maxReportedErrors?: number;
  /** Rows per write batch. Default 2,000. */
  maxBatchRows?: number;
  /** Bytes of input per write batch. Default 4 MiB. */
  maxBatchBytes?: number;
  /** Write method; by default COPY on a Postgres server and unnest on embedded PGlite. */
  writeMethod?: ExampleWriteMethod;
  /** Called after each batch is sent to the database. */
  onProgress?: (progress: UploadProgress) => void;
}

export interface UploadProgress {
  /** Input bytes read and handled: sent to the database in this transaction, or rejected. */
  bytes: number;
  /** Last line handled. */
  line: number;
  /** Rows written so far; the batch just sent is still in flight and not counted. */
  imported: number;
  rejected: number;
}

export interface UploadLineError {
  /** 1-based line number; for CSV, the first line of the record. */
  line: number;
  reason: UploadErrorReason;
  message: string;
}

export interface UploadReport {
  imported: number;
  /** Rejected lines, all counted even when `errors` is cut short. */
  rejected: number;
  /** The first rejected lines, in line order, at most `maxReportedErrors` of them. */
  errors: UploadLineError[];
}

export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;
/**
 * Highest `maxLineBytes`: a line is decoded into one string, and a V8 string has at most
 * `buffer.constants.MAX_STRING_LENGTH` characters (2^29 - 24 in Node 20).
 */
export const MAX_LINE_BYTES_LIMIT = 256 * 1024 * 1024;
export const DEFAULT_MAX_REPORTED_ERRORS = 1000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Imports examples from an NDJSON or CSV stream into dataset `datasetId`, in one transaction.
 *
 * NDJSON lines are objects `{"text": string, "id"?, "label"?, "source"?, "split"?, "meta"?}`;
 * CSV has a header row naming the same columns, with meta as a JSON string. Other keys and
 * columns are ignored. A byte order mark, CRLF or mixed line ends, blank lines and a missing
 * final newline are accepted, and an empty input imports nothing.
 *
 * The input is read as it arrives, and memory stays within one write batch and one line. A bad
 * line gets a reason code and its 1-based line number. With `onError: 'abort'` the first bad
 * line throws `BAD_USER_INPUT` (details `{ line, reason }`) and nothing is imported. With
 * `onError: 'skip'` the valid rows are imported and the report lists the bad ones. Either way a
 * CSV input without a valid header row throws.
 *
 * Concurrent uploads into one dataset run one after the other, because each holds a lock on
 * the dataset row until it commits.
 *
 * On an error the rest of the input stays unread and open (see `frameRecords`).
 *
 * @throws AppError NOT_FOUND when the dataset does not exist, BAD_USER_INPUT for invalid options
 *   or input as described above
 */
export async function importExamples(
  db: Database,
  datasetId: string,
  input: NodeJS.ReadableStream | AsyncIterable<Buffer>,
  options: UploadOptions,
): Promise<UploadReport> {
  const settings = validateOptions(options);
  if (!UUID.test(datasetId)) throw datasetNotFound(datasetId);

  const client = await db.pool.connect();
  let releaseError: Error | undefined;
  try {
    await client.query('BEGIN');
    const { rowCount } = await client.query('UPDATE dataset SET updated_at = now() WHERE id = $1', [
      datasetId,
    ]);
    if (rowCount === 0) throw datasetNotFound(datasetId);

    const writer = new ExampleWriter(client, datasetId, {
      method: options.writeMethod ?? exampleWriteMethod(db),
      maxBatchRows: settings.maxBatchRows,
      maxBatchBytes: settings.maxBatchBytes,
    });
    const upload = new Upload(client, datasetId, writer, settings);
    await upload.run(input as AsyncIterable<Buffer | string>);

    await client.query('COMMIT');
    return upload.report();
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => {
      // A connection that cannot roll back must not go back to the pool.
      releaseError = rollbackError;
    });
    throw error;
  } finally {
    client.release(releaseError);
  }
}

interface UploadSettings {
  format: UploadFormat;
  onError: 'abort' | 'skip';
  maxLineBytes: number;
  maxReportedErrors: number;
  maxBatchRows: number;
  maxBatchBytes: number;
  onProgress?: (progress: UploadProgress) => void;
}

function validateOptions(options: UploadOptions): UploadSettings {
  const { format, onError = 'abort' } = options;
  if (format !== 'ndjson' && format !== 'csv') {
    throw badInput(`Invalid upload format ${JSON.stringify(format)}: expected ndjson or csv.`);
  }
  if (onError !== 'abort' && onError !== 'skip') {
    throw badInput(`Invalid onError ${JSON.stringify(onError)}: expected abort or skip.`);
  }

  const integer = (name: string, value: number | undefined, fallback: number, max: number) => {
    const result = value ?? fallback;
    if (!Number.isInteger(result) || result < 1 || result > max) {
      throw badInput(`Invalid ${name} ${result}: expected an integer from 1 to ${max}.`);
    }
    return result;
  };
  return {
    format,
    onError,
    maxLineBytes: integer(
      'maxLineBytes',
      options.maxLineBytes,
      DEFAULT_MAX_LINE_BYTES,
      MAX_LINE_BYTES_LIMIT,
    ),
    maxReportedErrors: integer(
      'maxReportedErrors',
      options.maxReportedErrors,
      DEFAULT_MAX_REPORTED_ERRORS,
      1_000_000,
    ),
    maxBatchRows: integer('maxBatchRows', options.maxBatchRows, DEFAULT_MAX_BATCH_ROWS, 100_000),
    maxBatchBytes: integer(
      'maxBatchBytes',
      options.maxBatchBytes,
      DEFAULT_MAX_BATCH_BYTES,
      256 * 1024 * 1024,
    ),
    onProgress: options.onProgress,
  };
}

interface PendingRow {
  line: number;
  row: UploadRow;
}

/** An id of the batch that the dataset already has, from before or from this upload. */
interface StoredDuplicate {
  line: number;
  id: string;
  fromThisUpload: boolean;
}

/** One upload's state: the batch being filled, the counts and the errors. */
class Upload {
  readonly #client: pg.ClientBase;
  readonly #datasetId: string;
  readonly #writer: ExampleWriter;
  readonly #settings: UploadSettings;
  #batch: PendingRow[] = [];
  #batchBytes = 0;
  /** Ids in the batch, with their lines. Ids of earlier batches are looked up in the table. */
  #batchIds = new Map<string, number>();
  #errors: UploadLineError[] = [];
  #rejected = 0;
  /** Input bytes and line of the last record taken in. */
  #bytes = 0;
  #line = 0;
  /** The CSV header row; null until it is read. */
  #csvHeader: CsvHeader | null = null;

  constructor(
    client: pg.ClientBase,
    datasetId: string,
    writer: ExampleWriter,
    settings: UploadSettings,
  ) {
    this.#client = client;
    this.#datasetId = datasetId;
    this.#writer = writer;
    this.#settings = settings;
  }

  async run(input: AsyncIterable<Buffer | string>): Promise<void> {
    const csv = this.#settings.format === 'csv' ? new CsvRecordParser() : null;
    const framed = frameRecords(input, {
      maxRecordBytes: this.#settings.maxLineBytes,
      csvQuotes: csv !== null,
    });

    for await (const records of framed) {
      for (const record of records) {
        this.#bytes = record.end;
        this.#line = record.line;
        if (csv) await this.#takeCsvRecord(csv, record);
        else await this.#takeNdjsonRecord(record);
      }
    }
    if (csv) await this.#takeCsvResults(csv.flush());
    await this.#flush();
    await this.#writer.flush();
  }

  report(): UploadReport {
    return {
      imported: this.#writer.written,
      rejected: this.#rejected,
      errors: this.#sortedErrors(),
    };
  }

  async #takeNdjsonRecord(record: FramedRecord): Promise<void> {
    if (record.kind !== 'record') return this.#rejectFraming(record);

    const text = decodeUtf8(record.bytes);
    if (text === null) {
      return this.#reject(
        record.line,
        'INVALID_UTF8',
        invalidUtf8Message(record.line, record.bytes),
      );
    }
    await this.#take(record.line, record.bytes.length, parseNdjsonLine(text));
  }

  async #takeCsvRecord(csv: CsvRecordParser, record: FramedRecord): Promise<void> {
    const text = record.kind === 'record' ? decodeUtf8(record.bytes) : null;
    if (text !== null) return this.#takeCsvResults(csv.write(record.line, text));

    // Report the records still in the parser first, so errors come in line order.
    await this.#takeCsvResults(csv.flush());
    const error =
      record.kind === 'record'
        ? {
            reason: 'INVALID_UTF8' as const,
            message: invalidUtf8Message(record.line, record.bytes),
          }
        : framingError(record, this.#settings);
    if (this.#csvHeader === null) throw csvHeaderError(record.line, error.reason, error.message);
    await this.#reject(record.line, error.reason, error.message);
  }

  async #takeCsvResults(results: CsvResult[]): Promise<void> {
    for (const result of results) {
      if (this.#csvHeader === null) {
        this.#csvHeader = readCsvHeader(result);
        continue;
      }
      if ('error' in result) {
        await this.#reject(result.line, 'INVALID_CSV', csvErrorMessage(result.error));
        continue;
      }

      const { fields } = result;
      const { columns, width } = this.#csvHeader;
      if (fields.length !== width) {
        const message = `invalid CSV: the record has ${fields.length} fields but the header has ${width}`;
        await this.#reject(result.line, 'INVALID_CSV', message);
        continue;
      }
      const values = Object.fromEntries([...columns].map(([name, index]) => [name, fields[index]]));
      await this.#take(result.line, 0, validateFields(values, 'csv'));
    }
  }

  async #rejectFraming(record: Exclude<FramedRecord, { kind: 'record' }>): Promise<void> {
    const { reason, message } = framingError(record, this.#settings);
    await this.#reject(record.line, reason, message);
  }

  async #take(line: number, bytes: number, result: RowResult): Promise<void> {
    if ('error' in result) return this.#reject(line, result.error.reason, result.error.message);

    const { row } = result;
    if (row.id !== null) {
      const earlier = this.#batchIds.get(row.id);
      if (earlier !== undefined) {
        return this.#reject(line, 'DUPLICATE_ID', duplicateMessage(row.id, earlier));
      }
      this.#batchIds.set(row.id, line);
    }

    this.#batch.push({ line, row });
    this.#batchBytes += bytes || Buffer.byteLength(row.text, 'utf8');
    const full =
      this.#batch.length >= this.#settings.maxBatchRows ||
      this.#batchBytes >= this.#settings.maxBatchBytes;
    if (full) await this.#flush();
  }

  /**
   * Rejects a line: in `skip` mode records it, in `abort` mode throws. Rows queued before it
   * come from earlier lines, so in `abort` mode their stored duplicates are reported first.
   */
  async #reject(line: number, reason: UploadErrorReason, message: string): Promise<void> {
    if (this.#settings.onError === 'abort') {
      const [duplicate] = await this.#findStoredDuplicates(this.#batch);
      if (duplicate)
        throw abortError(duplicate.line, 'DUPLICATE_ID', storedDuplicateMessage(duplicate));
      throw abortError(line, reason, message);
    }

    this.#rejected += 1;
    this.#errors.push({ line, reason, message });
    // Keep the errors with the lowest lines. Errors arrive out of order by at most one batch,
    // so dropping the highest beyond the cap never drops one of the final list.
    if (this.#errors.length > 2 * this.#settings.maxReportedErrors)
      this.#errors = this.#sortedErrors();
  }

  async #flush(): Promise<void> {
    const batch = this.#batch;
    this.#batch = [];
    this.#batchBytes = 0;
    this.#batchIds.clear();
    if (batch.length === 0) return;

    const duplicates = new Map(
      (await this.#findStoredDuplicates(batch)).map((duplicate) => [duplicate.line, duplicate]),
    );
    for (const { line, row } of batch) {
      const duplicate = duplicates.get(line);
      if (duplicate) {
        await this.#reject(line, 'DUPLICATE_ID', storedDuplicateMessage(duplicate));
        continue;
      }
      await this.#writer.add({
        externalId: row.id,
        split: row.split,
        text: row.text,
        label: row.label,
        source: row.source,
        meta: row.meta,
      });
    }
    // Parsing the next batch overlaps with writing this one.
    await this.#writer.send();

    this.#settings.onProgress?.({
      bytes: this.#bytes,
      line: this.#line,
      imported: this.#writer.written,
      rejected: this.#rejected,
    });
  }

  /**
   * Returns the rows of `batch` whose id the dataset already has, in line order. Rows written
   * earlier in this transaction are visible to it and carry its transaction id in `xmin`.
   *
   * The LATERAL ... LIMIT 1 form makes Postgres probe the (dataset_id, external_id) index once
   * per id. A plain join is planned from statistics that do not count the rows this transaction
   * wrote, and on a fresh table Postgres 15 then chose a nested loop over every row of the
   * dataset, which made each batch slower than the last.
   */
  async #findStoredDuplicates(batch: PendingRow[]): Promise<StoredDuplicate[]> {
    // Wait for the batch in flight, so that its error, if any, is the one raised.
    await this.#writer.flush();

    const lineById = new Map<string, number>();
    for (const { line, row } of batch) if (row.id !== null) lineById.set(row.id, line);
    if (lineById.size === 0) return [];

    const { rows } = await this.#client.query<{ external_id: string; this_upload: boolean }>(
      `SELECT batch.id AS external_id, found.this_upload
       FROM unnest($2::text[]) AS batch(id)
       CROSS JOIN LATERAL (
         SELECT e.xmin = pg_current_xact_id()::xid AS this_upload
         FROM example e
         WHERE e.dataset_id = $1 AND e.external_id = batch.id
         LIMIT 1
       ) AS found`,
      [this.#datasetId, [...lineById.keys()]],
    );
    return rows
      .map((row) => ({
        line: lineById.get(row.external_id) ?? 0,
        id: row.external_id,
        fromThisUpload: row.this_upload,
      }))
      .sort((a, b) => a.line - b.line);
  }

  #sortedErrors(): UploadLineError[] {
    return this.#errors.sort((a, b) => a.line - b.line).slice(0, this.#settings.maxReportedErrors);
  }
}

interface CsvHeader {
  /** Position of each upload field that the header names. */
  columns: Map<string, number>;
  /** Number of columns, ignored ones included. */
  width: number;
}

/** Reads the CSV header row. Throws when it is invalid, in either onError mode. */
function readCsvHeader(result: CsvResult): CsvHeader {
  if ('error' in result) {
    throw csvHeaderError(result.line, 'INVALID_CSV', csvErrorMessage(result.error));
  }

  const columns = new Map<string, number>();
  for (const [index, name] of result.fields.entries()) {
    const column = name.trim().toLowerCase();
    if (!(UPLOAD_FIELDS as readonly string[]).includes(column)) continue;
    if (columns.has(column)) {
      throw csvHeaderError(result.line, 'INVALID_CSV', `the header names column "${column}" twice`);
    }
    columns.set(column, index);
  }
  if (!columns.has('text')) {
    throw csvHeaderError(result.line, 'MISSING_TEXT', 'the header has no "text" column');
  }
  return { columns, width: result.fields.length };
}

function csvHeaderError(line: number, reason: UploadErrorReason, message: string) {
  return badInput(
    `Line ${line}: ${message}. The first CSV row must name the columns: text, and optionally ` +
      'id, label, source, split and meta. Nothing was imported.',
    { line, reason },
  );
}

function framingError(
  record: Exclude<FramedRecord, { kind: 'record' }>,
  settings: UploadSettings,
): { reason: UploadErrorReason; message: string } {
  if (record.kind === 'unclosedQuote') {
    return {
      reason: 'INVALID_CSV',
      message: 'invalid CSV: a quoted field opened in this record is never closed; close it with "',
    };
  }

  const what = settings.format === 'csv' ? 'record' : 'line';
  return {
    reason: 'LINE_TOO_LONG',
    message:
      `the ${what} is ${record.length} bytes, over the limit of ${settings.maxLineBytes} bytes; ` +
      'split the example or shorten it',
  };
}

/** Names the line of the first invalid byte, which for CSV may be inside a multi-line record. */
function invalidUtf8Message(firstLine: number, bytes: Buffer): string {
  let line = firstLine;
  let start = 0;
  for (;;) {
    const newline = bytes.indexOf(0x0a, start);
    const end = newline === -1 ? bytes.length : newline;
    if (decodeUtf8(bytes.subarray(start, end)) === null || newline === -1) break;
    line += 1;
    start = newline + 1;
  }

  const where = line === firstLine ? '' : ` on line ${line}`;
  return `invalid UTF-8 bytes${where}; save the file with UTF-8 encoding`;
}

function duplicateMessage(id: string, earlierLine: number): string {
  return `id ${quote(id)} appears earlier in this upload, on line ${earlierLine}; ids must be unique in a dataset`;
}

function storedDuplicateMessage(duplicate: StoredDuplicate): string {
  if (duplicate.fromThisUpload) {
    return `id ${quote(duplicate.id)} appears on an earlier line of this upload; ids must be unique in a dataset`;
  }
  return `id ${quote(duplicate.id)} already exists in the dataset; use another id or leave it out`;
}

function abortError(line: number, reason: UploadErrorReason, message: string) {
  return badInput(
    `Line ${line}: ${message}. Fix this line, or upload with onError=skip to import the valid ` +
      'rows and get a report of the rejected ones. Nothing was imported.',
    { line, reason },
  );
}

/** Quotes a value from the input for a message, cut to 60 characters. */
function quote(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
}
