// Bulk writes of examples into one dataset, in batches of bounded size, on one pg client of the
// caller, normally inside the caller's transaction.
//
// Two methods write a batch:
// - `copy`: COPY example FROM STDIN (text format), the fastest path on a real Postgres server;
// - `unnest`: INSERT ... SELECT FROM unnest($2::text[], ...), one statement per batch with
//   array parameters. The embedded PGlite server needs it, because COPY FROM STDIN fails
//   through its socket (pglite-socket 0.2).
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

export type ExampleSplit = 'TRAIN' | 'HELDOUT';

/** One example to write. byte_length and content_hash are computed from `text`. */
export interface ExampleRow {
  /** Unique within the dataset when present. */
  externalId?: string | null;
  /** Default TRAIN. */
  split?: ExampleSplit;
  /** Any string without NUL characters, which Postgres text cannot store. */
  text: string;
  label?: string | null;
  source?: string | null;
  /** Stored as jsonb. Its strings must not contain NUL characters or lone surrogates. */
  meta?: unknown;
}

export type ExampleWriteMethod = 'copy' | 'unnest';

export interface ExampleWriterOptions {
  method: ExampleWriteMethod;
  /** A batch is sent once it has this many rows. Default 2,000. */
  maxBatchRows?: number;
  /** A batch is sent once its text and meta reach this many bytes. Default 4 MiB. */
  maxBatchBytes?: number;
}

export const DEFAULT_MAX_BATCH_ROWS = 2000;
export const DEFAULT_MAX_BATCH_BYTES = 4 * 1024 * 1024;

/** Returns the write method that works on `db`: unnest on embedded PGlite, COPY elsewhere. */
export function exampleWriteMethod(db: { embedded: boolean }): ExampleWriteMethod {
  return db.embedded ? 'unnest' : 'copy';
}

/** Returns the SHA-256 of the UTF-8 bytes of `text`, in hex: the `content_hash` column. */
export function contentHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

const COLUMNS =
  'dataset_id, external_id, split, text, label, source, byte_length, content_hash, meta';

const INSERT_UNNEST = `
  INSERT INTO example (${COLUMNS})
  SELECT $1::uuid, u.*
  FROM unnest($2::text[], $3::"Split"[], $4::text[], $5::text[], $6::text[], $7::int[],
              $8::text[], $9::jsonb[]) AS u`;

/** A row ready to write: computed columns filled in, meta serialized. */
interface PreparedRow {
  externalId: string | null;
  split: ExampleSplit;
  text: string;
  label: string | null;
  source: string | null;
  byteLength: number;
  contentHash: string;
  metaJson: string | null;
}

/**
 * Writes examples of one dataset in batches, with at most one batch in flight.
 *
 * `add` queues a row and sends the batch when it is full. `send` waits for the batch already in
 * flight, then starts writing the queued rows without waiting for them, so the caller can
 * prepare the next batch meanwhile. `flush` sends the queued rows and waits for every write.
 * Memory stays within two batches: the one in flight and the one being filled, each about
 * `maxBatchBytes` of text (the COPY path adds one encoded copy of the batch in flight).
 *
 * The writer neither begins nor commits a transaction: rows become visible when the caller's
 * transaction commits. A failed write leaves that transaction aborted and is raised by the
 * next `send` or `flush`.
 */
export class ExampleWriter {
  readonly #client: pg.ClientBase;
  readonly #datasetId: string;
  readonly #method: ExampleWriteMethod;
  readonly #maxBatchRows: number;
  readonly #maxBatchBytes: number;
  #batch: PreparedRow[] = [];
  #batchBytes = 0;
  #written = 0;
  #inFlight: Promise<void> | null = null;

  constructor(client: pg.ClientBase, datasetId: string, options: ExampleWriterOptions) {
    this.#client = client;
    this.#datasetId = datasetId;
    this.#method = options.method;
    this.#maxBatchRows = options.maxBatchRows ?? DEFAULT_MAX_BATCH_ROWS;
    this.#maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
  }

  /** Rows written to the database so far, not counting the batch in flight or the queue. */
  get written(): number {
    return this.#written;
  }

  /** Rows queued and not yet sent. */
  get queued(): number {
    return this.#batch.length;
  }

  /**
   * Queues one row and sends the batch when it reaches `maxBatchRows` or `maxBatchBytes`.
   * Throws an Error for a text with a NUL character.
   */
  async add(row: ExampleRow): Promise<void> {
    const prepared = prepareRow(row);
    this.#batch.push(prepared);
    this.#batchBytes += prepared.byteLength + (prepared.metaJson?.length ?? 0);

    if (this.#batch.length >= this.#maxBatchRows || this.#batchBytes >= this.#maxBatchBytes) {
      await this.send();
    }
  }

  /**
   * Waits for the batch in flight, then starts writing the queued rows and returns without
   * waiting for them. The statement is queued on the client at once, so a query the caller
   * sends afterwards on the same client runs after it and reads its rows.
   */
  async send(): Promise<void> {
    await this.#waitInFlight();

    const batch = this.#batch;
    if (batch.length === 0) return;
    this.#batch = [];
    this.#batchBytes = 0;

    const write = this.#method === 'copy' ? this.#copy(batch) : this.#insertUnnest(batch);
    this.#inFlight = write.then(() => {
      this.#written += batch.length;
    });
    // Mark the promise handled; its error is raised by the next send or flush.
    this.#inFlight.catch(() => undefined);
  }

  /** Writes the queued rows and waits until every row added so far is written. */
  async flush(): Promise<void> {
    await this.send();
    await this.#waitInFlight();
  }

  async #waitInFlight(): Promise<void> {
    const inFlight = this.#inFlight;
    this.#inFlight = null;
    if (inFlight) await inFlight;
  }

  async #copy(batch: PreparedRow[]): Promise<void> {
    const lines = batch.map((row) =>
      [
        this.#datasetId,
        copyField(row.externalId),
        row.split,
        copyField(row.text),
        copyField(row.label),
        copyField(row.source),
        String(row.byteLength),
        row.contentHash,
        copyField(row.metaJson),
      ].join('\t'),
    );
    const stream = this.#client.query(copyFrom(`COPY example (${COLUMNS}) FROM STDIN`));
    await pipeline(Readable.from([lines.join('\n') + '\n']), stream);
  }

  async #insertUnnest(batch: PreparedRow[]): Promise<void> {
    await this.#client.query(INSERT_UNNEST, [
      this.#datasetId,
      batch.map((row) => row.externalId),
      batch.map((row) => row.split),
      batch.map((row) => row.text),
      batch.map((row) => row.label),
      batch.map((row) => row.source),
      batch.map((row) => row.byteLength),
      batch.map((row) => row.contentHash),
      batch.map((row) => row.metaJson),
    ]);
  }
}

function prepareRow(row: ExampleRow): PreparedRow {
  if (row.text.includes('\u0000')) {
    throw new Error(
      `ExampleWriter: example ${JSON.stringify(row.externalId ?? null)} has a NUL character in ` +
        'its text, which Postgres text cannot store; remove it before writing',
    );
  }

  return {
    externalId: row.externalId ?? null,
    split: row.split ?? 'TRAIN',
    text: row.text,
    label: row.label ?? null,
    source: row.source ?? null,
    byteLength: Buffer.byteLength(row.text, 'utf8'),
    contentHash: contentHash(row.text),
    metaJson: row.meta === undefined || row.meta === null ? null : JSON.stringify(row.meta),
  };
}

const COPY_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/** Encodes a value for COPY text format: NULL is \N; backslash, newline, CR and tab are escaped. */
function copyField(value: string | null): string {
  if (value === null) return '\\N';
  return value.replace(/[\\\n\r\t]/g, (char) => COPY_ESCAPES[char] ?? char);
}
