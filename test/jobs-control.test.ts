// Job control with real worker processes: graceful shutdown on SIGTERM, cancel and retry of a
// running job, and a GPU-only job waiting while only CPU workers run.
import { createClient } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from './helpers/server.js';
import {
  createDataset,
  insertExamples,
  JOB_FIELDS,
  keyOf,
  readJob,
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
  t = await startTestServer('jobs_control', { workerStaleSeconds: STALE_SECONDS });
  datasetId = await createDataset(t, 'synthetic');
  await insertExamples(t, datasetId, syntheticExamples(300));
});

afterEach(async () => {
  for (const worker of workers.splice(0)) await stopProcess(worker);
});

afterAll(async () => {
  await t.close();
});

async function spawnWorker(): Promise<WorkerProcess> {
  const worker = await startWorkerProcess(t);
  workers.push(worker);
  return worker;
}

async function startTraining(
  raterName: string,
  config: object,
  backend: 'ANY' | 'CPU' | 'GPU' = 'ANY',
): Promise<JobData> {
  const res = await t.gql<{ startMetaTraining: JobData }>(
    `mutation ($input: StartMetaTrainingInput!) { startMetaTraining(input: $input) { ${JOB_FIELDS} } }`,
    { input: { raterName, trainingDatasetId: datasetId, config, seed: 9, backend } },
  );
  expect(res.errors).toBeUndefined();
  return res.data!.startMetaTraining;
}

/** Collects jobUpdated events (status, attempts, new curve steps) until the job ends. */
function watchJob(jobId: string): Promise<{ status: string; attempts: number; steps: number[] }[]> {
  const client = createClient({
    url: `${t.url.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
  });
  const events: { status: string; attempts: number; steps: number[] }[] = [];
  return new Promise((resolve, reject) => {
    client.subscribe<{
      jobUpdated: { job: { status: string; attempts: number }; trainingPoints: { step: number }[] };
    }>(
      {
        query: `subscription ($id: ID!) {
          jobUpdated(id: $id) { job { status attempts } trainingPoints { step } }
        }`,
        variables: { id: jobId },
      },
      {
        next: ({ data }) => {
          const { job, trainingPoints } = data!.jobUpdated;
          events.push({ ...job, steps: trainingPoints.map((point) => point.step) });
        },
        error: reject,
        complete: () => {
          void client.dispose();
          resolve(events);
        },
      },
    );
  });
}

async function curveLength(versionId: string): Promise<number> {
  const { rows } = await t.db.pool.query<{ n: number }>(
    'SELECT jsonb_array_length(training_curve) AS n FROM rater_version WHERE id = $1',
    [versionId],
  );
  return rows[0]!.n;
}

describe('worker shutdown', () => {
  it('checkpoints and requeues on SIGTERM', async () => {
    const first = await spawnWorker();
    // The checkpoint interval exceeds the steps run before the signal, so the only checkpoint
    // is the one written on shutdown.
    const job = await startTraining('sigterm', {
      ...TINY_CONFIG,
      outerSteps: 30,
      checkpointInterval: 25,
    });
    const versionId = keyOf(job.raterVersion!.id);
    await waitFor(async () => (await curveLength(versionId)) >= 3, 'three outer steps');

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const queued = await readJob(t, job.id);
    expect(queued.status).toBe('QUEUED');
    expect(queued.attempts).toBe(1);
    expect(queued.message).toMatch(/shut down at outer step \d+/);
    const checkpoint = await t.db.prisma.checkpoint.findUniqueOrThrow({
      where: { raterVersionId: versionId },
    });
    expect(queued.message).toContain(`at outer step ${checkpoint.step};`);
    expect(await curveLength(versionId)).toBe(checkpoint.step);

    // Follow the rest of the job over the websocket: its updates come from another process.
    const events = watchJob(job.id);
    await spawnWorker();
    const done = await waitForJob(t, job.id, (row) => row.status === 'SUCCEEDED', 120_000);
    expect(done.attempts).toBe(2);
    expect(done.result?.resumedFromStep).toBe(checkpoint.step);
    expect(await curveLength(versionId)).toBe(30);

    const received = await events;
    expect(received.at(-1)?.status).toBe('SUCCEEDED');
    expect(received.some((event) => event.status === 'RUNNING' && event.attempts === 2)).toBe(true);
    expect(received.flatMap((event) => event.steps)).toEqual(
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
  });
});

describe('cancel and retry', () => {
  it('stops a running job and resumes it on retry', async () => {
    const worker = await spawnWorker();
    const job = await startTraining('cancel-running', {
      ...TINY_CONFIG,
      outerSteps: 400,
      checkpointInterval: 2,
    });
    const versionId = keyOf(job.raterVersion!.id);
    await waitFor(async () => (await curveLength(versionId)) >= 4, 'four outer steps');

    const canceled = await t.gql<{ cancelJob: JobData }>(
      `mutation ($id: ID!) { cancelJob(id: $id) { ${JOB_FIELDS} } }`,
      { id: job.id },
    );
    expect(canceled.data?.cancelJob.status).toBe('CANCELED');
    expect(canceled.data?.cancelJob.raterVersion?.status).toBe('CANCELED');

    await waitFor(
      async () => worker.log().includes('"reason":"canceled"'),
      'the worker to stop the canceled attempt',
    );
    const stoppedAt = await curveLength(versionId);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await curveLength(versionId)).toBe(stoppedAt);
    expect((await readJob(t, job.id)).status).toBe('CANCELED');

    const retried = await t.gql<{ retryJob: JobData }>(
      `mutation ($id: ID!) { retryJob(id: $id) { ${JOB_FIELDS} } }`,
      { id: job.id },
    );
    expect(retried.data?.retryJob.status).toBe('QUEUED');
    const running = await waitForJob(t, job.id, (row) => row.status === 'RUNNING');
    expect(running.attempts).toBe(2);
    await waitFor(async () => (await curveLength(versionId)) > stoppedAt, 'more outer steps');
    const { rows } = await t.db.pool.query<{ steps: number[] }>(
      `SELECT array_agg((point->>'step')::int ORDER BY position) AS steps
         FROM rater_version, jsonb_array_elements(training_curve) WITH ORDINALITY p(point, position)
        WHERE id = $1`,
      [versionId],
    );
    const steps = rows[0]!.steps;
    expect(steps).toEqual(Array.from({ length: steps.length }, (_, i) => i + 1));

    const final = await t.gql<{ cancelJob: JobData }>(
      `mutation ($id: ID!) { cancelJob(id: $id) { ${JOB_FIELDS} } }`,
      { id: job.id },
    );
    expect(final.errors).toBeUndefined();
    expect(final.data?.cancelJob.status).toBe('CANCELED');
  });
});

describe('GPU queue', () => {
  it('waits for a GPU worker with a message', async () => {
    await spawnWorker();
    const job = await startTraining('gpu-only', { ...TINY_CONFIG, outerSteps: 2 }, 'GPU');
    expect(job.status).toBe('QUEUED');
    expect(job.message).toContain('Waiting for a GPU worker');
    expect(job.raterVersion?.config.backend).toBe('tensorflow');

    // A CPU worker polls every second and the sweeper runs every heartbeat: give both time.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const waiting = await readJob(t, job.id);
    expect(waiting.status).toBe('QUEUED');
    expect(waiting.attempts).toBe(0);
    expect(waiting.message).toContain('Waiting for a GPU worker');
    expect(waiting.message).toContain('@tensorflow/tfjs-node-gpu');

    const { rows } = await t.db.pool.query<{ gpu: boolean }>(
      'SELECT gpu FROM worker WHERE stopped_at IS NULL',
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((row) => !row.gpu)).toBe(true);
  });
});
