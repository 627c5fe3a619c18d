// The whole workflow through HTTP and websockets: import a slice of the SpamAssassin corpus,
// meta-train a rater, score, curate and evaluate, following every job with jobUpdated.
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadRater } from '../src/ml/index.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { globalId, JOB_FIELDS, keyOf, type JobData } from './jobs-fixtures.js';

/** A tiny engine config: one inner model, no worker threads, a few steps. */
const TINY_CONFIG = {
  sequenceLength: 64,
  raterWidth: 8,
  raterBlocks: 1,
  innerEmbeddingSize: 8,
  innerHidden: 16,
  innerBatchSize: 8,
  outerBatchSize: 8,
  populationSize: 1,
  outerSteps: 12,
  checkpointInterval: 4,
  probeSize: 16,
};

interface JobEvent {
  job: JobData;
  trainingPoints: { step: number; outerLoss: number; ess: number; skipped: boolean }[];
}

let t: TestServer;
let ws: Client;

beforeAll(async () => {
  t = await startTestServer('e2e', { inProcessWorker: true, scoreWindowSize: 64 });
  ws = createClient({
    url: `${t.url.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
  });
});

afterAll(async () => {
  await ws.dispose();
  await t.close();
});

/** Collects jobUpdated events of a job until the subscription completes (the job ended). */
function watch(jobId: string): Promise<JobEvent[]> {
  const events: JobEvent[] = [];
  return new Promise((resolve, reject) => {
    ws.subscribe<{ jobUpdated: JobEvent }>(
      {
        query: `subscription ($id: ID!) {
          jobUpdated(id: $id) {
            job { ${JOB_FIELDS} }
            trainingPoints { step outerLoss metaGradNorm ess scoreAutocorrelation skipped }
          }
        }`,
        variables: { id: jobId },
      },
      {
        next: (message) => {
          if (message.errors) reject(new Error(JSON.stringify(message.errors)));
          else events.push(message.data!.jobUpdated);
        },
        error: reject,
        complete: () => resolve(events),
      },
    );
  });
}

async function mutate<T>(query: string, variables: Record<string, unknown>): Promise<T> {
  const res = await t.gql<T>(query, variables);
  expect(res.errors).toBeUndefined();
  return res.data!;
}

describe('workflow', () => {
  let datasetId: string;
  let raterVersionId: string;
  let curationId: string;

  it('imports a corpus slice', async () => {
    const data = await mutate<{ importCorpus: { dataset: { id: string }; imported: number } }>(
      `mutation ($input: ImportCorpusInput!) {
         importCorpus(input: $input) { dataset { id } imported }
       }`,
      {
        input: {
          corpus: 'SPAM_ASSASSIN',
          datasetName: 'spam-slice',
          chunkBytes: 128,
          heldoutFraction: 0.25,
          maxMessages: 24,
        },
      },
    );
    datasetId = data.importCorpus.dataset.id;
    expect(data.importCorpus.imported).toBeGreaterThan(50);
  });

  it('meta-trains a rater', async () => {
    const data = await mutate<{ startMetaTraining: JobData }>(
      `mutation ($input: StartMetaTrainingInput!) { startMetaTraining(input: $input) { ${JOB_FIELDS} } }`,
      { input: { raterName: 'e2e', trainingDatasetId: datasetId, config: TINY_CONFIG, seed: 3 } },
    );
    const events = await watch(data.startMetaTraining.id);
    const last = events.at(-1)!;

    expect(last.job.status).toBe('SUCCEEDED');
    expect(last.job.progress).toBe(1);
    expect(last.job.raterVersion?.status).toBe('READY');
    raterVersionId = last.job.raterVersion!.id;

    const points = events.flatMap((event) => event.trainingPoints);
    expect(points.map((point) => point.step)).toEqual(
      Array.from({ length: TINY_CONFIG.outerSteps }, (_, i) => i + 1),
    );
    for (const point of points) expect(Number.isFinite(point.outerLoss)).toBe(true);
    expect(events.some((event) => event.job.status === 'RUNNING')).toBe(true);

    const version = await mutate<{
      raterVersion: {
        trainingCurve: { step: number }[];
        backend: string;
        metrics: { steps: number };
      };
    }>('query ($id: ID!) { raterVersion(id: $id) { trainingCurve { step } backend metrics } }', {
      id: raterVersionId,
    });
    expect(version.raterVersion.trainingCurve).toHaveLength(TINY_CONFIG.outerSteps);
    expect(version.raterVersion.backend).toBe('wasm');
    expect(version.raterVersion.metrics.steps).toBe(TINY_CONFIG.outerSteps);

    const checkpoints = await t.db.prisma.checkpoint.count();
    expect(checkpoints).toBe(0);
  });

  it('warm-starts a version from its parent', async () => {
    const data = await mutate<{ startMetaTraining: JobData }>(
      `mutation ($input: StartMetaTrainingInput!) { startMetaTraining(input: $input) { ${JOB_FIELDS} } }`,
      {
        input: {
          raterName: 'e2e',
          trainingDatasetId: datasetId,
          config: { ...TINY_CONFIG, outerSteps: 0 },
          parentVersionId: raterVersionId,
        },
      },
    );
    const last = (await watch(data.startMetaTraining.id)).at(-1)!.job;
    expect(last.status).toBe('SUCCEEDED');
    expect(last.raterVersion?.version).toBe(2);

    // With no outer steps the child's rater is the parent's: same scores on the same texts.
    const weights = await t.db.prisma.raterVersion.findMany({
      where: { id: { in: [keyOf(raterVersionId), keyOf(last.raterVersion!.id)] } },
      select: { id: true, weights: true },
    });
    const texts = [
      'Subject: hello',
      'R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==',
    ];
    const scores = await Promise.all(
      weights.map(async (row) => {
        const rater = await loadRater(row.weights!);
        const values = Array.from(await rater.score(texts));
        rater.dispose();
        return values;
      }),
    );
    expect(scores[0]).toEqual(scores[1]);

    const child = await mutate<{ raterVersion: { parentVersion: { id: string } } }>(
      'query ($id: ID!) { raterVersion(id: $id) { parentVersion { id } } }',
      { id: last.raterVersion!.id },
    );
    expect(child.raterVersion.parentVersion.id).toBe(raterVersionId);
  });

  it('rejects a warm start of another architecture', async () => {
    const res = await t.gql(
      `mutation ($input: StartMetaTrainingInput!) { startMetaTraining(input: $input) { id } }`,
      {
        input: {
          raterName: 'e2e',
          trainingDatasetId: datasetId,
          config: { ...TINY_CONFIG, raterWidth: 12 },
          parentVersionId: raterVersionId,
        },
      },
    );
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.message).toContain('raterWidth');
  });

  it('scores every example once', async () => {
    const data = await mutate<{ scoreDataset: JobData }>(
      `mutation ($v: ID!, $d: ID!) { scoreDataset(raterVersionId: $v, datasetId: $d) { ${JOB_FIELDS} } }`,
      { v: raterVersionId, d: datasetId },
    );
    const events = await watch(data.scoreDataset.id);
    expect(events.at(-1)!.job.status).toBe('SUCCEEDED');

    const { rows } = await t.db.pool.query<{ examples: number; scores: number; distinct: number }>(
      `SELECT (SELECT count(*)::int FROM example WHERE dataset_id = $1) AS examples,
              (SELECT count(*)::int FROM score WHERE rater_version_id = $2) AS scores,
              (SELECT count(DISTINCT example_seq)::int FROM score WHERE rater_version_id = $2)
                AS distinct`,
      [keyOf(datasetId), keyOf(raterVersionId)],
    );
    expect(rows[0]!.scores).toBe(rows[0]!.examples);
    expect(rows[0]!.distinct).toBe(rows[0]!.examples);

    const summary = await mutate<{
      scoreSummary: { count: number; histogram: { counts: number[] } };
    }>(
      `query ($v: ID!, $d: ID!) {
         scoreSummary(raterVersionId: $v, datasetId: $d) { count histogram { counts } }
       }`,
      { v: raterVersionId, d: datasetId },
    );
    expect(summary.scoreSummary.count).toBe(rows[0]!.examples);
    const binned = summary.scoreSummary.histogram.counts.reduce((a, b) => a + b, 0);
    expect(binned).toBe(rows[0]!.examples);
  });

  it('curates the TRAIN split', async () => {
    const data = await mutate<{ curateDataset: JobData }>(
      `mutation ($input: CurateDatasetInput!) { curateDataset(input: $input) { ${JOB_FIELDS} } }`,
      {
        input: {
          datasetId,
          raterVersionId,
          strategy: 'BATCH_TOP_K',
          discardFraction: 0.25,
          batchSize: 16,
          name: 'spam-slice-curated',
        },
      },
    );
    const events = await watch(data.curateDataset.id);
    const last = events.at(-1)!.job;
    expect(last.status).toBe('SUCCEEDED');
    curationId = last.curation!.id;

    const curated = await mutate<{
      curation: { keptCount: number; curatedDataset: { counts: { total: number } } };
      dataset: { counts: { train: number } };
    }>(
      `query ($c: ID!, $d: ID!) {
         curation(id: $c) { keptCount curatedDataset { counts { total } } }
         dataset(id: $d) { counts { train } }
       }`,
      { c: curationId, d: datasetId },
    );
    const train = curated.dataset.counts.train;
    expect(curated.curation.curatedDataset.counts.total).toBe(curated.curation.keptCount);
    expect(curated.curation.keptCount).toBeGreaterThan(0.7 * train);
    expect(curated.curation.keptCount).toBeLessThan(0.8 * train);
  });

  it('scores a curated dataset through its members', async () => {
    const curated = await mutate<{
      curation: { keptCount: number; curatedDataset: { id: string } };
    }>('query ($c: ID!) { curation(id: $c) { keptCount curatedDataset { id } } }', {
      c: curationId,
    });
    const data = await mutate<{ scoreDataset: JobData }>(
      `mutation ($v: ID!, $d: ID!) { scoreDataset(raterVersionId: $v, datasetId: $d) { ${JOB_FIELDS} } }`,
      { v: raterVersionId, d: curated.curation.curatedDataset.id },
    );
    const last = (await watch(data.scoreDataset.id)).at(-1)!.job;
    expect(last.status).toBe('SUCCEEDED');
    // Every member was scored through the source dataset, so nothing new is written.
    expect(last.result?.written).toBe(0);
    expect((last.result?.summary as { count: number }).count).toBe(curated.curation.keptCount);
  });

  it('fails a job for good on corrupt weights', async () => {
    const rater = await t.db.prisma.rater.create({ data: { name: 'corrupt' } });
    const version = await t.db.prisma.raterVersion.create({
      data: {
        raterId: rater.id,
        version: 1,
        status: 'READY',
        config: {},
        weights: Buffer.from('junk'),
      },
    });
    const data = await mutate<{ scoreDataset: JobData }>(
      `mutation ($v: ID!, $d: ID!) { scoreDataset(raterVersionId: $v, datasetId: $d) { ${JOB_FIELDS} } }`,
      { v: globalId('RaterVersion', version.id), d: datasetId },
    );
    const last = (await watch(data.scoreDataset.id)).at(-1)!.job;
    expect(last.status).toBe('FAILED');
    expect(last.attempts).toBe(1);
    expect(last.error).toBeTruthy();
  });

  it('evaluates the curation', async () => {
    const data = await mutate<{ evaluateCuration: JobData }>(
      `mutation ($input: EvaluateCurationInput!) { evaluateCuration(input: $input) { ${JOB_FIELDS} } }`,
      { input: { curationId, steps: 20, batchSize: 8, evalEvery: 10, seed: 2 } },
    );
    const events = await watch(data.evaluateCuration.id);
    const last = events.at(-1)!.job;
    expect(last.status).toBe('SUCCEEDED');

    const result = last.evaluation!.result as {
      curves: Record<string, { steps: number[]; heldoutLoss: number[] }>;
      finalLoss: Record<string, number>;
    };
    for (const run of ['baseline', 'curated', 'randomDrop']) {
      expect(result.curves[run]!.steps).toEqual([0, 10, 20]);
      expect(Number.isFinite(result.finalLoss[run])).toBe(true);
    }
    expect(result).toHaveProperty('computeGain');
    expect(result).toHaveProperty('computeGainVsRandomDrop');
  });
});

describe('jobUpdated errors', () => {
  it('names an unknown job with NOT_FOUND', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    const errors = await new Promise<unknown[]>((resolve) => {
      ws.subscribe(
        {
          query: 'subscription ($id: ID!) { jobUpdated(id: $id) { job { id } } }',
          variables: { id: globalId('Job', missing) },
        },
        {
          next: (message) => resolve((message.errors ?? []) as unknown[]),
          error: (error) => resolve(Array.isArray(error) ? error : [error]),
          complete: () => resolve([]),
        },
      );
    });
    const [error] = errors as { message: string; extensions?: { code?: string } }[];
    expect(error?.extensions?.code).toBe('NOT_FOUND');
    expect(error?.message).toContain(missing);
  });
});
