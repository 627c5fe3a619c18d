// evaluateCuration: a job that trains fresh inner models with the same budget and seed on three
// training sets. They are the curation's source split (baseline), its kept examples (curated),
// and a seeded random subset of the source split of the same size (random drop). The held-out
// loss curves and compute gains go into an Evaluation row.
import type { Database } from '../db/client.js';
import type { Job } from '../generated/prisma/client.js';
import type { JobContext, JobHandler } from '../jobs/context.js';
import { updateProgress } from '../jobs/job-rows.js';
import { queueFor } from '../jobs/kinds.js';
import type { JobSystem } from '../jobs/system.js';
import { inTransaction } from '../jobs/transaction.js';
import { compareTraining, seededSubset, type EngineConfig } from './engine.js';
import { badInput } from './errors.js';
import { requireJob } from './job-control.js';
import {
  countScope,
  loadTexts,
  requireInteger,
  resolveExampleScope,
  type Split,
} from './job-data.js';
import { requireCuration } from './job-subjects.js';

export interface EvaluateCurationInput {
  curationId: string;
  steps: number;
  batchSize: number;
  evalEvery: number;
  seed: number;
}

export type EvaluateParameters = EvaluateCurationInput;

/**
 * Validates an evaluation request and queues its job. Throws NOT_FOUND for an unknown curation and
 * BAD_USER_INPUT naming the value for an invalid budget, a curation whose dataset was deleted or
 * kept nothing, or a source dataset without HELDOUT examples.
 */
export async function evaluateCuration(
  db: Database,
  jobs: JobSystem,
  input: EvaluateCurationInput,
): Promise<Job> {
  const curation = await requireCuration(db, input.curationId);
  requireInteger('steps', input.steps, 1, 1_000_000);
  requireInteger('batchSize', input.batchSize, 1, 65_536);
  requireInteger('evalEvery', input.evalEvery, 1, input.steps);
  requireInteger('seed', input.seed, 0, 2 ** 32 - 1);

  if (!curation.curatedDatasetId || !curation.keptCount) {
    throw badInput(
      `Curation ${curation.id} has no kept examples (its dataset was deleted or it kept none), ` +
        'so there is nothing to evaluate. Curate again with a smaller discard fraction.',
      { curationId: curation.id },
    );
  }
  const source = await resolveExampleScope(db, curation.sourceDatasetId);
  if ((await countScope(db.pool, source)).HELDOUT === 0) {
    throw badInput(
      `Source dataset ${curation.sourceDatasetId} of curation ${curation.id} has no HELDOUT ` +
        'examples, so the held-out set is empty. Upload examples with split HELDOUT to it.',
      { datasetId: curation.sourceDatasetId },
    );
  }

  const jobId = await inTransaction(db.pool, (client) =>
    jobs.enqueue(client, {
      kind: 'EVALUATE',
      parameters: input,
      subjects: { curationId: curation.id, raterVersionId: curation.raterVersionId },
      queueName: queueFor('EVALUATE'),
      message: 'Queued.',
    }),
  );
  jobs.published([jobId], true);
  return requireJob(db, jobId);
}

// NOTE: an evaluation attempt writes no checkpoint and the engine's evaluate() cannot be
// interrupted, so an attempt stopped by a crash or a shutdown starts over on its next attempt.
export const evaluateHandler: JobHandler = { run: runEvaluation };

async function runEvaluation(context: JobContext): Promise<object> {
  const { db } = context;
  const parameters = context.job.parameters as unknown as EvaluateParameters;
  const done = context.job.subjects.evaluationId;
  if (done) return { evaluationId: done };

  const curation = await requireCuration(db, parameters.curationId);
  if (!curation.curatedDatasetId) {
    throw badInput(`The dataset of curation ${curation.id} was deleted; nothing to evaluate.`);
  }
  const version = await db.prisma.raterVersion.findUniqueOrThrow({
    where: { id: curation.raterVersionId },
  });
  const split = ((curation.parameters as { split?: Split }).split ?? 'TRAIN') as Split;

  const source = await resolveExampleScope(db, curation.sourceDatasetId);
  const baseline = await loadTexts(db.pool, source, split);
  const curated = await loadTexts(
    db.pool,
    await resolveExampleScope(db, curation.curatedDatasetId),
    split,
  );
  const heldout = await loadTexts(db.pool, source, 'HELDOUT');
  const randomDrop = seededSubset(baseline.texts, curated.texts.length, parameters.seed);
  context.throwIfStopped();

  const budget = {
    steps: parameters.steps,
    batchSize: parameters.batchSize,
    evalEvery: parameters.evalEvery,
    seed: parameters.seed,
  };
  const result = await compareTraining({
    config: version.config as unknown as EngineConfig,
    budget,
    runs: { baseline: baseline.texts, curated: curated.texts, randomDrop },
    heldout: heldout.texts,
    scoredExamples: baseline.texts.length,
    onProgress: (fraction, message) => {
      void context.progress({ progress: 0.99 * fraction, message }).catch(() => undefined);
    },
  });
  context.throwIfStopped();

  const evaluationId = await context.commit(async (client) => {
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO evaluation (id, curation_id, budget, result, created_at)
       VALUES (gen_random_uuid(), $1, $2, $3, now() AT TIME ZONE 'UTC')
       RETURNING id`,
      [
        curation.id,
        JSON.stringify({ ...budget, split }),
        JSON.stringify({
          ...result,
          examples: {
            baseline: baseline.texts.length,
            curated: curated.texts.length,
            heldout: heldout.texts.length,
          },
        }),
      ],
    );
    const id = rows[0]!.id;
    await updateProgress(client, context.attempt, { subjects: { evaluationId: id } });
    return id;
  });
  return { evaluationId, computeGain: result.computeGain };
}
