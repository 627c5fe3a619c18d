// scoreDataset: a job that scores every example of a dataset (all splits) under a READY rater
// version, window by window, then stores the dataset's score summary.
//
// Crash safety: each window's scores and its score_range row commit in one transaction, fenced
// on the job attempt. A resumed attempt starts after the largest committed lastSeq, so no
// example is scored twice and the score table's primary key keeps one row per example.
import type pg from 'pg';
import type { Database } from '../db/client.js';
import type { Job } from '../generated/prisma/client.js';
import type { JobContext, JobHandler } from '../jobs/context.js';
import { queueFor } from '../jobs/kinds.js';
import { scoreWriteMethod, writeScores } from '../jobs/score-writer.js';
import type { JobSystem } from '../jobs/system.js';
import { inTransaction } from '../jobs/transaction.js';
import { loadRaterWeights } from './engine.js';
import { badInput, conflict } from './errors.js';
import { requireJob } from './job-control.js';
import { countScope, resolveExampleScope, scopeSql, type ExampleScope } from './job-data.js';
import { requireReadyVersion } from './job-subjects.js';
import { computeScoreSummary } from './score-stats.js';

export interface ScoreParameters {
  raterVersionId: string;
  datasetId: string;
  /** Examples per committed window. */
  windowSize: number;
  /** Examples per rater forward pass. */
  batchSize: number;
}

/**
 * Queues a job that scores every example of `datasetId` under `raterVersionId`. Throws NOT_FOUND
 * for an unknown id, BAD_USER_INPUT for a rater version that is not READY or a dataset without
 * examples, and CONFLICT while another job scores the same pair.
 */
export async function scoreDataset(
  db: Database,
  jobs: JobSystem,
  input: { raterVersionId: string; datasetId: string; windowSize: number; batchSize: number },
): Promise<Job> {
  const scope = await resolveExampleScope(db, input.datasetId);
  await requireReadyVersion(db, input.raterVersionId, 'for scoring');

  const counts = await countScope(db.pool, scope);
  if (counts.TRAIN + counts.HELDOUT === 0) {
    throw badInput(`Dataset ${input.datasetId} has no examples to score. Upload examples first.`, {
      datasetId: input.datasetId,
    });
  }

  const parameters: ScoreParameters = { ...input };
  const jobId = await inTransaction(db.pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
      `score:${input.raterVersionId}:${input.datasetId}`,
    ]);
    const { rows } = await client.query<{ id: string }>(
      `SELECT id FROM job WHERE kind = 'SCORE' AND status IN ('QUEUED', 'RUNNING')
          AND subjects->>'raterVersionId' = $1 AND subjects->>'datasetId' = $2`,
      [input.raterVersionId, input.datasetId],
    );
    if (rows[0]) {
      throw conflict(
        `Job ${rows[0].id} is already scoring dataset ${input.datasetId} under rater version ` +
          `${input.raterVersionId}. Follow that job, or cancel it first.`,
        { jobId: rows[0].id },
      );
    }
    return jobs.enqueue(client, {
      kind: 'SCORE',
      parameters,
      subjects: { raterVersionId: input.raterVersionId, datasetId: input.datasetId },
      queueName: queueFor('SCORE'),
      message: 'Queued.',
    });
  });
  jobs.published([jobId], true);
  return requireJob(db, jobId);
}

export const scoreHandler: JobHandler = {
  run: runScoring,
};

interface WindowRow {
  seq: number;
  text: string;
  dataset_id: string;
  scored: boolean;
}

async function runScoring(context: JobContext): Promise<object> {
  const { db } = context;
  const parameters = context.job.parameters as unknown as ScoreParameters;
  const { raterVersionId, datasetId } = parameters;

  const version = await requireReadyVersion(db, raterVersionId, 'for scoring');
  const scope = await resolveExampleScope(db, datasetId);
  const rater = await loadRaterWeights(version.weights);
  try {
    const scanned = await scoreWindows(context, rater, scope, parameters);

    await context.progress({ message: 'Computing the score summary.' });
    const summary = await computeScoreSummary(db, raterVersionId, datasetId);
    return {
      raterVersionId,
      datasetId,
      ...scanned,
      summary: summary && { count: summary.count, mean: summary.mean, std: summary.std },
    };
  } finally {
    rater.dispose();
  }
}

/** Scores the windows after the last committed one; returns counts over the whole run. */
async function scoreWindows(
  context: JobContext,
  rater: Awaited<ReturnType<typeof loadRaterWeights>>,
  scope: ExampleScope,
  parameters: ScoreParameters,
): Promise<{ examples: number; written: number; windows: number; resumedAfter: number }> {
  const { db } = context;
  const { raterVersionId, datasetId, windowSize, batchSize } = parameters;
  const method = scoreWriteMethod(db);
  const { from, param } = scopeSql(scope);

  const counts = await countScope(db.pool, scope);
  const total = counts.TRAIN + counts.HELDOUT;
  let cursor = await lastCommittedSeq(db.pool, raterVersionId, datasetId);
  let done = await countUpTo(db.pool, from, param, cursor);
  const resumedAfter = done;

  for (;;) {
    context.throwIfStopped(`after ${done} of ${total} examples`);
    const { rows } = await db.pool.query<WindowRow>(
      `SELECT e.seq, e.text, e.dataset_id,
              EXISTS (SELECT 1 FROM score s
                       WHERE s.rater_version_id = $3 AND s.example_seq = e.seq) AS scored
         FROM ${from} AND e.seq > $2
        ORDER BY e.seq LIMIT $4`,
      [param, cursor, raterVersionId, windowSize],
    );
    if (rows.length === 0) break;

    const pending = rows.filter((row) => !row.scored);
    const scores = await rater.score(
      pending.map((row) => row.text),
      batchSize,
    );
    const first = rows[0]!.seq;
    const last = rows.at(-1)!.seq;
    await context.commit(async (client) => {
      const written = await writeScores(
        client,
        {
          raterVersionId,
          exampleSeqs: pending.map((row) => row.seq),
          datasetIds: pending.map((row) => row.dataset_id),
          scores,
        },
        method,
      );
      await recordRange(client, {
        raterVersionId,
        datasetId,
        first,
        last,
        written,
        jobId: context.job.id,
      });
    });

    cursor = last;
    done += rows.length;
    await context.progress({
      progress: total > 0 ? (0.98 * done) / total : 0,
      message: `Scored ${done} of ${total} examples.`,
    });
  }

  const ranges = await db.pool.query<{ written: number; windows: number }>(
    `SELECT COALESCE(sum(written), 0)::int AS written, count(*)::int AS windows
       FROM score_range WHERE rater_version_id = $1 AND dataset_id = $2`,
    [raterVersionId, datasetId],
  );
  return { examples: total, ...ranges.rows[0]!, resumedAfter };
}

async function lastCommittedSeq(
  pool: pg.Pool,
  raterVersionId: string,
  datasetId: string,
): Promise<number> {
  const { rows } = await pool.query<{ last: number | null }>(
    `SELECT max(last_seq) AS last FROM score_range
      WHERE rater_version_id = $1 AND dataset_id = $2`,
    [raterVersionId, datasetId],
  );
  return rows[0]?.last ?? 0;
}

async function countUpTo(pool: pg.Pool, from: string, param: string, seq: number): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${from} AND e.seq <= $2`,
    [param, seq],
  );
  return rows[0]?.n ?? 0;
}

async function recordRange(
  client: pg.ClientBase,
  range: {
    raterVersionId: string;
    datasetId: string;
    first: number;
    last: number;
    written: number;
    jobId: string;
  },
): Promise<void> {
  await client.query(
    `INSERT INTO score_range (rater_version_id, dataset_id, first_seq, last_seq, written, job_id,
                              created_at)
     VALUES ($1, $2, $3, $4, $5, $6, now() AT TIME ZONE 'UTC')`,
    [range.raterVersionId, range.datasetId, range.first, range.last, range.written, range.jobId],
  );
}
