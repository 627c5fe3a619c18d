import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spamAssassinExamples } from '../src/corpus/spam-assassin.js';
import {
  importCorpus,
  type ImportCorpusInput,
  type ImportCorpusProgress,
} from '../src/services/corpus-import.js';
import { AppError } from '../src/services/errors.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

interface StoredRow {
  external_id: string;
  split: string;
  text: string;
  label: string;
  source: string;
  byte_length: number;
  meta: Record<string, unknown>;
}

describe('importCorpus', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('corpus_import');
  });
  afterAll(async () => {
    await db.drop();
  });

  async function storedRows(datasetId: string): Promise<StoredRow[]> {
    const { rows } = await db.pool.query<StoredRow>(
      `SELECT external_id, split::text AS split, text, label, source, byte_length, meta
       FROM example WHERE dataset_id = $1 ORDER BY seq`,
      [datasetId],
    );
    return rows;
  }

  async function importError(input: Partial<ImportCorpusInput>): Promise<AppError> {
    const error = await importCorpus(db, {
      corpus: 'SPAM_ASSASSIN',
      datasetName: `invalid-${Math.random()}`,
      ...input,
    }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }

  it('imports sampled chunks', async () => {
    const options = { chunkBytes: 128, heldoutFraction: 0.3, seed: 4, maxMessages: 40 };
    const progress: ImportCorpusProgress[] = [];
    const result = await importCorpus(
      db,
      { corpus: 'SPAM_ASSASSIN', datasetName: 'chunks', ...options },
      (update) => progress.push(update),
    );

    const expected = await spamAssassinExamples({ shape: 'CHUNKS', ...options });
    expect(result.imported).toBe(expected.length);
    const rows = await storedRows(result.datasetId);
    expect(rows).toEqual(
      expected.map((example) => ({
        external_id: example.externalId,
        split: example.split,
        text: example.text,
        label: example.label,
        source: example.source,
        byte_length: Buffer.byteLength(example.text),
        meta: example.meta,
      })),
    );
    expect(rows.every((row) => row.byte_length <= 128)).toBe(true);
    expect(progress.at(-1)).toEqual({
      messagesDone: 40,
      messagesTotal: 40,
      imported: expected.length,
    });

    const dataset = await db.prisma.dataset.findUniqueOrThrow({ where: { id: result.datasetId } });
    expect(dataset.name).toBe('chunks');
    expect(dataset.description).toBe(
      'SpamAssassin public mail corpus, a sample of 40 messages as chunks of 128 bytes; ' +
        'held-out fraction 0.3 by message, seed 4.',
    );
  });

  it('imports all messages', async () => {
    const progress: ImportCorpusProgress[] = [];
    const result = await importCorpus(
      db,
      { corpus: 'SPAM_ASSASSIN', datasetName: 'messages', shape: 'MESSAGES' },
      (update) => progress.push(update),
    );

    expect(result.imported).toBe(6046);
    const { rows } = await db.pool.query<{ split: string; count: number }>(
      `SELECT split::text AS split, count(*)::int AS count FROM example
       WHERE dataset_id = $1 GROUP BY split ORDER BY split`,
      [result.datasetId],
    );
    const heldout = rows.find((row) => row.split === 'HELDOUT')?.count ?? 0;
    expect(rows.reduce((sum, row) => sum + row.count, 0)).toBe(6046);
    expect(heldout / 6046).toBeGreaterThan(0.08);
    expect(heldout / 6046).toBeLessThan(0.12);
    expect(progress).toHaveLength(61);
    expect(progress.at(-1)).toMatchObject({ messagesDone: 6046, messagesTotal: 6046 });
  });

  it('imports bodies without headers', async () => {
    const result = await importCorpus(db, {
      corpus: 'SPAM_ASSASSIN',
      datasetName: 'bodies',
      shape: 'BODIES',
      maxMessages: 10,
    });
    const rows = await storedRows(result.datasetId);
    expect(rows).toHaveLength(10);
    for (const row of rows) {
      expect(row.text).not.toMatch(/^Return-Path:/m);
      expect(row.meta).toEqual({ messageId: row.external_id, group: row.source });
    }
  });

  it('uses unnest when asked', async () => {
    const result = await importCorpus(db, {
      corpus: 'SPAM_ASSASSIN',
      datasetName: 'unnest',
      maxMessages: 5,
      writeMethod: 'unnest',
    });
    const expected = await spamAssassinExamples({ maxMessages: 5 });
    expect((await storedRows(result.datasetId)).map((row) => row.text)).toEqual(
      expected.map((example) => example.text),
    );
  });

  it('rejects taken dataset name', async () => {
    await importCorpus(db, { corpus: 'SPAM_ASSASSIN', datasetName: 'taken', maxMessages: 1 });
    const error = await importError({ datasetName: ' taken ', maxMessages: 1 });

    expect(error.code).toBe('CONFLICT');
    expect(error.message).toBe('A dataset named "taken" already exists. Choose another name.');
    expect(await db.prisma.dataset.count({ where: { name: 'taken' } })).toBe(1);
  });

  it('rejects invalid input values', async () => {
    const cases: Array<[Partial<ImportCorpusInput>, string]> = [
      [{ corpus: 'ENRON' as 'SPAM_ASSASSIN' }, 'Invalid corpus "ENRON"'],
      [{ datasetName: '  ' }, 'Invalid dataset name "  "'],
      [{ shape: 'LINES' as 'CHUNKS' }, 'Invalid shape "LINES": expected CHUNKS, MESSAGES, BODIES'],
      [{ chunkBytes: 15 }, 'Invalid chunkBytes 15: expected an integer from 16 to 65536'],
      [{ chunkBytes: 65537 }, 'Invalid chunkBytes 65537'],
      [{ chunkBytes: 100.5 }, 'Invalid chunkBytes 100.5'],
      [{ heldoutFraction: 1 }, 'Invalid heldoutFraction 1'],
      [{ heldoutFraction: -0.1 }, 'Invalid heldoutFraction -0.1'],
      [{ heldoutFraction: Number.NaN }, 'Invalid heldoutFraction NaN'],
      [{ seed: 1.5 }, 'Invalid seed 1.5'],
      [{ maxMessages: 0 }, 'Invalid maxMessages 0: expected an integer of at least 1'],
    ];
    for (const [input, message] of cases) {
      const error = await importError(input);
      expect(error.code).toBe('BAD_USER_INPUT');
      expect(error.message).toContain(message);
    }
    expect(await db.prisma.dataset.count({ where: { name: { startsWith: 'invalid-' } } })).toBe(0);
  });
});
