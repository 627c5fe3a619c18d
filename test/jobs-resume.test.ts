// Crash safety with real processes: a worker killed with SIGKILL mid-job, another worker resumes
// from the last checkpoint (meta-training) or the last committed window (scoring).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';
import {
  createDataset,
  insertExamples,
  JOB_FIELDS,
  keyOf,
  syntheticExamples,
  waitForJob,
  type JobData,
} from './jobs-fixtures.js';
import {
  STALE_SECONDS,
  startWorkerProcess,
  stopProcess,
  waitFor,
  type WorkerProcess,
} from './jobs-process.js';

const TINY_CONFIG = {
  sequenceLength: 64,
  raterWidth: 8,
  raterBlocks: 1,
  innerEmbeddingSize: 8,
  innerHidden: 16,
  innerBatchSize: 8,
  outerBatchSize: 8,
  populationSize: 1,
  probeSize: 16,
};

let t: TestServer;
let datasetId: string;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  // Scoring commits 100-example windows (the mutation stores the window size with the job).
  t = await startTestServer('jobs_resume', {
    workerStaleSeconds: STALE_SECONDS,
    scoreWindowSize: 100,
    scoreBatchSize: 50,
  });
  datasetId = await createDataset(t, 'synthetic');
  await insertExamples(t, datasetId, syntheticExamples(3000));
});

afterEach(async () => {
  for (const worker of workers.splice(0)) await stopProcess(worker);
});

afterAll(async () => {
  await t.close();
});

async function spawnWorker(env: Record<string, string> = {}): Promise<WorkerProcess> {
  const worker = await startWorkerProcess(t, env);
  workers.push(worker);
  return worker;
}

async function startTraining(raterName: string, config: object): Promise<JobData> {
  const res = await t.gql<{ startMetaTraining: JobData }>(
    `mutation ($input: StartMetaTrainingInput!) { startMetaTraining(input: $input) { ${JOB_FIELDS} } }`,
    { input: { raterName, trainingDatasetId: datasetId, config, seed: 5 } },
  );
  expect(res.errors).toBeUndefined();
  return res.data!.startMetaTraining;
}

async function curve(versionId: string): Promise<{ step: number; outerLoss: number }[]> {
  const { rows } = await t.db.pool.query<{ curve: { step: number; outerLoss: number }[] }>(
    'SELECT training_curve AS curve FROM rater_version WHERE id = $1',
    [versionId],
  );
  return rows[0]!.curve;
}

async function checkpointStep(versionId: string): Promise<number | null> {
  const row = await t.db.prisma.checkpoint.findUnique({ where: { raterVersionId: versionId } });
  return row?.step ?? null;
}

describe('SIGKILL mid-job', () => {
  it('resumes meta-training from its checkpoint', async () => {
    const first = await spawnWorker();
    const job = await startTraining('killed', {
      ...TINY_CONFIG,
      outerSteps: 40,
      checkpointInterval: 5,
    });
    const versionId = keyOf(job.raterVersion!.id);

    await waitFor(
      async () => ((await checkpointStep(versionId)) ?? 0) >= 10,
      'a checkpoint at step 10 or later',
    );
    first.child.kill('SIGKILL');
    await first.exited;
    const restoredStep = (await checkpointStep(versionId))!;
    const before = (await curve(versionId)).filter((point) => point.step <= restoredStep);

    await spawnWorker();
    const done = await waitForJob(t, job.id, (row) => row.status === 'SUCCEEDED', 120_000);

    expect(done.attempts).toBe(2);
    expect(done.raterVersion?.status).toBe('READY');
    expect(done.result?.resumedFromStep).toBe(restoredStep);

    const after = await curve(versionId);
    expect(after.map((point) => point.step)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(after.slice(0, before.length)).toEqual(before);
    expect(await checkpointStep(versionId)).toBeNull();
  });

  it('resumes scoring after its last window', async () => {
    // A wider rater scores slowly enough to be killed mid-job.
    const trainer = await spawnWorker();
    const training = await startTraining('scorer', {
      sequenceLength: 256,
      raterWidth: 48,
      raterBlocks: 3,
      innerBatchSize: 4,
      outerBatchSize: 4,
      populationSize: 1,
      probeSize: 8,
      outerSteps: 1,
    });
    const trained = await waitForJob(t, training.id, (row) => row.status === 'SUCCEEDED');
    await stopProcess(trainer);

    const first = await spawnWorker();
    const res = await t.gql<{ scoreDataset: JobData }>(
      `mutation ($v: ID!, $d: ID!) { scoreDataset(raterVersionId: $v, datasetId: $d) { ${JOB_FIELDS} } }`,
      { v: trained.raterVersion!.id, d: datasetId },
    );
    expect(res.errors).toBeUndefined();
    const job = res.data!.scoreDataset;
    const versionId = keyOf(trained.raterVersion!.id);

    const windows = async () => {
      const { rows } = await t.db.pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM score_range WHERE rater_version_id = $1',
        [versionId],
      );
      return rows[0]!.n;
    };
    await waitFor(async () => (await windows()) >= 3, 'three committed score windows').catch(
      async (error: Error) => {
        const state = await t.gql(`query ($id: ID!) { job(id: $id) { ${JOB_FIELDS} } }`, {
          id: job.id,
        });
        throw new Error(
          `${error.message}; job: ${JSON.stringify(state)}; log: ${first.log().slice(-3000)}`,
        );
      },
    );
    first.child.kill('SIGKILL');
    await first.exited;
    const committed = await windows();
    expect(committed).toBeLessThan(30);

    await spawnWorker();
    const done = await waitForJob(t, job.id, (row) => row.status === 'SUCCEEDED', 120_000);
    expect(done.attempts).toBe(2);
    expect(done.result?.resumedAfter).toBe(committed * 100);

    const { rows } = await t.db.pool.query<{ scores: number; distinct: number; examples: number }>(
      `SELECT count(*)::int AS scores, count(DISTINCT example_seq)::int AS distinct,
              (SELECT count(*)::int FROM example WHERE dataset_id = $2) AS examples
         FROM score WHERE rater_version_id = $1`,
      [versionId, keyOf(datasetId)],
    );
    expect(rows[0]!.scores).toBe(3000);
    expect(rows[0]!.distinct).toBe(3000);
    expect(rows[0]!.examples).toBe(3000);
    expect(done.result?.written).toBe(3000);
  });
});
