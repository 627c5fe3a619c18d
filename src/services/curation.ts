// curateDataset: a job that filters one split of a scored dataset with a rater version's scores
// and stores the kept examples as a new dataset that references them (curation_member rows).
import type { Database } from '../db/client.js';
import type { Job } from '../generated/prisma/client.js';
import type { JobContext, JobHandler } from '../jobs/context.js';
import { updateProgress } from '../jobs/job-rows.js';
import { queueFor } from '../jobs/kinds.js';
import type { JobSystem } from '../jobs/system.js';
import { inTransaction } from '../jobs/transaction.js';
import { requireDataset } from './datasets.js';
import { selectKept, type CurationStrategy, type FilterParameters } from './engine.js';
import { badInput, conflict } from './errors.js';
import { requireJob } from './job-control.js';
import { requireInteger, resolveExampleScope, scopeSql, type Split } from './job-data.js';
import { requireReadyVersion } from './job-subjects.js';

export interface CurateDatasetInput {
  datasetId: string;
  raterVersionId: string;
  strategy: CurationStrategy;
  discardFraction?: number | null;
  batchSize: number;
  threshold?: number | null;
  seed: number;
  name?: string | null;
  split: Split;
}

export interface CurateParameters extends FilterParameters {
  datasetId: string;
  raterVersionId: string;
  strategy: CurationStrategy;
  split: Split;
  /** Name of the curated dataset to create. */
  name: string;
}

const MAX_NAME_LENGTH = 200;

/**
 * Validates a curation request and queues its job. Throws NOT_FOUND for unknown ids. Throws
 * BAD_USER_INPUT naming the value for a discard fraction outside (0, 1), a missing threshold, a
 * rater version that is not READY, or a split with unscored examples. Throws CONFLICT when the
 * curated dataset's name is taken.
 */
export async function curateDataset(
  db: Database,
  jobs: JobSystem,
  input: CurateDatasetInput,
): Promise<Job> {
  const source = await requireDataset(db, input.datasetId);
  const version = await requireReadyVersion(db, input.raterVersionId, 'for curation');
  const filter = validateFilter(input);
  await checkScored(db, input);

  const name = (input.name ?? defaultName(source.name, version.version, input)).trim();
  if (name === '' || name.length > MAX_NAME_LENGTH) {
    throw badInput(
      `Invalid name ${JSON.stringify(input.name)}: expected 1 to ${MAX_NAME_LENGTH} characters.`,
    );
  }
  if (await db.prisma.dataset.findUnique({ where: { name }, select: { id: true } })) {
    throw conflict(`A dataset named ${JSON.stringify(name)} already exists. Choose another name.`, {
      name,
    });
  }

  const parameters: CurateParameters = {
    datasetId: input.datasetId,
    raterVersionId: input.raterVersionId,
    strategy: input.strategy,
    split: input.split,
    name,
    ...filter,
  };
  const jobId = await inTransaction(db.pool, (client) =>
    jobs.enqueue(client, {
      kind: 'CURATE',
      parameters,
      subjects: { datasetId: input.datasetId, raterVersionId: input.raterVersionId },
      queueName: queueFor('CURATE'),
      message: 'Queued.',
    }),
  );
  jobs.published([jobId], true);
  return requireJob(db, jobId);
}

function validateFilter(input: CurateDatasetInput): FilterParameters {
  const needsFraction = input.strategy !== 'THRESHOLD';
  const needsBatch =
    input.strategy === 'BATCH_TOP_K' || input.strategy === 'ACCEPTANCE_PROBABILITY';
  requireInteger('seed', input.seed, 0, 2 ** 32 - 1);

  let discardFraction: number | null = null;
  if (needsFraction) {
    const value = input.discardFraction;
    if (value == null || !Number.isFinite(value) || value <= 0 || value >= 1) {
      throw badInput(
        `Invalid discardFraction ${value ?? 'null'} for strategy ${input.strategy}: expected a ` +
          'number strictly between 0 and 1 (the share of examples to drop).',
        { argument: 'discardFraction', value: value ?? null },
      );
    }
    discardFraction = value;
  }

  if (needsBatch) requireInteger('batchSize', input.batchSize, 2, 1 << 20);

  let threshold: number | null = null;
  if (input.strategy === 'THRESHOLD') {
    if (input.threshold == null || !Number.isFinite(input.threshold)) {
      throw badInput(
        `Invalid threshold ${input.threshold ?? 'null'}: strategy THRESHOLD needs a finite ` +
          'score; examples scoring at or above it are kept.',
        { argument: 'threshold', value: input.threshold ?? null },
      );
    }
    threshold = input.threshold;
  }

  return {
    discardFraction,
    batchSize: needsBatch ? input.batchSize : null,
    threshold,
    seed: input.seed,
  };
}

/** Requires a score for every example of the split; names how many lack one. */
async function checkScored(db: Database, input: CurateDatasetInput): Promise<void> {
  const scope = await resolveExampleScope(db, input.datasetId);
  const { from, param } = scopeSql(scope);
  const { rows } = await db.pool.query<{ total: number; unscored: number }>(
    `SELECT count(*)::int AS total,
            count(*) FILTER (WHERE NOT EXISTS (
              SELECT 1 FROM score s WHERE s.rater_version_id = $3 AND s.example_seq = e.seq))::int
              AS unscored
       FROM ${from} AND e.split = $2`,
    [param, input.split, input.raterVersionId],
  );
  const { total, unscored } = rows[0]!;
  if (total === 0) {
    throw badInput(
      `Dataset ${input.datasetId} has no ${input.split} examples to curate. Choose another split.`,
      { datasetId: input.datasetId, split: input.split },
    );
  }
  if (unscored > 0) {
    throw badInput(
      `${unscored} of ${total} ${input.split} examples of dataset ${input.datasetId} have no ` +
        `score under rater version ${input.raterVersionId}. Run scoreDataset first.`,
      { datasetId: input.datasetId, unscored },
    );
  }
}

function defaultName(source: string, version: number, input: CurateDatasetInput): string {
  const setting =
    input.strategy === 'THRESHOLD'
      ? `threshold ${input.threshold}`
      : `${input.strategy.toLowerCase().replaceAll('_', '-')} ${input.discardFraction}`;
  const suffix = Date.now().toString(36);
  return `${source} (rater v${version}, ${setting}, ${suffix})`;
}

export const curateHandler: JobHandler = { run: runCuration };

async function runCuration(context: JobContext): Promise<object> {
  const { db } = context;
  const parameters = context.job.parameters as unknown as CurateParameters;
  const done = context.job.subjects.curationId;
  if (done) return { curationId: done, curatedDatasetId: context.job.subjects.curatedDatasetId };

  const scope = await resolveExampleScope(db, parameters.datasetId);
  const { from, param } = scopeSql(scope);
  const { rows } = await db.pool.query<{ seq: number; score: number | null }>(
    `SELECT e.seq, (SELECT s.score FROM score s
                     WHERE s.rater_version_id = $3 AND s.example_seq = e.seq) AS score
       FROM ${from} AND e.split = $2
      ORDER BY e.seq`,
    [param, parameters.split, parameters.raterVersionId],
  );
  const missing = rows.filter((row) => row.score === null).length;
  if (missing > 0) {
    throw new Error(
      `${missing} ${parameters.split} examples lost their score since the job was queued.`,
    );
  }

  const scores = Float32Array.from(rows, (row) => row.score!);
  const kept = selectKept(parameters.strategy, scores, parameters);
  const keptSeqs = Array.from(kept, (index) => rows[index]!.seq);
  context.throwIfStopped();

  const ids = await context.commit(async (client) => {
    const dataset = await client.query<{ id: string }>(
      `INSERT INTO dataset (id, name, description, created_at, updated_at)
       VALUES (gen_random_uuid(), $1, $2, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')
       RETURNING id`,
      [parameters.name, describe(parameters, keptSeqs.length, rows.length)],
    );
    const datasetId = dataset.rows[0]!.id;
    const curation = await client.query<{ id: string }>(
      `INSERT INTO curation (id, source_dataset_id, curated_dataset_id, rater_version_id, strategy,
                             parameters, seed, kept_count, created_at)
       VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7, now() AT TIME ZONE 'UTC')
       RETURNING id`,
      [
        parameters.datasetId,
        datasetId,
        parameters.raterVersionId,
        parameters.strategy,
        JSON.stringify(curationParameters(parameters, rows.length)),
        parameters.seed,
        keptSeqs.length,
      ],
    );
    const curationId = curation.rows[0]!.id;
    await client.query(
      `INSERT INTO curation_member (curation_id, example_seq)
       SELECT $1, seq FROM unnest($2::bigint[]) AS seq`,
      [curationId, keptSeqs],
    );
    await updateProgress(client, context.attempt, {
      subjects: { curationId, curatedDatasetId: datasetId },
    });
    return { curationId, curatedDatasetId: datasetId };
  });

  return { ...ids, kept: keptSeqs.length, considered: rows.length };
}

function curationParameters(parameters: CurateParameters, considered: number): object {
  return {
    split: parameters.split,
    discardFraction: parameters.discardFraction,
    batchSize: parameters.batchSize,
    threshold: parameters.threshold,
    considered,
  };
}

function describe(parameters: CurateParameters, kept: number, considered: number): string {
  return (
    `Kept ${kept} of ${considered} ${parameters.split} examples with ${parameters.strategy} ` +
    `under rater version ${parameters.raterVersionId}.`
  );
}
