// Score ingestion throughput. The script writes N scores the way a scoring job does: windows of
// SCORE_WINDOW_SIZE rows, each in its own transaction with its score_range row. It compares that
// with `psql \copy` of the same rows into the same table, the server's own limit.
//
//   npx tsx bench/score-ingest.ts --rows 1000000
//   npx tsx bench/score-ingest.ts --rows 200000 --method unnest
//   npx tsx bench/score-ingest.ts --rows 100000 --window 512
//
// The server is TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres); the
// database is created for the run and dropped after it. The rater forward pass is not included:
// scores are generated, so this measures the database path alone.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { writeScores, type ScoreWriteMethod } from '../src/jobs/score-writer.js';
import { inTransaction } from '../src/jobs/transaction.js';
import { createTestDatabase, type TestDatabase } from '../test/helpers/database.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    window: { type: 'string', default: '2048' },
    method: { type: 'string', default: 'copy' },
  },
});
const rows = Number(args.rows);
const windowSize = Number(args.window);
const method = args.method as ScoreWriteMethod;
if (!(rows > 0) || !(windowSize > 0) || !['copy', 'unnest'].includes(method)) {
  throw new Error(
    'Invalid arguments. Usage: bench/score-ingest.ts [--rows N] [--window N] [--method copy|unnest]',
  );
}

const db = await createTestDatabase('bench_scores');
try {
  const { datasetId, versionId, firstSeq } = await setUp(db, rows);
  const seconds = await writeLikeAJob(db, { datasetId, versionId, firstSeq });
  const baseline = await copyWithPsql(db, { datasetId, versionId, firstSeq });

  console.log(
    JSON.stringify({
      rows,
      window: windowSize,
      method,
      jobPath: { seconds: round(seconds), rowsPerSecond: Math.round(rows / seconds) },
      psqlCopy: { seconds: round(baseline), rowsPerSecond: Math.round(rows / baseline) },
      ratio: round(seconds / baseline),
    }),
  );
} finally {
  await db.drop();
}

/** Inserts a dataset of `count` small examples and a READY rater version. */
async function setUp(database: TestDatabase, count: number) {
  const datasetId = crypto.randomUUID();
  const raterId = crypto.randomUUID();
  const versionId = crypto.randomUUID();
  await database.pool.query(
    `INSERT INTO dataset (id, name, created_at, updated_at) VALUES ($1, 'bench', now(), now())`,
    [datasetId],
  );
  await database.pool.query(
    `INSERT INTO example (dataset_id, text, byte_length, content_hash)
     SELECT $1, 'example ' || i, 10, md5(i::text) FROM generate_series(1, $2) AS i`,
    [datasetId, count],
  );
  await database.pool.query(`INSERT INTO rater (id, name) VALUES ($1, 'bench')`, [raterId]);
  await database.pool.query(
    `INSERT INTO rater_version (id, rater_id, version, status, config)
     VALUES ($1, $2, 1, 'READY', '{}')`,
    [versionId, raterId],
  );
  const { rows: first } = await database.pool.query<{ seq: number }>(
    'SELECT min(seq) AS seq FROM example WHERE dataset_id = $1',
    [datasetId],
  );
  return { datasetId, versionId, firstSeq: first[0]!.seq };
}

/** Writes the scores window by window, each window with its range row, as runScoring does. */
async function writeLikeAJob(
  database: TestDatabase,
  ids: { datasetId: string; versionId: string; firstSeq: number },
): Promise<number> {
  const started = performance.now();
  for (let start = 0; start < rows; start += windowSize) {
    const count = Math.min(windowSize, rows - start);
    const seqs = Array.from({ length: count }, (_, i) => ids.firstSeq + start + i);
    const scores = Float32Array.from(seqs, (seq) => Math.sin(seq));
    await inTransaction(database.pool, async (client) => {
      await writeScores(
        client,
        {
          raterVersionId: ids.versionId,
          exampleSeqs: seqs,
          datasetIds: seqs.map(() => ids.datasetId),
          scores,
        },
        method,
      );
      await client.query(
        `INSERT INTO score_range (rater_version_id, dataset_id, first_seq, last_seq, written)
         VALUES ($1, $2, $3, $4, $5)`,
        [ids.versionId, ids.datasetId, seqs[0], seqs.at(-1), count],
      );
    });
  }
  return (performance.now() - started) / 1000;
}

/** Deletes the scores and loads the same rows from a file with `psql \copy`. */
async function copyWithPsql(
  database: TestDatabase,
  ids: { datasetId: string; versionId: string; firstSeq: number },
): Promise<number> {
  await database.pool.query('TRUNCATE score');
  const file = path.join(os.tmpdir(), `scores-${process.pid}.tsv`);
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) {
    const seq = ids.firstSeq + i;
    lines.push(`${ids.versionId}\t${seq}\t${ids.datasetId}\t${Math.fround(Math.sin(seq))}\n`);
  }
  fs.writeFileSync(file, lines.join(''));
  try {
    const started = performance.now();
    execFileSync('psql', [
      database.url,
      '-q',
      '-c',
      `\\copy score (rater_version_id, example_seq, dataset_id, score) FROM '${file}'`,
    ]);
    return (performance.now() - started) / 1000;
  } finally {
    fs.rmSync(file, { force: true });
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
