// startMetaTraining: validates the request, creates the rater version (QUEUED) and its job in one
// transaction, and the job handler that meta-trains it.
//
// Rater version status: QUEUED → TRAINING → READY, or FAILED / CANCELED when its job ends so.
// The training curve (rater_version.training_curve) grows as outer steps complete. Every
// `checkpointInterval` steps the full trainer state goes to the checkpoint table, in the same
// transaction as the curve, so a resumed attempt restores it and truncates the curve to its step.
import crypto from 'node:crypto';
import type pg from 'pg';
import type { Database } from '../db/client.js';
import type { Job } from '../generated/prisma/client.js';
import { AttemptStopped, type JobContext, type JobHandler } from '../jobs/context.js';
import type { JobRow } from '../jobs/job-rows.js';
import { queueFor, type BackendRequirement } from '../jobs/kinds.js';
import type { JobSystem } from '../jobs/system.js';
import { inTransaction } from '../jobs/transaction.js';
import {
  createTrainer,
  restoreTrainer,
  validateEngineConfig,
  type EngineConfig,
  type TextSet,
  type TrainingData,
  type TrainingPoint,
} from './engine.js';
import { badInput } from './errors.js';
import { requireJob } from './job-control.js';
import { countScope, loadTexts, resolveExampleScope, type ExampleScope } from './job-data.js';
import { requireReadyVersion } from './job-subjects.js';

export type InnerTask = 'LANGUAGE_MODEL' | 'CLASSIFICATION';

export interface StartMetaTrainingInput {
  raterName: string;
  trainingDatasetId: string;
  heldoutDatasetId?: string | null;
  innerTask: InnerTask;
  /** Engine configuration overrides. */
  config?: unknown;
  seed: number;
  backend: BackendRequirement;
  parentVersionId?: string | null;
}

/** Job parameters: everything the job needs besides the rater version row. */
export interface MetaTrainParameters {
  raterName: string;
  raterVersionId: string;
  trainingDatasetId: string;
  /** Null: the HELDOUT split of the training dataset. */
  heldoutDatasetId: string | null;
  innerTask: InnerTask;
  seed: number;
  backend: BackendRequirement;
  parentVersionId: string | null;
  /** Sorted distinct labels of the training split; label i is class i (classification only). */
  labels: string[] | null;
  config: EngineConfig;
}

const MAX_RATER_NAME = 200;
/** Config fields set by their own arguments of startMetaTraining. */
const RESERVED_CONFIG_FIELDS: Record<string, string> = {
  seed: 'seed',
  task: 'innerTask',
  backend: 'backend',
};

/**
 * Validates a meta-training request and queues its job. Throws NOT_FOUND for unknown dataset or
 * parent ids, and BAD_USER_INPUT naming the value for an empty training or held-out set, a
 * classification task without labels, an invalid config field, or a parent that is not READY.
 */
export async function startMetaTraining(
  db: Database,
  jobs: JobSystem,
  input: StartMetaTrainingInput,
  defaultBackend: string,
): Promise<Job> {
  const raterName = input.raterName.trim();
  if (raterName === '' || raterName.length > MAX_RATER_NAME) {
    throw badInput(
      `Invalid raterName ${JSON.stringify(input.raterName)}: expected 1 to ${MAX_RATER_NAME} characters.`,
    );
  }

  const trainingScope = await resolveExampleScope(db, input.trainingDatasetId);
  const heldoutScope = input.heldoutDatasetId
    ? await resolveExampleScope(db, input.heldoutDatasetId)
    : null;
  const labels = await checkTrainingData(db, input, trainingScope, heldoutScope);

  const parent = input.parentVersionId
    ? await requireReadyVersion(db, input.parentVersionId, 'as a warm start')
    : null;
  const config = buildConfig(input, labels, defaultBackend);
  if (parent) checkWarmStart(config, parent.config as unknown as EngineConfig, parent.id);

  const raterVersionId = crypto.randomUUID();
  const parameters: MetaTrainParameters = {
    raterName,
    raterVersionId,
    trainingDatasetId: input.trainingDatasetId,
    heldoutDatasetId: input.heldoutDatasetId ?? null,
    innerTask: input.innerTask,
    seed: input.seed,
    backend: input.backend,
    parentVersionId: parent?.id ?? null,
    labels,
    config,
  };

  const jobId = await inTransaction(db.pool, async (client) => {
    await createRaterVersion(client, parameters);
    const queueName = queueFor('META_TRAIN', input.backend);
    return jobs.enqueue(client, {
      kind: 'META_TRAIN',
      parameters,
      subjects: { raterVersionId, datasetId: input.trainingDatasetId },
      queueName,
      message: input.backend === 'GPU' ? await jobs.gpuQueueMessage(client) : 'Queued.',
    });
  });
  jobs.published([jobId], true);
  return requireJob(db, jobId);
}

/** Checks that both example sets are non-empty; returns the labels of a classification task. */
async function checkTrainingData(
  db: Database,
  input: StartMetaTrainingInput,
  training: ExampleScope,
  heldout: ExampleScope | null,
): Promise<string[] | null> {
  const trainingCounts = await countScope(db.pool, training);
  if (trainingCounts.TRAIN === 0) {
    throw badInput(
      `Training dataset ${input.trainingDatasetId} has no TRAIN examples. Upload examples with ` +
        'split TRAIN, or choose another dataset.',
      { trainingDatasetId: input.trainingDatasetId },
    );
  }

  if (heldout) {
    const counts = await countScope(db.pool, heldout);
    if (counts.TRAIN + counts.HELDOUT === 0) {
      throw badInput(
        `Held-out dataset ${input.heldoutDatasetId} is empty. Upload held-out examples to it, or ` +
          'omit heldoutDatasetId to use the HELDOUT split of the training dataset.',
        { heldoutDatasetId: input.heldoutDatasetId },
      );
    }
  } else if (trainingCounts.HELDOUT === 0) {
    throw badInput(
      `Training dataset ${input.trainingDatasetId} has no HELDOUT examples, so the held-out set ` +
        'is empty. Import it with a heldoutFraction above 0, upload examples with split HELDOUT, ' +
        'or pass heldoutDatasetId.',
      { trainingDatasetId: input.trainingDatasetId },
    );
  }

  if (input.innerTask !== 'CLASSIFICATION') return null;
  const { rows } = await db.pool.query<{ label: string }>(
    `SELECT DISTINCT label FROM example
      WHERE dataset_id = $1 AND split = 'TRAIN' AND label IS NOT NULL ORDER BY label`,
    [training.curationId ? await sourceDatasetOf(db, training) : training.datasetId],
  );
  if (rows.length < 2) {
    throw badInput(
      `innerTask CLASSIFICATION needs at least 2 distinct labels in the TRAIN split of dataset ` +
        `${input.trainingDatasetId}; it has ${rows.length}. Use LANGUAGE_MODEL for unlabelled text.`,
      { trainingDatasetId: input.trainingDatasetId, labels: rows.length },
    );
  }
  return rows.map((row) => row.label);
}

async function sourceDatasetOf(db: Database, scope: ExampleScope): Promise<string> {
  const curation = await db.prisma.curation.findUniqueOrThrow({ where: { id: scope.curationId! } });
  return curation.sourceDatasetId;
}

/** Builds the validated engine config of a request; BAD_USER_INPUT names a bad field and value. */
function buildConfig(
  input: StartMetaTrainingInput,
  labels: string[] | null,
  defaultBackend: string,
): EngineConfig {
  const overrides = input.config ?? {};
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
    throw badInput(
      `Invalid config ${JSON.stringify(overrides)}: expected an object of engine config fields.`,
      { argument: 'config' },
    );
  }
  for (const [field, argument] of Object.entries(RESERVED_CONFIG_FIELDS)) {
    if (field in overrides) {
      throw badInput(
        `Invalid config field "${field}": set it with the ${argument} argument of ` +
          'startMetaTraining instead.',
        { field },
      );
    }
  }

  return validateEngineConfig({
    ...(overrides as Record<string, unknown>),
    seed: input.seed,
    task: input.innerTask === 'CLASSIFICATION' ? 'classification' : 'language-model',
    ...(labels ? { numClasses: labels.length } : {}),
    backend: input.backend === 'GPU' ? 'tensorflow' : defaultBackend,
  });
}

/** Rater architecture fields a warm start must share with its parent. */
const RATER_SHAPE_FIELDS = [
  'sequenceLength',
  'raterWidth',
  'raterBlocks',
  'raterKernelSize',
  'raterActivation',
] as const;

function checkWarmStart(config: EngineConfig, parent: EngineConfig, parentId: string): void {
  for (const field of RATER_SHAPE_FIELDS) {
    if (config[field] !== parent[field]) {
      throw badInput(
        `Invalid config field "${field}": ${JSON.stringify(config[field])} differs from ` +
          `${JSON.stringify(parent[field])} of parent version ${parentId}, whose weights a warm ` +
          'start loads. Leave the field unset or use the parent value.',
        { field, value: config[field] },
      );
    }
  }
}

/** Creates the rater on first use and a QUEUED version with the next version number. */
async function createRaterVersion(
  client: pg.ClientBase,
  parameters: MetaTrainParameters,
): Promise<void> {
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO rater (id, name, created_at) VALUES ($1, $2, now() AT TIME ZONE 'UTC')
     ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
     RETURNING id`,
    [crypto.randomUUID(), parameters.raterName],
  );
  const raterId = rows[0]!.id;
  await client.query(
    `INSERT INTO rater_version (id, rater_id, version, status, config, training_dataset_id,
                                heldout_dataset_id, parent_version_id, created_at)
     SELECT $1, $2, COALESCE(max(version), 0) + 1, 'QUEUED', $3, $4, $5, $6,
            now() AT TIME ZONE 'UTC'
       FROM rater_version WHERE rater_id = $2`,
    [
      parameters.raterVersionId,
      raterId,
      JSON.stringify(parameters.config),
      parameters.trainingDatasetId,
      parameters.heldoutDatasetId,
      parameters.parentVersionId,
    ],
  );
}

export const metaTrainHandler: JobHandler = {
  run: runMetaTraining,
  async onEnded(client, job, status, error) {
    await client.query(
      `UPDATE rater_version SET status = $2::"RaterVersionStatus", error = $3,
              finished_at = now() AT TIME ZONE 'UTC'
        WHERE id = $1 AND status IN ('QUEUED', 'TRAINING')`,
      [versionIdOf(job), status, error],
    );
  },
  async onRetried(client, job) {
    await client.query(
      `UPDATE rater_version SET status = 'QUEUED', error = NULL, finished_at = NULL
        WHERE id = $1 AND status IN ('FAILED', 'CANCELED')`,
      [versionIdOf(job)],
    );
  },
};

function versionIdOf(job: JobRow): string {
  return (job.parameters as unknown as MetaTrainParameters).raterVersionId;
}

async function runMetaTraining(context: JobContext): Promise<object> {
  const { db } = context;
  const parameters = context.job.parameters as unknown as MetaTrainParameters;
  const { raterVersionId } = parameters;

  const version = await db.prisma.raterVersion.findUnique({ where: { id: raterVersionId } });
  if (!version) throw new Error(`Rater version ${raterVersionId} of this job was deleted.`);
  if (version.status === 'READY') return trainingResult(raterVersionId, version.metrics, null);

  const config = { ...parameters.config, backend: context.worker.backend } as EngineConfig;
  await markTraining(context, raterVersionId, config);

  const data = await loadTrainingData(db, parameters);
  const checkpoint = await db.prisma.checkpoint.findUnique({ where: { raterVersionId } });
  const trainer = checkpoint
    ? await restoreTrainer(
        checkpoint.state,
        data,
        context.worker.backend as EngineConfig['backend'],
      )
    : await createTrainer(config, data, await parentWeights(db, parameters.parentVersionId));
  try {
    if (checkpoint) await truncateCurve(db, raterVersionId, checkpoint.step);
    await context.progress({
      progress: trainer.step / Math.max(1, config.outerSteps),
      message: checkpoint
        ? `Resumed from the checkpoint at step ${checkpoint.step}.`
        : `Training ${config.outerSteps} outer steps on ${data.train.texts.length} examples.`,
    });
    await trainSteps(context, trainer, config);

    const weights = trainer.exportRater();
    const metrics = summarizeCurve(await readCurve(db, raterVersionId), context.worker.backend);
    await context.commit(async (client) => {
      await client.query(
        `UPDATE rater_version SET status = 'READY', weights = $2, backend = $3, metrics = $4,
                finished_at = now() AT TIME ZONE 'UTC', error = NULL
          WHERE id = $1`,
        [raterVersionId, Buffer.from(weights), context.worker.backend, JSON.stringify(metrics)],
      );
      await client.query('DELETE FROM checkpoint WHERE rater_version_id = $1', [raterVersionId]);
    });
    return trainingResult(raterVersionId, metrics, checkpoint?.step ?? null);
  } finally {
    await trainer.dispose();
  }
}

/** Builds the job result; `resumedFromStep` is the checkpoint step the last attempt restored. */
function trainingResult(
  raterVersionId: string,
  metrics: unknown,
  resumedFromStep: number | null,
): object {
  return { raterVersionId, metrics: metrics ?? null, resumedFromStep };
}

async function markTraining(
  context: JobContext,
  raterVersionId: string,
  config: EngineConfig,
): Promise<void> {
  await context.commit(async (client) => {
    await client.query(
      `UPDATE rater_version SET status = 'TRAINING', config = $2, error = NULL,
              started_at = COALESCE(started_at, now() AT TIME ZONE 'UTC')
        WHERE id = $1`,
      [raterVersionId, JSON.stringify(config)],
    );
  });
}

/**
 * Runs outer steps until `outerSteps`, appending curve points about once a second and writing a
 * checkpoint every `checkpointInterval` steps. Stops between steps when the attempt must: on
 * shutdown it checkpoints first.
 */
async function trainSteps(
  context: JobContext,
  trainer: Awaited<ReturnType<typeof createTrainer>>,
  config: EngineConfig,
): Promise<void> {
  const { raterVersionId } = context.job.parameters as unknown as MetaTrainParameters;
  let pending: TrainingPoint[] = [];
  let lastFlush = Date.now();

  const flush = async (withCheckpoint: boolean) => {
    const points = pending;
    const state = withCheckpoint ? trainer.checkpoint() : null;
    await context.commit(async (client) => {
      if (points.length > 0) await appendCurve(client, raterVersionId, points);
      if (state) await saveCheckpoint(client, raterVersionId, trainer.step, state);
    });
    pending = [];
    lastFlush = Date.now();
    await context.progress({
      progress: (0.99 * trainer.step) / Math.max(1, config.outerSteps),
      message: `Outer step ${trainer.step} of ${config.outerSteps}` + lossText(points.at(-1)),
    });
  };

  while (trainer.step < config.outerSteps) {
    if (context.stopReason() === 'shutdown') {
      await flush(true);
      throw new AttemptStopped('shutdown', `at outer step ${trainer.step}`);
    }
    context.throwIfStopped(`at outer step ${trainer.step}`);

    const { point, report } = await trainer.runStep();
    if (point) pending.push(point);
    else
      context.logger.warn({ step: report.step, reason: report.skipReason }, 'outer step skipped');
    const checkpointDue = trainer.step % config.checkpointInterval === 0;
    if (checkpointDue || Date.now() - lastFlush >= 1000) await flush(checkpointDue);
  }
  if (pending.length > 0) await flush(false);
}

function lossText(point: TrainingPoint | undefined): string {
  return point ? `, outer loss ${point.outerLoss.toFixed(4)}.` : '.';
}

async function appendCurve(
  client: pg.ClientBase,
  raterVersionId: string,
  points: TrainingPoint[],
): Promise<void> {
  await client.query(
    `UPDATE rater_version SET training_curve = training_curve || $2::jsonb WHERE id = $1`,
    [raterVersionId, JSON.stringify(points)],
  );
}

async function saveCheckpoint(
  client: pg.ClientBase,
  raterVersionId: string,
  step: number,
  state: Uint8Array,
): Promise<void> {
  await client.query(
    `INSERT INTO checkpoint (rater_version_id, step, state, created_at)
     VALUES ($1, $2, $3, now() AT TIME ZONE 'UTC')
     ON CONFLICT (rater_version_id)
       DO UPDATE SET step = EXCLUDED.step, state = EXCLUDED.state, created_at = EXCLUDED.created_at`,
    [raterVersionId, step, Buffer.from(state)],
  );
}

/** Drops curve points after the checkpoint a resumed attempt restarts from. */
async function truncateCurve(db: Database, raterVersionId: string, step: number): Promise<void> {
  await db.pool.query(
    `UPDATE rater_version SET training_curve = COALESCE((
       SELECT jsonb_agg(point ORDER BY position)
         FROM jsonb_array_elements(training_curve) WITH ORDINALITY AS p(point, position)
        WHERE (point->>'step')::int <= $2), '[]'::jsonb)
      WHERE id = $1`,
    [raterVersionId, step],
  );
}

async function readCurve(db: Database, raterVersionId: string): Promise<TrainingPoint[]> {
  const { rows } = await db.pool.query<{ curve: TrainingPoint[] }>(
    'SELECT training_curve AS curve FROM rater_version WHERE id = $1',
    [raterVersionId],
  );
  return rows[0]?.curve ?? [];
}

/** Final metrics of a version: the curve's last point and its averages over the last tenth. */
function summarizeCurve(curve: TrainingPoint[], backend: string): object {
  const tail = curve.slice(-Math.max(1, Math.floor(curve.length / 10)));
  const mean = (pick: (point: TrainingPoint) => number) =>
    tail.length > 0 ? tail.reduce((sum, point) => sum + pick(point), 0) / tail.length : null;
  return {
    steps: curve.length,
    backend,
    finalOuterLoss: curve.at(-1)?.outerLoss ?? null,
    firstOuterLoss: curve[0]?.outerLoss ?? null,
    tailMeanOuterLoss: mean((point) => point.outerLoss),
    tailMeanEss: mean((point) => point.ess),
    skippedSteps: curve.filter((point) => point.skipped).length,
  };
}

async function loadTrainingData(
  db: Database,
  parameters: MetaTrainParameters,
): Promise<TrainingData> {
  const training = await resolveExampleScope(db, parameters.trainingDatasetId);
  const train = await loadTexts(db.pool, training, 'TRAIN');
  const heldout = parameters.heldoutDatasetId
    ? await loadTexts(db.pool, await resolveExampleScope(db, parameters.heldoutDatasetId), null)
    : await loadTexts(db.pool, training, 'HELDOUT');

  return {
    train: toTextSet(train, parameters.labels),
    heldout: toTextSet(heldout, parameters.labels),
  };
}

/**
 * Texts with their class indices for classification (label i of the sorted training labels is
 * class i). Examples without a label, or with a label the TRAIN split lacks, are left out.
 */
function toTextSet(
  examples: { texts: string[]; labels: (string | null)[] },
  labels: string[] | null,
): TextSet {
  if (!labels) return { texts: examples.texts, labels: null };
  const classIndex = new Map(labels.map((label, index) => [label, index]));
  const set: TextSet = { texts: [], labels: [] };
  examples.texts.forEach((text, i) => {
    const label = examples.labels[i];
    const index = label == null ? undefined : classIndex.get(label);
    if (index === undefined) return;
    set.texts.push(text);
    set.labels!.push(index);
  });
  return set;
}

async function parentWeights(db: Database, parentId: string | null): Promise<Uint8Array | null> {
  if (!parentId) return null;
  const parent = await db.prisma.raterVersion.findUnique({
    where: { id: parentId },
    select: { weights: true },
  });
  return parent?.weights ?? null;
}
