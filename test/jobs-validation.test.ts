// Every invalid input of the job mutations: its error code and the value in its message.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';
import {
  createDataset,
  expectError,
  globalId,
  insertExamples,
  JOB_FIELDS,
  keyOf,
  syntheticExamples,
  type JobData,
} from './jobs-fixtures.js';

let t: TestServer;
let trainingId: string;
let noHeldoutId: string;
let emptyId: string;
let readyVersionId: string;

const START = `mutation ($input: StartMetaTrainingInput!) { startMetaTraining(input: $input) { ${JOB_FIELDS} } }`;
const SCORE = `mutation ($v: ID!, $d: ID!) { scoreDataset(raterVersionId: $v, datasetId: $d) { id } }`;
const CURATE = `mutation ($input: CurateDatasetInput!) { curateDataset(input: $input) { id } }`;
const EVALUATE = `mutation ($input: EvaluateCurationInput!) { evaluateCuration(input: $input) { id } }`;
const CANCEL = `mutation ($id: ID!) { cancelJob(id: $id) { ${JOB_FIELDS} } }`;
const RETRY = `mutation ($id: ID!) { retryJob(id: $id) { ${JOB_FIELDS} } }`;

beforeAll(async () => {
  t = await startTestServer('jobs_validation');
  trainingId = await createDataset(t, 'training');
  await insertExamples(t, trainingId, syntheticExamples(20));
  noHeldoutId = await createDataset(t, 'no-heldout');
  await insertExamples(t, noHeldoutId, [{ text: 'only train' }, { text: 'still train' }]);
  emptyId = await createDataset(t, 'empty');

  // A READY version (weights are opaque bytes here: no test below loads them).
  const rater = await t.db.prisma.rater.create({ data: { name: 'ready-rater' } });
  const version = await t.db.prisma.raterVersion.create({
    data: {
      raterId: rater.id,
      version: 1,
      status: 'READY',
      config: {},
      weights: Buffer.from([1, 2, 3]),
    },
  });
  readyVersionId = globalId('RaterVersion', version.id);
});

afterAll(async () => {
  await t.close();
});

async function start(input: Record<string, unknown>) {
  return t.gql<{ startMetaTraining: JobData }>(START, {
    input: { raterName: 'r', trainingDatasetId: trainingId, ...input },
  });
}

describe('startMetaTraining', () => {
  it('queues a job and a QUEUED version', async () => {
    const res = await start({ config: { outerSteps: 5 }, seed: 7 });
    expect(res.errors).toBeUndefined();
    const job = res.data!.startMetaTraining;
    expect(job.status).toBe('QUEUED');
    expect(job.kind).toBe('META_TRAIN');
    expect(job.raterVersion?.status).toBe('QUEUED');
    expect(job.raterVersion?.config.outerSteps).toBe(5);
    expect(job.raterVersion?.config.seed).toBe(7);
  });

  it('numbers versions of one rater', async () => {
    const first = await start({ raterName: 'numbered' });
    const second = await start({ raterName: 'numbered' });
    expect(first.data?.startMetaTraining.raterVersion?.version).toBe(1);
    expect(second.data?.startMetaTraining.raterVersion?.version).toBe(2);
  });

  it('rejects an unknown training dataset', async () => {
    const missing = crypto.randomUUID();
    const res = await start({ trainingDatasetId: globalId('Dataset', missing) });
    expectError(res, 'NOT_FOUND', missing);
  });

  it('rejects an unknown held-out dataset', async () => {
    const missing = crypto.randomUUID();
    const res = await start({ heldoutDatasetId: globalId('Dataset', missing) });
    expectError(res, 'NOT_FOUND', missing);
  });

  it('rejects a missing HELDOUT split', async () => {
    const res = await start({ trainingDatasetId: noHeldoutId });
    expectError(res, 'BAD_USER_INPUT', keyOf(noHeldoutId), 'held-out set is empty');
  });

  it('rejects an empty held-out dataset', async () => {
    const res = await start({ heldoutDatasetId: emptyId });
    expectError(res, 'BAD_USER_INPUT', keyOf(emptyId), 'is empty');
  });

  it('rejects a dataset without TRAIN examples', async () => {
    const res = await start({ trainingDatasetId: emptyId });
    expectError(res, 'BAD_USER_INPUT', keyOf(emptyId), 'no TRAIN examples');
  });

  it('rejects invalid config fields', async () => {
    expectError(await start({ config: { raterWidth: -3 } }), 'BAD_USER_INPUT', 'raterWidth', '-3');
    expectError(await start({ config: { outerStep: 10 } }), 'BAD_USER_INPUT', 'outerStep');
    expectError(await start({ config: { innerOptimizer: 'lion' } }), 'BAD_USER_INPUT', 'lion');
    expectError(await start({ config: [1, 2] }), 'BAD_USER_INPUT', 'config');
  });

  it('rejects config fields with own arguments', async () => {
    expectError(await start({ config: { seed: 3 } }), 'BAD_USER_INPUT', '"seed"', 'seed argument');
    expectError(await start({ config: { backend: 'cpu' } }), 'BAD_USER_INPUT', '"backend"');
  });

  it('rejects an invalid seed', async () => {
    expectError(await start({ seed: -1 }), 'BAD_USER_INPUT', 'seed', '-1');
  });

  it('rejects a blank rater name', async () => {
    expectError(await start({ raterName: '  ' }), 'BAD_USER_INPUT', 'raterName');
  });

  it('rejects a parent that is not READY', async () => {
    const queued = await start({ raterName: 'parent' });
    const parent = queued.data!.startMetaTraining.raterVersion!;
    const res = await start({ parentVersionId: parent.id });
    expectError(res, 'BAD_USER_INPUT', keyOf(parent.id), 'QUEUED', 'not READY');
  });

  it('rejects classification without labels', async () => {
    const res = await start({
      trainingDatasetId: noHeldoutId,
      heldoutDatasetId: trainingId,
      innerTask: 'CLASSIFICATION',
    });
    expectError(res, 'BAD_USER_INPUT', 'CLASSIFICATION', '0');
  });
});

describe('scoreDataset', () => {
  it('rejects a version that is not READY', async () => {
    const queued = await start({ raterName: 'not-ready' });
    const version = queued.data!.startMetaTraining.raterVersion!;
    const res = await t.gql(SCORE, { v: version.id, d: trainingId });
    expectError(res, 'BAD_USER_INPUT', keyOf(version.id), 'QUEUED');
  });

  it('rejects unknown ids', async () => {
    const missing = crypto.randomUUID();
    expectError(
      await t.gql(SCORE, { v: readyVersionId, d: globalId('Dataset', missing) }),
      'NOT_FOUND',
      missing,
    );
    expectError(
      await t.gql(SCORE, { v: globalId('RaterVersion', missing), d: trainingId }),
      'NOT_FOUND',
      missing,
    );
  });

  it('rejects a dataset without examples', async () => {
    expectError(
      await t.gql(SCORE, { v: readyVersionId, d: emptyId }),
      'BAD_USER_INPUT',
      keyOf(emptyId),
    );
  });

  it('rejects an id of another type', async () => {
    expectError(await t.gql(SCORE, { v: trainingId, d: trainingId }), 'BAD_USER_INPUT', trainingId);
  });
});

describe('curateDataset', () => {
  const curate = (input: Record<string, unknown>) =>
    t.gql(CURATE, {
      input: {
        datasetId: trainingId,
        raterVersionId: readyVersionId,
        strategy: 'BATCH_TOP_K',
        ...input,
      },
    });

  it('rejects discard fractions outside (0, 1)', async () => {
    for (const value of [0, 1, 1.5, -0.25]) {
      const res = await curate({ discardFraction: value });
      expectError(res, 'BAD_USER_INPUT', 'discardFraction', String(value));
    }
    expectError(await curate({}), 'BAD_USER_INPUT', 'discardFraction', 'null');
    expectError(
      await curate({ strategy: 'GLOBAL_QUANTILE', discardFraction: 2 }),
      'BAD_USER_INPUT',
      '2',
    );
  });

  it('rejects THRESHOLD without a threshold', async () => {
    expectError(await curate({ strategy: 'THRESHOLD' }), 'BAD_USER_INPUT', 'threshold');
  });

  it('rejects a batch size below 2', async () => {
    expectError(
      await curate({ discardFraction: 0.5, batchSize: 1 }),
      'BAD_USER_INPUT',
      'batchSize',
      '1',
    );
  });

  it('rejects unscored examples', async () => {
    const res = await curate({ discardFraction: 0.5 });
    expectError(res, 'BAD_USER_INPUT', 'no score', 'Run scoreDataset first');
  });

  it('rejects a version that is not READY', async () => {
    const queued = await start({ raterName: 'not-ready-curate' });
    const version = queued.data!.startMetaTraining.raterVersion!;
    const res = await curate({ raterVersionId: version.id, discardFraction: 0.5 });
    expectError(res, 'BAD_USER_INPUT', keyOf(version.id), 'QUEUED');
  });

  it('rejects an unknown dataset', async () => {
    const missing = crypto.randomUUID();
    expectError(
      await curate({ datasetId: globalId('Dataset', missing), discardFraction: 0.5 }),
      'NOT_FOUND',
      missing,
    );
  });
});

describe('evaluateCuration', () => {
  it('rejects an unknown curation', async () => {
    const missing = crypto.randomUUID();
    const res = await t.gql(EVALUATE, { input: { curationId: globalId('Curation', missing) } });
    expectError(res, 'NOT_FOUND', missing);
  });

  it('rejects an invalid budget', async () => {
    const source = await t.db.prisma.dataset.findFirstOrThrow({ where: { name: 'training' } });
    const curated = await t.db.prisma.dataset.create({ data: { name: 'curated-fixture' } });
    const curation = await t.db.prisma.curation.create({
      data: {
        sourceDatasetId: source.id,
        curatedDatasetId: curated.id,
        raterVersionId: keyOf(readyVersionId),
        strategy: 'BATCH_TOP_K',
        parameters: { split: 'TRAIN' },
        seed: 1,
        keptCount: 3,
      },
    });
    const curationId = globalId('Curation', curation.id);
    expectError(
      await t.gql(EVALUATE, { input: { curationId, steps: 10, evalEvery: 20 } }),
      'BAD_USER_INPUT',
      'evalEvery',
      '20',
    );
    expectError(
      await t.gql(EVALUATE, { input: { curationId, steps: 0 } }),
      'BAD_USER_INPUT',
      'steps',
      '0',
    );
  });
});

describe('cancelJob and retryJob', () => {
  it('cancels and retries a queued job', async () => {
    const queued = (await start({ raterName: 'cancel-me' })).data!.startMetaTraining;

    const retryQueued = await t.gql(RETRY, { id: queued.id });
    expectError(retryQueued, 'CONFLICT', keyOf(queued.id), 'QUEUED');

    const canceled = await t.gql<{ cancelJob: JobData }>(CANCEL, { id: queued.id });
    expect(canceled.errors).toBeUndefined();
    expect(canceled.data!.cancelJob.status).toBe('CANCELED');
    expect(canceled.data!.cancelJob.raterVersion?.status).toBe('CANCELED');

    const again = await t.gql<{ cancelJob: JobData }>(CANCEL, { id: queued.id });
    expect(again.data!.cancelJob.status).toBe('CANCELED');

    const retried = await t.gql<{ retryJob: JobData }>(RETRY, { id: queued.id });
    expect(retried.errors).toBeUndefined();
    expect(retried.data!.retryJob.status).toBe('QUEUED');
    expect(retried.data!.retryJob.raterVersion?.status).toBe('QUEUED');
  });

  it('rejects unknown jobs', async () => {
    const missing = crypto.randomUUID();
    expectError(await t.gql(CANCEL, { id: globalId('Job', missing) }), 'NOT_FOUND', missing);
    expectError(await t.gql(RETRY, { id: globalId('Job', missing) }), 'NOT_FOUND', missing);
    // An id whose key is not a UUID was never issued: invalid input, like an id of another type.
    const malformed = globalId('Job', 'not-a-uuid');
    expectError(await t.gql(CANCEL, { id: malformed }), 'BAD_USER_INPUT', malformed);
  });

  it('rejects canceling a finished job', async () => {
    const queued = (await start({ raterName: 'finished' })).data!.startMetaTraining;
    await t.db.pool.query(`UPDATE job SET status = 'SUCCEEDED' WHERE id = $1`, [keyOf(queued.id)]);
    expectError(await t.gql(CANCEL, { id: queued.id }), 'CONFLICT', 'SUCCEEDED');
    expectError(await t.gql(RETRY, { id: queued.id }), 'CONFLICT', 'SUCCEEDED');
  });
});
