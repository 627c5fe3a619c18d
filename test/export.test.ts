// Export of datasets and curations as JSON Lines, CSV and Parquet, and Parquet upload: round
// trips through the real routes, filters, curated datasets and error codes.
import { Readable } from 'node:stream';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toGlobalId } from '../src/graphql/ids.js';
import { prepareExport } from '../src/services/export.js';
import { importParquet } from '../src/services/parquet-import.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import {
  asPrintedReal,
  insertCuration,
  insertDataset,
  insertExamples,
  insertRaterVersion,
  insertScores,
  type ExampleInput,
} from './analytics-fixtures.js';

let t: TestServer;
let datasetId: string;
let versionId: string;
let seqs: number[];
let scores: (number | null)[];
let curationId: string;
let curatedDatasetId: string;

/** Texts that need escaping in every format: quotes, commas, line breaks, non-ASCII, emoji. */
const TEXTS = [
  'plain text',
  'with "double quotes", commas, and a trailing space ',
  'line one\nline two\r\nline three',
  'tab\tseparated\tvalues',
  'non-ASCII: été, 日本語, emoji 🎉',
  '   leading spaces',
  '{"looks": "like json"}',
  '=SUM(A1:A2)',
  '',
];

const EXAMPLES: ExampleInput[] = Array.from({ length: 60 }, (_, i) => ({
  text: `${TEXTS[i % TEXTS.length]} #${i}`,
  externalId: i % 4 === 3 ? null : `ext-${i}`,
  split: i % 5 === 0 ? 'HELDOUT' : 'TRAIN',
  label: i % 3 === 0 ? null : `label-${i % 3}`,
  source: i % 7 === 0 ? null : `source, "${i % 2}"`,
  meta: i % 2 === 0 ? null : { i, nested: { list: [1, 'two', null] }, note: 'a "quote"' },
}));

beforeAll(async () => {
  t = await startTestServer('export');
  datasetId = await insertDataset(t.db, 'export source');
  versionId = await insertRaterVersion(t.db, 'export-rater');
  seqs = await insertExamples(t.db, datasetId, EXAMPLES);

  // Every fifth example stays unscored.
  scores = seqs.map((_, i) => (i % 5 === 4 ? null : Math.fround(Math.sin(i) * 2)));
  const scored = seqs.flatMap((seq, i) => (scores[i] === null ? [] : [seq]));
  await insertScores(
    t.db,
    versionId,
    datasetId,
    scored,
    scores.filter((score): score is number => score !== null),
  );

  const kept = seqs.filter((_, i) => i % 3 !== 1);
  ({ curationId, curatedDatasetId } = await insertCuration(
    t.db,
    datasetId,
    versionId,
    'export kept',
    kept,
  ));
});
afterAll(async () => {
  await t.close();
});

async function download(path: string): Promise<Response> {
  return fetch(`${t.url}${path}`);
}

async function upload(
  targetDatasetId: string,
  format: string,
  body: Uint8Array,
): Promise<Response> {
  return fetch(
    `${t.url}/api/datasets/${toGlobalId('Dataset', targetDatasetId)}/examples?format=${format}`,
    {
      method: 'POST',
      body,
    },
  );
}

/** Reads the uploadable fields of a dataset's examples, in insertion order. */
async function storedRows(id: string) {
  const rows = await t.db.prisma.example.findMany({
    where: { datasetId: id },
    orderBy: { seq: 'asc' },
  });
  return rows.map((row) => ({
    externalId: row.externalId,
    text: row.text,
    label: row.label,
    source: row.source,
    split: row.split,
    meta: row.meta,
  }));
}

const datasetPath = (id: string, query = '') =>
  `/api/datasets/${toGlobalId('Dataset', id)}/export${query}`;

describe('export round trips', () => {
  for (const format of ['jsonl', 'csv', 'parquet'] as const) {
    it(`imports a ${format} export as the same rows`, async () => {
      const res = await download(datasetPath(datasetId, `?format=${format}`));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-disposition')).toBe(
        `attachment; filename="export_source.${format}"`,
      );
      const body = new Uint8Array(await res.arrayBuffer());

      const copy = await insertDataset(t.db, `round trip ${format}`);
      const imported = await upload(copy, format, body);
      expect(imported.status).toBe(200);
      expect(await imported.json()).toEqual({ imported: EXAMPLES.length, rejected: 0, errors: [] });
      expect(await storedRows(copy)).toEqual(await storedRows(datasetId));
    });
  }

  it('writes one JSON object per line', async () => {
    const res = await download(datasetPath(datasetId));
    expect(res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    const lines = (await res.text()).trimEnd().split('\n');

    expect(lines).toHaveLength(EXAMPLES.length);
    const first = JSON.parse(lines[0]!);
    expect(first).toEqual({
      exampleId: toGlobalId('Example', seqs[0]!),
      id: 'ext-0',
      text: EXAMPLES[0]!.text,
      label: null,
      source: null,
      split: 'HELDOUT',
      meta: null,
    });
  });
});

describe('export filters', () => {
  it('adds scores and keeps those at or above minScore', async () => {
    const version = toGlobalId('RaterVersion', versionId);
    const res = await download(datasetPath(datasetId, `?raterVersionId=${version}&minScore=0.5`));
    const rows = (await res.text())
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { exampleId: string; score: number });

    const expected = seqs.flatMap((seq, i) => {
      const score = scores[i];
      return score !== null && score !== undefined && score >= 0.5
        ? [{ exampleId: toGlobalId('Example', seq), score: asPrintedReal(score) }]
        : [];
    });
    expect(rows.map((row) => ({ exampleId: row.exampleId, score: row.score }))).toEqual(expected);
  });

  it('writes null scores for unscored examples', async () => {
    const version = toGlobalId('RaterVersion', versionId);
    const res = await download(datasetPath(datasetId, `?format=parquet&raterVersionId=${version}`));
    const bytes = await res.arrayBuffer();
    const rows = await parquetReadObjects({ file: bytes });

    expect(rows).toHaveLength(EXAMPLES.length);
    rows.forEach((row, i) => {
      const score = scores[i];
      expect(row.score).toBe(score === null || score === undefined ? null : Math.fround(score));
    });
  });

  it('selects one split', async () => {
    const res = await download(datasetPath(datasetId, '?format=csv&split=HELDOUT'));
    const copy = await insertDataset(t.db, 'heldout copy');
    const imported = await upload(copy, 'csv', new Uint8Array(await res.arrayBuffer()));
    expect(await imported.json()).toMatchObject({ imported: 12 });
    expect((await storedRows(copy)).every((row) => row.split === 'HELDOUT')).toBe(true);
  });

  it('exports the kept set of a curation', async () => {
    const expected = seqs.filter((_, i) => i % 3 !== 1).map((seq) => toGlobalId('Example', seq));
    for (const path of [
      datasetPath(curatedDatasetId),
      `/api/curations/${toGlobalId('Curation', curationId)}/export`,
    ]) {
      const res = await download(path);
      expect(res.status).toBe(200);
      const ids = (await res.text())
        .trimEnd()
        .split('\n')
        .map((line) => (JSON.parse(line) as { exampleId: string }).exampleId);
      expect(ids).toEqual(expected);
    }
  });
});

describe('export errors', () => {
  const missing = '00000000-0000-4000-8000-00000000000f';
  const cases: [string, () => string, number, string, string][] = [
    ['unknown dataset', () => datasetPath(missing), 404, 'NOT_FOUND', missing],
    [
      'unknown rater version',
      () => datasetPath(datasetId, `?raterVersionId=${toGlobalId('RaterVersion', missing)}`),
      404,
      'NOT_FOUND',
      missing,
    ],
    [
      'unknown curation',
      () => `/api/curations/${toGlobalId('Curation', missing)}/export`,
      404,
      'NOT_FOUND',
      missing,
    ],
    ['bad format', () => datasetPath(datasetId, '?format=xml'), 400, 'BAD_USER_INPUT', '"xml"'],
    [
      'minScore without version',
      () => datasetPath(datasetId, '?minScore=1'),
      400,
      'BAD_USER_INPUT',
      'raterVersionId',
    ],
    ['bad minScore', () => datasetPath(datasetId, '?minScore=abc'), 400, 'BAD_USER_INPUT', 'abc'],
    ['bad split', () => datasetPath(datasetId, '?split=TEST'), 400, 'BAD_USER_INPUT', 'TEST'],
    ['malformed id', () => '/api/datasets/nope/export', 400, 'BAD_USER_INPUT', 'nope'],
  ];
  for (const [name, path, status, code, fragment] of cases) {
    it(`rejects ${name}`, async () => {
      const res = await download(path());
      expect(res.status).toBe(status);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe(code);
      expect(body.error.message).toContain(fragment);
    });
  }
});

describe('parquet streaming', () => {
  it('writes one row group per bounded batch', async () => {
    const prepared = await prepareExport(t.db, { datasetId }, { format: 'parquet', batchRows: 7 });
    const chunks: Buffer[] = [];
    for await (const chunk of prepared.chunks) chunks.push(chunk);
    const file = Buffer.concat(chunks);
    const metadata = parquetMetadata(
      file.buffer.slice(file.byteOffset, file.byteOffset + file.length),
    );

    expect(metadata.row_groups).toHaveLength(Math.ceil(EXAMPLES.length / 7));
    expect(chunks.length).toBeGreaterThan(metadata.row_groups.length);
  });

  it('cuts batches by text bytes', async () => {
    const prepared = await prepareExport(
      t.db,
      { datasetId },
      { format: 'parquet', batchBytes: 200 },
    );
    const chunks: Buffer[] = [];
    for await (const chunk of prepared.chunks) chunks.push(chunk);
    const file = Buffer.concat(chunks);
    const metadata = parquetMetadata(
      file.buffer.slice(file.byteOffset, file.byteOffset + file.length),
    );

    const rowsPerGroup = metadata.row_groups.map((group) => Number(group.num_rows));
    expect(rowsPerGroup.reduce((a, b) => a + b, 0)).toBe(EXAMPLES.length);
    expect(metadata.row_groups.length).toBeGreaterThan(3);
  });

  it('imports row group by row group', async () => {
    const prepared = await prepareExport(t.db, { datasetId }, { format: 'parquet', batchRows: 9 });
    const copy = await insertDataset(t.db, 'parquet groups');
    const report = await importParquet(t.db, copy, Readable.from(prepared.chunks));
    expect(report).toEqual({ imported: EXAMPLES.length, rejected: 0, errors: [] });
    expect(await storedRows(copy)).toEqual(await storedRows(datasetId));
  });

  it('ends the transaction of an abandoned export', async () => {
    const prepared = await prepareExport(t.db, { datasetId }, { format: 'jsonl', batchRows: 5 });
    const first = await prepared.chunks.next();
    expect(first.done).toBe(false);
    await prepared.chunks.return(undefined);

    const { rows } = await t.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
    );
    expect(rows[0]!.n).toBe(0);
  });
});

describe('parquet upload errors', () => {
  it('rejects a file that is not Parquet', async () => {
    const copy = await insertDataset(t.db, 'not parquet');
    const res = await upload(copy, 'parquet', Buffer.from('{"text": "json, not parquet"}\n'));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('BAD_USER_INPUT');
    expect(body.error.message).toContain('not a valid Parquet file');
    expect(await t.db.prisma.example.count({ where: { datasetId: copy } })).toBe(0);
  });

  it('rejects a file without a text column', async () => {
    const { parquetWriteBuffer } = await import('hyparquet-writer');
    const file = parquetWriteBuffer({
      columnData: [{ name: 'body', data: ['a', 'b'], type: 'STRING' }],
    });
    const copy = await insertDataset(t.db, 'no text column');
    const res = await upload(copy, 'parquet', new Uint8Array(file));
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(res.status).toBe(400);
    expect(body.error.message).toContain('"text"');
    expect(body.error.message).toContain('body');
  });

  it('reports invalid rows by row number', async () => {
    const { parquetWriteBuffer } = await import('hyparquet-writer');
    const file = parquetWriteBuffer({
      columnData: [
        { name: 'text', data: ['ok', 'also ok', 'fine'], type: 'STRING' },
        { name: 'split', data: ['TRAIN', 'SOMEWHERE', 'HELDOUT'], type: 'STRING' },
        { name: 'label', data: [1, 2, 3], type: 'INT32' },
      ],
    });
    const copy = await insertDataset(t.db, 'bad parquet rows');
    const res = await fetch(
      `${t.url}/api/datasets/${toGlobalId('Dataset', copy)}/examples?format=parquet&onError=skip`,
      { method: 'POST', body: new Uint8Array(file) },
    );
    const report = (await res.json()) as {
      imported: number;
      rejected: number;
      errors: { line: number; reason: string }[];
    };
    expect(report.imported).toBe(2);
    expect(report.rejected).toBe(1);
    expect(report.errors[0]).toMatchObject({ line: 2, reason: 'INVALID_FIELD' });
    const labels = (await storedRows(copy)).map((row) => row.label);
    expect(labels).toEqual(['1', '3']);
  });

  it('rejects a file over the size limit', async () => {
    const copy = await insertDataset(t.db, 'too large');
    await expect(
      importParquet(t.db, copy, Readable.from([Buffer.alloc(2048)]), { maxFileBytes: 1024 }),
    ).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('1024') });
  });
});
