// Bulk writes of scores, on the caller's connection and inside the caller's transaction.
//
// - `copy`: COPY score FROM STDIN (text format), the fast path on a real Postgres server. A row
//   may already exist, when another dataset's job scored the same example under this rater
//   version while this window was being scored. COPY then fails on the primary key, so the batch
//   is rolled back to a savepoint and written again by the `unnest` path, which skips such rows.
// - `unnest`: INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING, one statement per batch.
//   The embedded PGlite server needs it, because COPY FROM STDIN fails through its socket
//   (pglite-socket 0.2).
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

export type ScoreWriteMethod = 'copy' | 'unnest';

/** Returns the method that works on `db`: unnest on embedded PGlite, COPY elsewhere. */
export function scoreWriteMethod(db: { embedded: boolean }): ScoreWriteMethod {
  return db.embedded ? 'unnest' : 'copy';
}

/** Scores of one rater version for examples given by sequence number and owning dataset. */
export interface ScoreBatch {
  raterVersionId: string;
  exampleSeqs: readonly number[];
  /** `dataset_id` of each example (its own dataset), aligned with exampleSeqs. */
  datasetIds: readonly string[];
  /** Finite scores aligned with exampleSeqs. */
  scores: ArrayLike<number>;
}

const UNIQUE_VIOLATION = '23505';

/**
 * Writes a batch of scores and returns how many rows it inserted. Rows that already exist are
 * kept as they are (the unnest path skips them; the COPY path falls back to unnest for them).
 * Throws an Error naming the example for a non-finite score or misaligned arrays.
 */
export async function writeScores(
  client: pg.ClientBase,
  batch: ScoreBatch,
  method: ScoreWriteMethod,
): Promise<number> {
  checkBatch(batch);
  if (batch.exampleSeqs.length === 0) return 0;
  if (method === 'unnest') return insertUnnest(client, batch);

  await client.query('SAVEPOINT score_copy');
  try {
    await copyScores(client, batch);
    await client.query('RELEASE SAVEPOINT score_copy');
    return batch.exampleSeqs.length;
  } catch (error) {
    if ((error as { code?: unknown }).code !== UNIQUE_VIOLATION) throw error;
    await client.query('ROLLBACK TO SAVEPOINT score_copy');
    return insertUnnest(client, batch);
  }
}

function checkBatch(batch: ScoreBatch): void {
  const n = batch.exampleSeqs.length;
  if (batch.datasetIds.length !== n || batch.scores.length !== n) {
    throw new Error(
      `writeScores: ${n} example seqs, ${batch.datasetIds.length} dataset ids and ` +
        `${batch.scores.length} scores; the three must align`,
    );
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(batch.scores[i])) {
      throw new Error(
        `writeScores: score ${batch.scores[i]} of example ${batch.exampleSeqs[i]} is not finite`,
      );
    }
  }
}

async function copyScores(client: pg.ClientBase, batch: ScoreBatch): Promise<void> {
  const lines: string[] = [];
  for (let i = 0; i < batch.exampleSeqs.length; i++) {
    lines.push(
      `${batch.raterVersionId}\t${batch.exampleSeqs[i]}\t${batch.datasetIds[i]}\t${batch.scores[i]}\n`,
    );
  }
  const stream = client.query(
    copyFrom('COPY score (rater_version_id, example_seq, dataset_id, score) FROM STDIN'),
  );
  await pipeline(Readable.from([lines.join('')]), stream);
}

async function insertUnnest(client: pg.ClientBase, batch: ScoreBatch): Promise<number> {
  const result = await client.query(
    `INSERT INTO score (rater_version_id, example_seq, dataset_id, score)
     SELECT $1::uuid, u.seq, u.dataset_id, u.score
       FROM unnest($2::bigint[], $3::uuid[], $4::real[]) AS u(seq, dataset_id, score)
     ON CONFLICT DO NOTHING`,
    [batch.raterVersionId, batch.exampleSeqs, batch.datasetIds, Array.from(batch.scores)],
  );
  return result.rowCount ?? 0;
}
