// Score analytics over GraphQL, against statistics computed in this file from scores inserted
// directly into the score table.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toGlobalId } from '../src/graphql/ids.js';
import { computeScoreSummary } from '../src/services/score-stats.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import {
  asPrintedReal,
  insertCuration,
  insertDataset,
  insertExamples,
  insertRaterVersion,
  insertScores,
  seededRandom,
} from './analytics-fixtures.js';

const N = 300;
const SOURCES = ['web', 'mail', null];

let t: TestServer;
let datasetId: string;
let baseVersion: string;
let otherVersion: string;
let texts: string[];
let seqs: number[];
/** Stored (float32) scores of `seqs` under each version. */
let baseScores: number[];
let otherScores: number[];

beforeAll(async () => {
  t = await startTestServer('analytics');
  const { db } = t;
  datasetId = await insertDataset(db, 'analytics');
  baseVersion = await insertRaterVersion(db, 'analytics-rater');
  otherVersion = await insertRaterVersion(db, 'analytics-rater');

  const random = seededRandom(11);
  texts = Array.from({ length: N }, (_, i) => randomText(random, i));
  seqs = await insertExamples(
    db,
    datasetId,
    texts.map((text, i) => ({
      text,
      source: SOURCES[i % SOURCES.length],
      split: i % 5 === 0 ? 'HELDOUT' : 'TRAIN',
    })),
  );

  // Scores rounded to 0.05 so that many tie; the other version is a noisy copy of the base.
  baseScores = texts.map((text) =>
    Math.fround(Math.round((Math.log(text.length) / 3 + random() * 0.5) * 20) / 20),
  );
  otherScores = baseScores.map((score) =>
    Math.fround(Math.round((score + (random() - 0.5) * 0.6) * 20) / 20),
  );
  await insertScores(db, baseVersion, datasetId, seqs, baseScores);
  await insertScores(db, otherVersion, datasetId, seqs, otherScores);
  await computeScoreSummary(db, baseVersion, datasetId);
});
afterAll(async () => {
  await t.close();
});

/** Text with varied length, case, punctuation, lines and non-ASCII characters. */
function randomText(random: () => number, i: number): string {
  const words = ['data', 'Rater', 'SCORE', 'filter', 'été', '日本', 'x', '!!', '#$%', 'ok'];
  const count = 1 + Math.floor(random() * 40);
  const parts: string[] = [`t${i}`];
  for (let k = 0; k < count; k++) {
    parts.push(words[Math.floor(random() * words.length)]!);
    if (random() < 0.1) parts.push('\n');
  }
  return parts.join(' ');
}

const gid = {
  dataset: (id: string) => toGlobalId('Dataset', id),
  version: (id: string) => toGlobalId('RaterVersion', id),
};

function exactQuantile(sorted: readonly number[], q: number): number {
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.min(lower + 1, sorted.length - 1);
  return sorted[lower]! + (position - lower) * (sorted[upper]! - sorted[lower]!);
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

function pearsonReference(x: readonly number[], y: readonly number[]): number {
  const mx = mean(x);
  const my = mean(y);
  const sxy = x.reduce((sum, xi, i) => sum + (xi - mx) * (y[i]! - my), 0);
  const sxx = x.reduce((sum, xi) => sum + (xi - mx) ** 2, 0);
  const syy = y.reduce((sum, yi) => sum + (yi - my) ** 2, 0);
  return sxy / Math.sqrt(sxx * syy);
}

/** Ranks with 1 for the largest value and tied values sharing their average rank. */
function averageRanksDescending(values: readonly number[]): number[] {
  return values.map((value) => {
    const greater = values.filter((other) => other > value).length;
    const equal = values.filter((other) => other === value).length;
    return greater + (equal + 1) / 2;
  });
}

/** Kendall's tau-b from its definition: (C - D) / sqrt((n0 - n1)(n0 - n2)). */
function kendallReference(x: readonly number[], y: readonly number[]): number {
  let concordant = 0;
  let discordant = 0;
  let tiedX = 0;
  let tiedY = 0;
  let pairs = 0;
  for (let i = 0; i < x.length; i++) {
    for (let j = 0; j < i; j++) {
      pairs++;
      const dx = x[i]! - x[j]!;
      const dy = y[i]! - y[j]!;
      if (dx === 0) tiedX++;
      if (dy === 0) tiedY++;
      if (dx * dy > 0) concordant++;
      if (dx * dy < 0) discordant++;
    }
  }
  return (concordant - discordant) / Math.sqrt((pairs - tiedX) * (pairs - tiedY));
}

describe('scoreAnalytics', () => {
  const QUERY = `query ($v: ID!, $d: ID!, $bins: Int, $qs: [Float!]!) {
    scoreAnalytics(raterVersionId: $v, datasetId: $d) {
      count mean std min max computedAt
      histogram(bins: $bins) { edges counts }
      quantiles(qs: $qs) { q value maxError }
      bySource { value count mean quantiles(qs: [0.5]) { value maxError } }
      byLabel { value count }
      omittedSourceCount
      raterVersion { version }
      dataset { name }
    }
  }`;
  type Analytics = {
    count: number;
    mean: number;
    std: number;
    min: number;
    max: number;
    histogram: { edges: number[]; counts: number[] };
    quantiles: { q: number; value: number; maxError: number }[];
    bySource: {
      value: string | null;
      count: number;
      mean: number;
      quantiles: { value: number; maxError: number }[];
    }[];
    byLabel: { value: string | null; count: number }[];
    omittedSourceCount: number;
    raterVersion: { version: number };
    dataset: { name: string };
  };

  it('returns the summary statistics', async () => {
    const res = await t.gql<{ scoreAnalytics: Analytics }>(QUERY, {
      v: gid.version(baseVersion),
      d: gid.dataset(datasetId),
      qs: [],
    });
    expect(res.errors).toBeUndefined();
    const analytics = res.data!.scoreAnalytics;
    const m = mean(baseScores);
    expect(analytics.count).toBe(N);
    expect(analytics.mean).toBeCloseTo(m, 9);
    expect(analytics.std).toBeCloseTo(
      Math.sqrt(mean(baseScores.map((score) => (score - m) ** 2))),
      9,
    );
    expect(analytics.min).toBe(asPrintedReal(Math.min(...baseScores)));
    expect(analytics.max).toBe(asPrintedReal(Math.max(...baseScores)));
    expect(analytics.raterVersion.version).toBe(1);
    expect(analytics.dataset.name).toBe('analytics');
  });

  it('re-bins the histogram', async () => {
    const res = await t.gql<{ scoreAnalytics: Analytics }>(QUERY, {
      v: gid.version(baseVersion),
      d: gid.dataset(datasetId),
      bins: 8,
      qs: [],
    });
    const { edges, counts } = res.data!.scoreAnalytics.histogram;
    const min = Math.min(...baseScores);
    const max = Math.max(...baseScores);

    // 8 divides 1000, so the re-binned counts are exact.
    const expected = new Array<number>(8).fill(0);
    for (const score of baseScores) {
      expected[Math.min(7, Math.floor(((score - min) / (max - min)) * 8))]! += 1;
    }
    expect(counts).toEqual(expected);
    expect(edges).toHaveLength(9);
    expect(edges[0]).toBe(asPrintedReal(min));
    expect(edges[8]).toBe(asPrintedReal(max));
  });

  it('interpolates quantiles within maxError', async () => {
    const qs = [0, 0.1, 0.25, 0.3141, 0.5, 0.75, 0.9, 0.99, 1];
    const res = await t.gql<{ scoreAnalytics: Analytics }>(QUERY, {
      v: gid.version(baseVersion),
      d: gid.dataset(datasetId),
      qs,
    });
    const sorted = [...baseScores].sort((a, b) => a - b);
    const quantiles = res.data!.scoreAnalytics.quantiles;

    expect(quantiles.map((quantile) => quantile.q)).toEqual(qs);
    for (const quantile of quantiles) {
      const exact = exactQuantile(sorted, quantile.q);
      expect(Math.abs(quantile.value - exact)).toBeLessThanOrEqual(quantile.maxError + 1e-9);
    }
    const median = quantiles.find((quantile) => quantile.q === 0.5)!;
    expect(median.maxError).toBe(0);
    expect(median.value).toBeCloseTo(exactQuantile(sorted, 0.5), 9);
  });

  it('returns statistics per source', async () => {
    const res = await t.gql<{ scoreAnalytics: Analytics }>(QUERY, {
      v: gid.version(baseVersion),
      d: gid.dataset(datasetId),
      qs: [],
    });
    const { bySource, byLabel, omittedSourceCount } = res.data!.scoreAnalytics;

    expect(bySource).toHaveLength(3);
    expect(omittedSourceCount).toBe(0);
    for (const group of bySource) {
      const values = baseScores.filter((_, i) => SOURCES[i % SOURCES.length] === group.value);
      expect(group.count).toBe(values.length);
      expect(group.mean).toBeCloseTo(mean(values), 9);
      expect(group.quantiles[0]!.value).toBeCloseTo(
        exactQuantile(
          [...values].sort((a, b) => a - b),
          0.5,
        ),
        9,
      );
      expect(group.quantiles[0]!.maxError).toBe(0);
    }
    expect(byLabel).toEqual([{ value: null, count: N }]);
  });

  it('returns null without a summary', async () => {
    const res = await t.gql(QUERY, {
      v: gid.version(otherVersion),
      d: gid.dataset(datasetId),
      qs: [],
    });
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({ scoreAnalytics: null });
  });

  it('rejects unknown ids with NOT_FOUND', async () => {
    const missing = '00000000-0000-4000-8000-000000000001';
    const res = await t.gql(QUERY, { v: gid.version(missing), d: gid.dataset(datasetId), qs: [] });
    expect(res.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(res.errors?.[0]?.message).toContain(missing);

    const noDataset = await t.gql(QUERY, {
      v: gid.version(baseVersion),
      d: gid.dataset(missing),
      qs: [],
    });
    expect(noDataset.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(noDataset.errors?.[0]?.message).toContain(missing);
  });

  it('rejects invalid arguments with BAD_USER_INPUT', async () => {
    const variables = { v: gid.version(baseVersion), d: gid.dataset(datasetId) };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...variables, bins: 0, qs: [] }, 'bins=0'],
      [{ ...variables, bins: 1001, qs: [] }, 'bins=1001'],
      [{ ...variables, qs: [1.2] }, '1.2'],
      [{ ...variables, d: gid.version(baseVersion), qs: [] }, 'datasetId'],
    ];
    for (const [caseVariables, fragment] of cases) {
      const res = await t.gql(QUERY, caseVariables);
      expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.message).toContain(fragment);
    }
  });
});

describe('scoredExamples', () => {
  const QUERY = `query ($v: ID!, $d: ID!, $order: ScoreOrder, $min: Float, $max: Float, $split: Split,
                        $first: Int, $after: String, $last: Int, $before: String) {
    scoredExamples(raterVersionId: $v, datasetId: $d, order: $order, minScore: $min,
                   maxScore: $max, split: $split, first: $first, after: $after, last: $last,
                   before: $before) {
      edges { cursor score node { id text } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }`;
  type Page = {
    edges: { cursor: string; score: number; node: { id: string; text: string } }[];
    pageInfo: {
      hasNextPage: boolean;
      hasPreviousPage: boolean;
      startCursor: string | null;
      endCursor: string | null;
    };
  };

  /** (seq, score) of the base version in the listed order, computed here. */
  function expectedOrder(
    order: 'ASC' | 'DESC',
    keep: (score: number, i: number) => boolean = () => true,
  ) {
    const rows = seqs
      .map((seq, i) => ({ seq, score: baseScores[i]!, i }))
      .filter((row) => keep(row.score, row.i));
    const sign = order === 'ASC' ? 1 : -1;
    rows.sort((a, b) => sign * (a.score - b.score) || sign * (a.seq - b.seq));
    return rows.map((row) => ({
      id: toGlobalId('Example', row.seq),
      score: asPrintedReal(row.score),
    }));
  }

  async function readAll(
    variables: Record<string, unknown>,
    pageSize: number,
    direction: 'forward' | 'backward',
  ) {
    const rows: { id: string; score: number }[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 1000; pages++) {
      const res: { data?: { scoredExamples: Page }; errors?: unknown } = await t.gql<{
        scoredExamples: Page;
      }>(QUERY, {
        v: gid.version(baseVersion),
        d: gid.dataset(datasetId),
        ...variables,
        ...(direction === 'forward'
          ? { first: pageSize, after: cursor }
          : { last: pageSize, before: cursor }),
      });
      expect(res.errors).toBeUndefined();
      const page = res.data!.scoredExamples;
      const edges = page.edges.map((edge) => ({ id: edge.node.id, score: edge.score }));
      if (direction === 'forward') {
        rows.push(...edges);
        if (!page.pageInfo.hasNextPage) break;
        cursor = page.pageInfo.endCursor;
      } else {
        rows.unshift(...edges);
        if (!page.pageInfo.hasPreviousPage) break;
        cursor = page.pageInfo.startCursor;
      }
    }
    return rows;
  }

  it('pages top-k through ties without skips or repeats', async () => {
    const rows = await readAll({ order: 'DESC' }, 7, 'forward');
    expect(rows).toEqual(expectedOrder('DESC'));
    expect(new Set(rows.map((row) => row.id)).size).toBe(N);
  });

  it('pages bottom-k backward through ties', async () => {
    const rows = await readAll({ order: 'ASC' }, 11, 'backward');
    expect(rows).toEqual(expectedOrder('ASC'));
  });

  it('lists the top and bottom k', async () => {
    const top = await t.gql<{ scoredExamples: Page }>(QUERY, {
      v: gid.version(baseVersion),
      d: gid.dataset(datasetId),
      first: 5,
    });
    expect(top.data!.scoredExamples.edges.map((edge) => edge.node.id)).toEqual(
      expectedOrder('DESC')
        .slice(0, 5)
        .map((row) => row.id),
    );
    expect(top.data!.scoredExamples.pageInfo.hasPreviousPage).toBe(false);

    const bottom = await t.gql<{ scoredExamples: Page }>(QUERY, {
      v: gid.version(baseVersion),
      d: gid.dataset(datasetId),
      order: 'ASC',
      first: 5,
    });
    expect(bottom.data!.scoredExamples.edges.map((edge) => edge.node.id)).toEqual(
      expectedOrder('ASC')
        .slice(0, 5)
        .map((row) => row.id),
    );
  });

  it('filters a score range and a split', async () => {
    const [low, high] = [
      exactQuantile(
        [...baseScores].sort((a, b) => a - b),
        0.3,
      ),
      exactQuantile(
        [...baseScores].sort((a, b) => a - b),
        0.6,
      ),
    ];
    const rows = await readAll(
      { order: 'ASC', min: low, max: high, split: 'TRAIN' },
      13,
      'forward',
    );
    expect(rows).toEqual(
      expectedOrder('ASC', (score, i) => score >= low! && score <= high! && i % 5 !== 0),
    );
    expect(rows.length).toBeGreaterThan(0);
  });

  it('sets hasPreviousPage after a cursor', async () => {
    const first = await t.gql<{ scoredExamples: Page }>(QUERY, {
      v: gid.version(baseVersion),
      d: gid.dataset(datasetId),
      first: 3,
    });
    const second = await t.gql<{ scoredExamples: Page }>(QUERY, {
      v: gid.version(baseVersion),
      d: gid.dataset(datasetId),
      first: 3,
      after: first.data!.scoredExamples.pageInfo.endCursor,
    });
    expect(second.data!.scoredExamples.pageInfo.hasPreviousPage).toBe(true);
    expect(second.data!.scoredExamples.pageInfo.hasNextPage).toBe(true);
  });

  it('lists a curated dataset by membership', async () => {
    const kept = seqs.filter((_, i) => i % 3 === 0);
    const { curatedDatasetId } = await insertCuration(
      t.db,
      datasetId,
      baseVersion,
      'analytics-kept',
      kept,
    );
    const res = await t.gql<{ scoredExamples: Page }>(QUERY, {
      v: gid.version(baseVersion),
      d: gid.dataset(curatedDatasetId),
      first: 1000,
    });
    expect(res.data!.scoredExamples.edges.map((edge) => edge.node.id)).toEqual(
      expectedOrder('DESC', (_, i) => i % 3 === 0).map((row) => row.id),
    );
  });

  it('rejects an inverted range and a foreign cursor', async () => {
    const inverted = await t.gql(QUERY, {
      v: gid.version(baseVersion),
      d: gid.dataset(datasetId),
      min: 2,
      max: 1,
    });
    expect(inverted.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(inverted.errors?.[0]?.message).toContain('minScore=2');

    const foreign = await t.gql(QUERY, {
      v: gid.version(baseVersion),
      d: gid.dataset(datasetId),
      after: Buffer.from('["a"]').toString('base64url'),
    });
    expect(foreign.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('compareRaterVersions', () => {
  const QUERY = `query ($d: ID!, $a: ID!, $b: ID!, $discard: Float, $changes: Int, $sample: Int) {
    compareRaterVersions(datasetId: $d, baseVersionId: $a, otherVersionId: $b,
                         discardFraction: $discard, rankChanges: $changes,
                         kendallSampleSize: $sample) {
      count spearman kendall kendallSampleSize discardFraction keptCount overlapCount
      overlapFraction
      rankChanges { example { id } baseScore otherScore baseRank otherRank }
      baseVersion { version } otherVersion { version }
    }
  }`;
  type Comparison = {
    count: number;
    spearman: number;
    kendall: number;
    kendallSampleSize: number;
    keptCount: number;
    overlapCount: number;
    overlapFraction: number;
    rankChanges: {
      example: { id: string };
      baseScore: number;
      otherScore: number;
      baseRank: number;
      otherRank: number;
    }[];
    baseVersion: { version: number };
    otherVersion: { version: number };
  };

  it('matches reference correlations and overlaps', async () => {
    const res = await t.gql<{ compareRaterVersions: Comparison }>(QUERY, {
      d: gid.dataset(datasetId),
      a: gid.version(baseVersion),
      b: gid.version(otherVersion),
      discard: 0.3,
      changes: 5,
      sample: 5000,
    });
    expect(res.errors).toBeUndefined();
    const comparison = res.data!.compareRaterVersions;
    const baseRanks = averageRanksDescending(baseScores);
    const otherRanks = averageRanksDescending(otherScores);

    expect(comparison.count).toBe(N);
    expect(comparison.spearman).toBeCloseTo(pearsonReference(baseRanks, otherRanks), 9);
    expect(comparison.kendallSampleSize).toBe(N);
    expect(comparison.kendall).toBeCloseTo(kendallReference(baseScores, otherScores), 9);
    expect(comparison.baseVersion.version).toBe(1);
    expect(comparison.otherVersion.version).toBe(2);

    // Each keeps its N - floor(0.3 N) highest scores, ties broken by the larger seq.
    const keptCount = N - Math.floor(0.3 * N);
    const keptBy = (scores: number[]) =>
      new Set(
        seqs
          .map((seq, i) => ({ seq, score: scores[i]! }))
          .sort((a, b) => b.score - a.score || b.seq - a.seq)
          .slice(0, keptCount)
          .map((row) => row.seq),
      );
    const keptBase = keptBy(baseScores);
    const keptOther = keptBy(otherScores);
    const overlap = [...keptBase].filter((seq) => keptOther.has(seq)).length;
    expect(comparison.keptCount).toBe(keptCount);
    expect(comparison.overlapCount).toBe(overlap);
    expect(comparison.overlapFraction).toBeCloseTo(overlap / keptCount, 12);

    const largestChange = Math.max(...baseRanks.map((rank, i) => Math.abs(rank - otherRanks[i]!)));
    expect(comparison.rankChanges).toHaveLength(5);
    const first = comparison.rankChanges[0]!;
    expect(Math.abs(first.baseRank - first.otherRank)).toBeCloseTo(largestChange, 9);
    const index = seqs.findIndex((seq) => toGlobalId('Example', seq) === first.example.id);
    expect(first.baseRank).toBeCloseTo(baseRanks[index]!, 9);
    expect(first.otherRank).toBeCloseTo(otherRanks[index]!, 9);
    expect(first.baseScore).toBe(asPrintedReal(baseScores[index]!));
    expect(first.otherScore).toBe(asPrintedReal(otherScores[index]!));
  });

  it('computes Kendall on a seeded sample', async () => {
    const variables = {
      d: gid.dataset(datasetId),
      a: gid.version(baseVersion),
      b: gid.version(otherVersion),
      sample: 50,
    };
    const first = await t.gql<{ compareRaterVersions: Comparison }>(QUERY, variables);
    const again = await t.gql<{ compareRaterVersions: Comparison }>(QUERY, variables);
    expect(first.data!.compareRaterVersions.kendallSampleSize).toBe(50);
    expect(again.data!.compareRaterVersions.kendall).toBe(first.data!.compareRaterVersions.kendall);
  });

  it('rejects an invalid discard fraction', async () => {
    const res = await t.gql(QUERY, {
      d: gid.dataset(datasetId),
      a: gid.version(baseVersion),
      b: gid.version(otherVersion),
      discard: 1,
    });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.message).toContain('discardFraction=1');
  });
});

describe('raterReport', () => {
  const QUERY = `query ($v: ID!, $d: ID!, $size: Int) {
    raterReport(raterVersionId: $v, datasetId: $d, sampleSize: $size) {
      sampleSize seed rSquared adjustedRSquared
      features { feature mean pearson coefficient }
    }
  }`;
  type Report = {
    sampleSize: number;
    rSquared: number;
    adjustedRSquared: number;
    features: { feature: string; mean: number; pearson: number; coefficient: number }[];
  };

  /** The six features, computed with other code than the server's. */
  function referenceFeatures(text: string): number[] {
    const characters = Array.from(text);
    const letters = text.match(/\p{L}/gu) ?? [];
    const upper = text.match(/\p{Lu}/gu) ?? [];
    const other = text.match(/[^\p{L}\p{N}\s]/gu) ?? [];
    const bytes = Buffer.from(text, 'utf8');
    const highBytes = bytes.filter((byte) => byte >= 0x80).length;
    return [
      characters.length,
      other.length / characters.length,
      letters.length === 0 ? 0 : upper.length / letters.length,
      new Set(characters).size / characters.length,
      highBytes / bytes.length,
      text.split('\n').length,
    ];
  }

  /** R² by least squares through a QR decomposition (modified Gram-Schmidt). */
  function referenceRSquared(columns: number[][], y: number[]): number {
    const basis: number[][] = [];
    for (const column of [y.map(() => 1), ...columns]) {
      const v = [...column];
      for (const q of basis) {
        const projection = v.reduce((sum, vi, i) => sum + vi * q[i]!, 0);
        for (let i = 0; i < v.length; i++) v[i]! -= projection * q[i]!;
      }
      const norm = Math.sqrt(v.reduce((sum, vi) => sum + vi * vi, 0));
      if (norm > 1e-9) basis.push(v.map((vi) => vi / norm));
    }
    const fitted = y.map(() => 0);
    for (const q of basis) {
      const projection = y.reduce((sum, yi, i) => sum + yi * q[i]!, 0);
      for (let i = 0; i < y.length; i++) fitted[i]! += projection * q[i]!;
    }
    const m = mean(y);
    const residual = y.reduce((sum, yi, i) => sum + (yi - fitted[i]!) ** 2, 0);
    const total = y.reduce((sum, yi) => sum + (yi - m) ** 2, 0);
    return 1 - residual / total;
  }

  it('matches reference correlations and R²', async () => {
    const res = await t.gql<{ raterReport: Report }>(QUERY, {
      v: gid.version(baseVersion),
      d: gid.dataset(datasetId),
      size: 5000,
    });
    expect(res.errors).toBeUndefined();
    const report = res.data!.raterReport;
    const rows = texts.map(referenceFeatures);
    const columns = rows[0]!.map((_, j) => rows.map((row) => row[j]!));
    const shownScores = baseScores.map(asPrintedReal);

    expect(report.sampleSize).toBe(N);
    expect(report.features.map((feature) => feature.feature)).toEqual([
      'LENGTH',
      'NON_ALPHANUMERIC_FRACTION',
      'UPPERCASE_FRACTION',
      'UNIQUE_CHARACTER_FRACTION',
      'NON_ASCII_BYTE_FRACTION',
      'LINE_COUNT',
    ]);
    report.features.forEach((feature, j) => {
      expect(feature.mean).toBeCloseTo(mean(columns[j]!), 9);
      expect(feature.pearson).toBeCloseTo(pearsonReference(columns[j]!, shownScores), 9);
    });
    expect(report.rSquared).toBeCloseTo(referenceRSquared(columns, shownScores), 9);
    expect(report.rSquared).toBeGreaterThan(0.2);
    expect(report.adjustedRSquared).toBeLessThan(report.rSquared);
  });

  it('samples at most sampleSize examples', async () => {
    const res = await t.gql<{ raterReport: Report }>(QUERY, {
      v: gid.version(baseVersion),
      d: gid.dataset(datasetId),
      size: 40,
    });
    expect(res.data!.raterReport.sampleSize).toBe(40);
  });

  it('returns null for an unscored dataset', async () => {
    const empty = await insertDataset(t.db, 'unscored');
    const res = await t.gql(QUERY, { v: gid.version(baseVersion), d: gid.dataset(empty) });
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({ raterReport: null });
  });

  it('rejects a sample size out of range', async () => {
    const res = await t.gql(QUERY, {
      v: gid.version(baseVersion),
      d: gid.dataset(datasetId),
      size: 1,
    });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.message).toContain('sampleSize=1');
  });
});
