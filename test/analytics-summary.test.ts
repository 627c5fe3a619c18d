// computeScoreSummary and the readers of the stored summary, against statistics computed here
// from the inserted scores.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  computeScoreSummary,
  FINE_HISTOGRAM_BINS,
  interpolateQuantiles,
  rebinHistogram,
  recordToGrid,
  type StoredGroups,
  type StoredHistogram,
} from '../src/services/score-stats.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import {
  asPrintedReal,
  insertCuration,
  insertDataset,
  insertExamples,
  insertRaterVersion,
  insertScores,
  seededRandom,
} from './analytics-fixtures.js';

let db: TestDatabase;
let datasetId: string;
let versionId: string;
let seqs: number[];
/** Stored (float32) scores, in the order of `seqs`. */
let scores: number[];
const SOURCES = ['web', 'mail', 'code', null];
const N = 400;

beforeAll(async () => {
  db = await createTestDatabase('analytics_summary');
  datasetId = await insertDataset(db, 'summary');
  versionId = await insertRaterVersion(db, 'summary-rater');

  const random = seededRandom(7);
  seqs = await insertExamples(
    db,
    datasetId,
    Array.from({ length: N }, (_, i) => ({
      text: `example ${i}`,
      source: SOURCES[i % SOURCES.length],
      label: i % 3 === 0 ? 'spam' : 'ham',
    })),
  );
  // A skewed distribution with ties: squares of uniforms, a few repeated exactly.
  scores = seqs.map((_, i) => Math.fround(i % 50 === 0 ? 0.25 : random() ** 2 * 4 - 1));
  await insertScores(db, versionId, datasetId, seqs, scores);
});
afterAll(async () => {
  await db.drop();
});

/** Quantile with linear interpolation between order statistics (numpy's default method). */
function exactQuantile(sorted: readonly number[], q: number): number {
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.min(lower + 1, sorted.length - 1);
  return sorted[lower]! + (position - lower) * (sorted[upper]! - sorted[lower]!);
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

function populationStd(values: readonly number[]): number {
  const m = mean(values);
  return Math.sqrt(values.reduce((sum, value) => sum + (value - m) ** 2, 0) / values.length);
}

describe('computeScoreSummary', () => {
  it('stores count, mean, std, min and max', async () => {
    const summary = await computeScoreSummary(db, versionId, datasetId);
    expect(summary).not.toBeNull();
    expect(summary!.count).toBe(N);
    expect(summary!.mean).toBeCloseTo(mean(scores), 9);
    expect(summary!.std).toBeCloseTo(populationStd(scores), 9);
    expect(summary!.min).toBe(asPrintedReal(Math.min(...scores)));
    expect(summary!.max).toBe(asPrintedReal(Math.max(...scores)));
  });

  it('stores exact quantiles on the fine grid', async () => {
    const summary = (await computeScoreSummary(db, versionId, datasetId))!;
    const grid = recordToGrid(summary.quantiles);
    const sorted = [...scores].sort((a, b) => a - b);

    expect(grid.q).toHaveLength(1001);
    for (const i of [0, 1, 10, 137, 500, 999, 1000]) {
      expect(grid.q[i]).toBe(i / 1000);
      expect(grid.value[i]).toBeCloseTo(exactQuantile(sorted, i / 1000), 9);
    }
  });

  it('stores a fine histogram over min to max', async () => {
    const summary = (await computeScoreSummary(db, versionId, datasetId))!;
    const histogram = summary.histogram as unknown as StoredHistogram;
    const min = Math.min(...scores);
    const max = Math.max(...scores);
    const width = (max - min) / FINE_HISTOGRAM_BINS;

    const expected = new Array<number>(FINE_HISTOGRAM_BINS).fill(0);
    for (const score of scores) {
      expected[Math.min(FINE_HISTOGRAM_BINS - 1, Math.floor((score - min) / width))]! += 1;
    }
    expect(histogram.edges).toHaveLength(FINE_HISTOGRAM_BINS + 1);
    expect(histogram.edges[0]).toBe(asPrintedReal(min));
    expect(histogram.edges[FINE_HISTOGRAM_BINS]).toBe(asPrintedReal(max));
    expect(histogram.counts).toEqual(expected);
  });

  it('stores statistics per source and per label', async () => {
    const summary = (await computeScoreSummary(db, versionId, datasetId))!;
    const groups = summary.groups as unknown as StoredGroups;

    expect(groups.bySource.map((group) => group.value).sort()).toEqual(
      ['code', 'mail', 'web', null].sort(),
    );
    expect(groups.omittedSources).toBe(0);
    for (const group of groups.bySource) {
      const values = scores.filter((_, i) => SOURCES[i % SOURCES.length] === group.value);
      const sorted = [...values].sort((a, b) => a - b);
      expect(group.count).toBe(values.length);
      expect(group.mean).toBeCloseTo(mean(values), 9);
      expect(group.std).toBeCloseTo(populationStd(values), 9);
      expect(group.quantiles['0.5']).toBeCloseTo(exactQuantile(sorted, 0.5), 9);
      expect(group.quantiles['0.9']).toBeCloseTo(exactQuantile(sorted, 0.9), 9);
    }

    const spam = groups.byLabel.find((group) => group.value === 'spam');
    expect(spam?.count).toBe(scores.filter((_, i) => i % 3 === 0).length);
    expect(groups.byLabel[0]!.value).toBe('ham');
  });

  it('summarizes a curated dataset over its members', async () => {
    const kept = seqs.filter((_, i) => i % 2 === 0);
    const { curatedDatasetId } = await insertCuration(db, datasetId, versionId, 'kept', kept);

    const summary = (await computeScoreSummary(db, versionId, curatedDatasetId))!;
    const keptScores = scores.filter((_, i) => i % 2 === 0);
    expect(summary.datasetId).toBe(curatedDatasetId);
    expect(summary.count).toBe(kept.length);
    expect(summary.mean).toBeCloseTo(mean(keptScores), 9);
  });

  it('returns null and deletes the row without scores', async () => {
    const otherVersion = await insertRaterVersion(db, 'summary-rater');
    expect(await computeScoreSummary(db, otherVersion, datasetId)).toBeNull();
    expect(await db.prisma.scoreSummary.count({ where: { raterVersionId: otherVersion } })).toBe(0);
  });

  it('stores one bin when every score is equal', async () => {
    const constant = await insertDataset(db, 'constant');
    const constantSeqs = await insertExamples(db, constant, [{ text: 'a' }, { text: 'b' }]);
    await insertScores(db, versionId, constant, constantSeqs, [0.5, 0.5]);

    const summary = (await computeScoreSummary(db, versionId, constant))!;
    expect(summary.histogram).toEqual({ edges: [0.5, 0.5], counts: [2] });
    expect(rebinHistogram(summary.histogram as unknown as StoredHistogram, 10)).toEqual({
      edges: [0.5, 0.5],
      counts: [2],
    });
  });

  it('throws NOT_FOUND for an unknown rater version', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    await expect(computeScoreSummary(db, missing, datasetId)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining(missing),
    });
  });
});

describe('readers of a stored summary', () => {
  it('interpolates quantiles within the stated error bound', async () => {
    const summary = (await computeScoreSummary(db, versionId, datasetId))!;
    const grid = recordToGrid(summary.quantiles);
    const sorted = [...scores].sort((a, b) => a - b);

    const qs = [0, 0.0005, 0.0123, 0.25, 0.3333, 0.5, 0.87654, 0.9999, 1];
    for (const quantile of interpolateQuantiles(grid, qs)) {
      const exact = exactQuantile(sorted, quantile.q);
      expect(Math.abs(quantile.value - exact)).toBeLessThanOrEqual(quantile.maxError + 1e-12);
    }
    const onGrid = interpolateQuantiles(grid, [0.25])[0]!;
    expect(onGrid.maxError).toBe(0);
    expect(onGrid.value).toBeCloseTo(exactQuantile(sorted, 0.25), 9);
  });

  it('rejects a quantile outside 0 to 1', () => {
    expect(() => interpolateQuantiles({ q: [0, 1], value: [0, 1] }, [1.5])).toThrow(/1\.5/);
  });

  it('re-bins exactly when the bin count divides the fine one', async () => {
    const summary = (await computeScoreSummary(db, versionId, datasetId))!;
    const fine = summary.histogram as unknown as StoredHistogram;
    const min = Math.min(...scores);
    const max = Math.max(...scores);

    const coarse = rebinHistogram(fine, 10);
    const expected = new Array<number>(10).fill(0);
    for (const score of scores) {
      expected[Math.min(9, Math.floor(((score - min) / (max - min)) * 10))]! += 1;
    }
    expect(coarse.counts).toEqual(expected);
    expect(coarse.edges[0]).toBe(asPrintedReal(min));
    expect(coarse.edges[10]).toBe(asPrintedReal(max));
  });

  it('re-bins within the straddling bins otherwise', async () => {
    const summary = (await computeScoreSummary(db, versionId, datasetId))!;
    const fine = summary.histogram as unknown as StoredHistogram;
    const min = Math.min(...scores);
    const max = Math.max(...scores);
    const bins = 7;

    const coarse = rebinHistogram(fine, bins);
    expect(coarse.counts.reduce((a, b) => a + b, 0)).toBe(N);
    const fineWidth = (max - min) / FINE_HISTOGRAM_BINS;
    for (let k = 0; k < bins; k++) {
      const low = min + (k * (max - min)) / bins;
      const high = min + ((k + 1) * (max - min)) / bins;
      const exact = scores.filter((s) => s >= low && (s < high || (k === bins - 1 && s <= high)));
      const straddling = scores.filter(
        (s) => Math.abs(s - low) <= fineWidth || Math.abs(s - high) <= fineWidth,
      );
      expect(Math.abs(coarse.counts[k]! - exact.length)).toBeLessThanOrEqual(straddling.length);
    }
  });

  it('rejects a bin count above the stored resolution', async () => {
    const summary = (await computeScoreSummary(db, versionId, datasetId))!;
    expect(() => rebinHistogram(summary.histogram as unknown as StoredHistogram, 5000)).toThrow(
      /bins=5000/,
    );
  });
});
