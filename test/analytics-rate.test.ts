// rateExamples: on-demand scoring with a stored rater version, against the engine's own scores
// of each text alone, plus the input limits and the rater cache.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toGlobalId } from '../src/graphql/ids.js';
import { Prng } from '../src/ml/prng.js';
import { initParams } from '../src/ml/models/params.js';
import { raterParamSpecs, type RaterArchitecture } from '../src/ml/models/rater.js';
import { loadRater, packRater } from '../src/ml/scoring.js';
import { tf } from '../src/ml/tf.js';
import { loadRaterWeights } from '../src/services/engine.js';
import { MAX_RATE_TEXTS, RaterCache } from '../src/services/rate-examples.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { insertRaterVersion } from './analytics-fixtures.js';

const ARCHITECTURE: RaterArchitecture = {
  sequenceLength: 32,
  raterWidth: 8,
  raterBlocks: 1,
  raterKernelSize: 3,
  raterActivation: 'gelu',
  raterPoolTemperature: 1,
};

const QUERY = `query ($v: ID!, $texts: [String!]!) {
  rateExamples(raterVersionId: $v, texts: $texts)
}`;

let t: TestServer;
let weights: Uint8Array;
let versionId: string;

/** Serialized rater weights drawn from a seeded generator. */
function raterBytes(seed: number): Uint8Array {
  const params = initParams(raterParamSpecs(ARCHITECTURE), new Prng(seed));
  return packRater(ARCHITECTURE, params, { trainingConfig: null, step: 0 });
}

beforeAll(async () => {
  t = await startTestServer('analytics_rate');
  weights = raterBytes(3);
  versionId = await insertRaterVersion(t.db, 'rate-rater', { weights });
});
afterAll(async () => {
  await t.close();
});

describe('rateExamples', () => {
  it('matches the engine on each text alone', async () => {
    const texts = Array.from({ length: 150 }, (_, i) =>
      i % 3 === 0 ? `Plain prose number ${i}.` : `<<${'#'.repeat(i % 17)}>> ${i} ÄÖÜ`,
    );
    const res = await t.gql<{ rateExamples: number[] }>(QUERY, {
      v: toGlobalId('RaterVersion', versionId),
      texts,
    });
    expect(res.errors).toBeUndefined();
    const scores = res.data!.rateExamples;

    const rater = await loadRater(weights);
    try {
      expect(scores).toHaveLength(texts.length);
      for (const [i, text] of texts.entries()) {
        const alone = (await rater.score([text]))[0]!;
        expect(Math.fround(scores[i]!)).toBe(alone);
      }
    } finally {
      rater.dispose();
    }
  });

  it('returns an empty list for no texts', async () => {
    const res = await t.gql(QUERY, { v: toGlobalId('RaterVersion', versionId), texts: [] });
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({ rateExamples: [] });
  });

  it('rejects more texts than the limit', async () => {
    const texts = Array.from({ length: MAX_RATE_TEXTS + 1 }, () => 'x');
    const res = await t.gql(QUERY, { v: toGlobalId('RaterVersion', versionId), texts });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.message).toContain(String(MAX_RATE_TEXTS + 1));
  });

  it('rejects a version that is not READY', async () => {
    const queued = await insertRaterVersion(t.db, 'rate-rater', { status: 'QUEUED' });
    const res = await t.gql(QUERY, { v: toGlobalId('RaterVersion', queued), texts: ['a'] });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.message).toContain('QUEUED');
  });

  it('rejects an unknown version with NOT_FOUND', async () => {
    const missing = '00000000-0000-4000-8000-0000000000aa';
    const res = await t.gql(QUERY, { v: toGlobalId('RaterVersion', missing), texts: ['a'] });
    expect(res.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(res.errors?.[0]?.message).toContain(missing);
  });
});

describe('RaterCache', () => {
  it('evicts the least recently used rater', async () => {
    const cache = new RaterCache(2);
    const bytes = [raterBytes(11), raterBytes(12), raterBytes(13)];
    const score = (key: number) =>
      cache.withRater(
        String(key),
        () => loadRaterWeights(bytes[key]!),
        (rater) => rater.score(['text'], 1),
      );

    await score(0);
    await score(1);
    await score(0);
    await score(2);
    expect(cache.keys()).toEqual(['0', '2']);
    cache.clear();
    expect(cache.keys()).toEqual([]);
  });

  it('frees the tensors of evicted raters', async () => {
    const cache = new RaterCache(1);
    const bytes = [raterBytes(21), raterBytes(22)];
    const score = (key: number) =>
      cache.withRater(
        String(key),
        () => loadRaterWeights(bytes[key]!),
        (rater) => rater.score(['text'], 1),
      );

    await score(0);
    const withOne = tf.memory().numTensors;
    for (let round = 0; round < 3; round++) {
      await score(1);
      await score(0);
    }
    // Eviction disposes asynchronously after the load promise settles.
    await new Promise((resolve) => setImmediate(resolve));
    expect(tf.memory().numTensors).toBe(withOne);
    cache.clear();
  });

  it('keeps a rater in use until its call ends', async () => {
    const cache = new RaterCache(1);
    const bytes = [raterBytes(31), raterBytes(32)];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));

    const slow = cache.withRater(
      '0',
      () => loadRaterWeights(bytes[0]!),
      async (rater) => {
        await gate;
        return rater.score(['still loaded'], 1);
      },
    );
    // Loading another version evicts version 0 while the slow call still uses it.
    await cache.withRater(
      '1',
      () => loadRaterWeights(bytes[1]!),
      (rater) => rater.score(['other'], 1),
    );
    release();
    const scores = await slow;
    expect(scores).toHaveLength(1);
    expect(Number.isFinite(scores[0])).toBe(true);
    cache.clear();
  });
});
