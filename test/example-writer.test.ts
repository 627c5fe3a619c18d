import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../src/db/client.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded.js';
import {
  ExampleWriter,
  contentHash,
  exampleWriteMethod,
  type ExampleRow,
  type ExampleWriteMethod,
} from '../src/db/example-writer.js';
import { migrate } from '../src/db/migrate.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

/** Rows whose text and fields exercise COPY escaping and array-literal quoting. */
const TRICKY_ROWS: ExampleRow[] = [
  { externalId: 'plain', text: 'hello world', label: 'ham', source: 'easy-ham-1' },
  { externalId: 'tabs', text: 'a\tb\nc\r\nd\\e\\\\Nf', split: 'HELDOUT', meta: { k: 'v\t\n"' } },
  { externalId: 'copy-null', text: '\\N', label: '\\N', source: 'NULL' },
  { externalId: 'quotes', text: '"{}," \' ; -- ', meta: { nested: { list: [1, 'two', null] } } },
  { externalId: 'unicode', text: 'naïve café — 日本語 😀', label: 'spam' },
  { externalId: null, text: '' },
  { text: 'no id, defaults only' },
];

interface StoredRow {
  external_id: string | null;
  split: string;
  text: string;
  label: string | null;
  source: string | null;
  byte_length: number;
  content_hash: string;
  meta: unknown;
}

async function createDataset(client: pg.ClientBase): Promise<string> {
  const id = crypto.randomUUID();
  await client.query(`INSERT INTO dataset (id, name, updated_at) VALUES ($1, $2, now())`, [
    id,
    `writer-${id}`,
  ]);
  return id;
}

async function readRows(client: pg.ClientBase, datasetId: string): Promise<StoredRow[]> {
  const { rows } = await client.query<StoredRow>(
    `SELECT external_id, split::text AS split, text, label, source, byte_length, content_hash, meta
     FROM example WHERE dataset_id = $1 ORDER BY seq`,
    [datasetId],
  );
  return rows;
}

function expectStored(stored: StoredRow[], written: ExampleRow[]): void {
  expect(stored).toHaveLength(written.length);
  written.forEach((row, index) => {
    const actual = stored[index];
    expect(actual?.external_id).toBe(row.externalId ?? null);
    expect(actual?.split).toBe(row.split ?? 'TRAIN');
    expect(actual?.text).toBe(row.text);
    expect(actual?.label).toBe(row.label ?? null);
    expect(actual?.source).toBe(row.source ?? null);
    expect(actual?.byte_length).toBe(Buffer.byteLength(row.text, 'utf8'));
    expect(actual?.content_hash).toBe(crypto.createHash('sha256').update(row.text).digest('hex'));
    expect(actual?.meta).toEqual(row.meta ?? null);
  });
}

/** Writes `rows` in one transaction with `method` and returns what the database holds. */
async function roundTrip(
  db: Database,
  method: ExampleWriteMethod,
  rows: ExampleRow[],
  batch: { maxBatchRows?: number; maxBatchBytes?: number } = {},
): Promise<{ stored: StoredRow[]; written: number }> {
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    const datasetId = await createDataset(client);
    const writer = new ExampleWriter(client, datasetId, { method, ...batch });
    for (const row of rows) await writer.add(row);
    await writer.flush();
    await client.query('COMMIT');
    return { stored: await readRows(client, datasetId), written: writer.written };
  } finally {
    client.release();
  }
}

describe('ExampleWriter on Postgres server', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('writer');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('picks COPY for a server and unnest for embedded', () => {
    expect(exampleWriteMethod({ embedded: false })).toBe('copy');
    expect(exampleWriteMethod({ embedded: true })).toBe('unnest');
  });

  it('computes content hash as SHA-256 hex', () => {
    expect(contentHash('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  for (const method of ['copy', 'unnest'] as const) {
    it(`${method} stores every field exactly`, async () => {
      const { stored, written } = await roundTrip(db, method, TRICKY_ROWS);
      expect(written).toBe(TRICKY_ROWS.length);
      expectStored(stored, TRICKY_ROWS);
    });

    it(`${method} writes many rows in row-bounded batches`, async () => {
      const rows = Array.from({ length: 2500 }, (_, i) => ({ externalId: `r${i}`, text: `t${i}` }));
      const { stored, written } = await roundTrip(db, method, rows, { maxBatchRows: 1000 });
      expect(written).toBe(2500);
      expectStored(stored, rows);
    });
  }

  it('sends when batch reaches row limit', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      const writer = new ExampleWriter(client, await createDataset(client), {
        method: 'copy',
        maxBatchRows: 3,
      });
      const seen: Array<[number, number]> = [];
      for (let i = 0; i < 7; i++) {
        await writer.add({ text: `row ${i}` });
        seen.push([writer.written, writer.queued]);
      }
      // A full batch is sent without waiting, and counts as written once the next send waits.
      expect(seen).toEqual([
        [0, 1],
        [0, 2],
        [0, 0],
        [0, 1],
        [0, 2],
        [3, 0],
        [3, 1],
      ]);
      await writer.flush();
      expect(writer.written).toBe(7);
      expect(writer.queued).toBe(0);
      await writer.flush();
      expect(writer.written).toBe(7);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('sends when batch reaches byte limit', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      const writer = new ExampleWriter(client, await createDataset(client), {
        method: 'unnest',
        maxBatchBytes: 1000,
      });
      await writer.add({ text: 'x'.repeat(600) });
      expect(writer.queued).toBe(1);
      await writer.add({ text: 'y'.repeat(600) });
      expect(writer.queued).toBe(0);
      await writer.flush();
      expect(writer.written).toBe(2);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  for (const method of ['copy', 'unnest'] as const) {
    it(`${method} rejects duplicate id in dataset`, async () => {
      const client = await db.pool.connect();
      try {
        await client.query('BEGIN');
        const writer = new ExampleWriter(client, await createDataset(client), { method });
        await writer.add({ externalId: 'same', text: 'one' });
        await writer.add({ externalId: 'same', text: 'two' });
        await expect(writer.flush()).rejects.toThrow(/example_dataset_id_external_id_key/);
      } finally {
        await client.query('ROLLBACK');
        client.release();
      }
    });
  }

  it('raises failed in-flight batch on flush', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      const writer = new ExampleWriter(client, await createDataset(client), {
        method: 'copy',
        maxBatchRows: 1,
      });
      await writer.add({ externalId: 'same', text: 'one' });
      // Sent without waiting: the unique violation comes from the batch in flight.
      await writer.add({ externalId: 'same', text: 'two' });
      await expect(writer.flush()).rejects.toThrow(/example_dataset_id_external_id_key/);
      expect(writer.written).toBe(1);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('rejects NUL character in text', async () => {
    const client = await db.pool.connect();
    try {
      const writer = new ExampleWriter(client, crypto.randomUUID(), { method: 'copy' });
      await expect(writer.add({ externalId: 'nul', text: 'a\u0000b' })).rejects.toThrow(
        /"nul" has a NUL character/,
      );
      expect(writer.queued).toBe(0);
    } finally {
      client.release();
    }
  });
});

describe('ExampleWriter on embedded PGlite', () => {
  let dataDir: string;
  let embedded: EmbeddedPostgres;
  let db: Database;
  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'writer-pglite-'));
    embedded = await startEmbeddedPostgres(dataDir);
    await migrate(embedded.url);
    db = openDatabase(embedded.url, { embedded: true, poolSize: 2 });
  });
  afterAll(async () => {
    await db?.close();
    await embedded?.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('unnest stores every field exactly', async () => {
    const method = exampleWriteMethod(db);
    expect(method).toBe('unnest');

    const rows = [
      ...TRICKY_ROWS,
      ...Array.from({ length: 1500 }, (_, i) => ({ externalId: `e${i}`, text: `text ${i}` })),
    ];
    const { stored, written } = await roundTrip(db, method, rows, { maxBatchRows: 1000 });
    expect(written).toBe(rows.length);
    expectStored(stored, rows);
  });
});
