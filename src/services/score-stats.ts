// Score summaries: precomputed statistics of one rater version's scores on one dataset, written
// once when scoring finishes so that dashboards read one row and never scan the score table.
//
// This module defines the JSON stored in score_summary, for every writer and reader:
//
// - `histogram`: `{ edges: number[1001], counts: number[1000] }`, FINE_HISTOGRAM_BINS equal-width
//   bins from min to max. Bin i counts scores in [edges[i], edges[i+1]), and the last bin also
//   counts max. When min = max there is a single bin `{ edges: [min, max], counts: [count] }`.
// - `quantiles`: `{ "0": v, "0.001": v, ..., "1": v }`, the exact quantiles at q = i / 1000 for
//   i = 0..1000, with Postgres `percentile_cont` (linear interpolation between order statistics,
//   numpy's default "linear" method). Keys are `String(i / 1000)`.
// - `groups`: `{ bySource: GroupStats[], byLabel: GroupStats[], omittedSources, omittedLabels }`.
//   Each GroupStats is `{ value, count, mean, std, min, max, quantiles }` for the examples with
//   that source (or label), where value null groups the examples without one and `quantiles`
//   has the same form on the coarser grid q = i / 100. Lists hold the MAX_STORED_GROUPS largest
//   groups, largest first. `omitted*` count the groups left out.
//
// `std` is the population standard deviation everywhere. `min`, `max` and scores are REAL values
// as Postgres prints them (the shortest decimal that reads back as the same REAL), while mean,
// std and quantiles are double precision. Readers accept any sorted grid and any
// increasing edges, so a summary written with other grid sizes still reads correctly.
import type { Database } from '../db/client.js';
import type { Prisma, ScoreSummary } from '../generated/prisma/client.js';
import { badInput } from './errors.js';
import { resolveScoreScope, scoreScopeSql, scopeParams, type ScoreScope } from './score-scope.js';

export const FINE_HISTOGRAM_BINS = 1000;
export const FINE_QUANTILE_STEPS = 1000;
export const GROUP_QUANTILE_STEPS = 100;
export const MAX_STORED_GROUPS = 100;

export interface StoredHistogram {
  edges: number[];
  counts: number[];
}

/** Quantile grid: `q` ascending from 0 to 1, `value[i]` the quantile at `q[i]`. */
export interface QuantileGrid {
  q: number[];
  value: number[];
}

export interface GroupStats {
  value: string | null;
  count: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  quantiles: Record<string, number>;
}

export interface StoredGroups {
  bySource: GroupStats[];
  byLabel: GroupStats[];
  omittedSources: number;
  omittedLabels: number;
}

/**
 * Computes the summary of a rater version's scores on a dataset in SQL (four statements, each
 * one pass over the scores in scope) and stores it in score_summary, replacing an older one.
 * A curated dataset is summarized over its members. Returns the stored row, or null after
 * deleting any stale row when no example of the dataset has a score under that version.
 * Throws NOT_FOUND when the dataset or the rater version does not exist.
 */
export async function computeScoreSummary(
  db: Database,
  raterVersionId: string,
  datasetId: string,
): Promise<ScoreSummary | null> {
  const scope = await resolveScoreScope(db, raterVersionId, datasetId);

  const overall = await queryOverallStats(db, scope);
  if (overall.count === 0) {
    await db.prisma.scoreSummary.deleteMany({ where: { raterVersionId, datasetId } });
    return null;
  }

  const histogram = await queryFineHistogram(db, scope, overall);
  const bySource = await queryGroupStats(db, scope, 'source');
  const byLabel = await queryGroupStats(db, scope, 'label');
  const groups: StoredGroups = {
    bySource: bySource.groups,
    byLabel: byLabel.groups,
    omittedSources: bySource.omitted,
    omittedLabels: byLabel.omitted,
  };

  const data = {
    count: overall.count,
    mean: overall.mean,
    std: overall.std,
    min: overall.min,
    max: overall.max,
    histogram: histogram as unknown as Prisma.InputJsonValue,
    quantiles: gridToRecord(overall.grid),
    groups: groups as unknown as Prisma.InputJsonValue,
    createdAt: new Date(),
  };
  return db.prisma.scoreSummary.upsert({
    where: { raterVersionId_datasetId: { raterVersionId, datasetId } },
    create: { raterVersionId, datasetId, ...data },
    update: data,
  });
}

interface OverallStats {
  count: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  grid: QuantileGrid;
}

async function queryOverallStats(db: Database, scope: ScoreScope): Promise<OverallStats> {
  const q = gridPoints(FINE_QUANTILE_STEPS);
  const { rows } = await db.pool.query<{
    count: number;
    mean: number | null;
    std: number | null;
    min: number | null;
    max: number | null;
    quantiles: number[] | null;
  }>(
    `SELECT count(*)::int AS count, avg(s.score) AS mean, stddev_pop(s.score) AS std,
            min(s.score) AS min, max(s.score) AS max,
            percentile_cont($4::float8[]) WITHIN GROUP (ORDER BY s.score) AS quantiles
       FROM score s
      WHERE ${scoreScopeSql(scope)}`,
    [...scopeParams(scope), q],
  );
  const row = rows[0];
  if (!row || row.count === 0) {
    return { count: 0, mean: 0, std: 0, min: 0, max: 0, grid: { q: [], value: [] } };
  }
  return {
    count: row.count,
    mean: row.mean ?? 0,
    std: row.std ?? 0,
    min: row.min ?? 0,
    max: row.max ?? 0,
    grid: { q, value: row.quantiles ?? [] },
  };
}

async function queryFineHistogram(
  db: Database,
  scope: ScoreScope,
  { count, min, max }: OverallStats,
): Promise<StoredHistogram> {
  if (min === max) return { edges: [min, max], counts: [count] };

  // min and max arrive as Postgres prints a REAL (its shortest round-trip decimal), so ::real
  // restores the stored values exactly. width_bucket returns FINE_HISTOGRAM_BINS + 1 for max
  // itself, which goes to the last bin.
  const { rows } = await db.pool.query<{ bin: number; n: number }>(
    `SELECT least(width_bucket(s.score::float8, $4::real::float8, $5::real::float8, $6::int), $6::int) AS bin,
            count(*)::int AS n
       FROM score s
      WHERE ${scoreScopeSql(scope)}
      GROUP BY 1`,
    [...scopeParams(scope), min, max, FINE_HISTOGRAM_BINS],
  );
  const counts = new Array<number>(FINE_HISTOGRAM_BINS).fill(0);
  for (const row of rows) counts[row.bin - 1] = row.n;

  const width = (max - min) / FINE_HISTOGRAM_BINS;
  const edges = Array.from({ length: FINE_HISTOGRAM_BINS + 1 }, (_, i) => min + i * width);
  edges[FINE_HISTOGRAM_BINS] = max;
  return { edges, counts };
}

async function queryGroupStats(
  db: Database,
  scope: ScoreScope,
  column: 'source' | 'label',
): Promise<{ groups: GroupStats[]; omitted: number }> {
  const q = gridPoints(GROUP_QUANTILE_STEPS);
  // `column` is one of two fixed identifiers, never client input.
  const { rows } = await db.pool.query<{
    value: string | null;
    count: number;
    mean: number;
    std: number;
    min: number;
    max: number;
    quantiles: number[];
    group_count: number;
  }>(
    `SELECT e.${column} AS value, count(*)::int AS count, avg(s.score) AS mean,
            stddev_pop(s.score) AS std, min(s.score) AS min, max(s.score) AS max,
            percentile_cont($4::float8[]) WITHIN GROUP (ORDER BY s.score) AS quantiles,
            count(*) OVER ()::int AS group_count
       FROM score s
       JOIN example e ON e.seq = s.example_seq
      WHERE ${scoreScopeSql(scope)}
      GROUP BY e.${column}
      ORDER BY count(*) DESC, e.${column} ASC NULLS FIRST
      LIMIT $5`,
    [...scopeParams(scope), q, MAX_STORED_GROUPS],
  );

  const groups = rows.map((row) => ({
    value: row.value,
    count: row.count,
    mean: row.mean,
    std: row.std,
    min: row.min,
    max: row.max,
    quantiles: gridToRecord({ q, value: row.quantiles }),
  }));
  return { groups, omitted: Math.max(0, (rows[0]?.group_count ?? 0) - rows.length) };
}

/** q = i / steps for i = 0..steps, each the double nearest to the exact fraction. */
function gridPoints(steps: number): number[] {
  return Array.from({ length: steps + 1 }, (_, i) => i / steps);
}

function gridToRecord(grid: QuantileGrid): Record<string, number> {
  return Object.fromEntries(grid.q.map((q, i) => [String(q), grid.value[i] ?? Number.NaN]));
}

/** Reads a stored `{ "<q>": value }` record into a grid sorted by q. */
export function recordToGrid(record: unknown): QuantileGrid {
  const entries = Object.entries((record ?? {}) as Record<string, number>)
    .map(([q, value]) => [Number(q), Number(value)] as const)
    .filter(([q, value]) => Number.isFinite(q) && Number.isFinite(value))
    .sort((a, b) => a[0] - b[0]);
  return { q: entries.map(([q]) => q), value: entries.map(([, value]) => value) };
}

export interface InterpolatedQuantile {
  q: number;
  value: number;
  /** Upper bound on |value - exact quantile|; 0 when q is a grid point. */
  maxError: number;
}

/**
 * Interpolates quantiles linearly between the stored grid points around each q. The exact
 * quantile function is non-decreasing, so the exact value and the interpolated one both lie
 * between the two grid values, and their distance is at most the difference of those values.
 * Throws BAD_USER_INPUT for a q outside [0, 1] or outside the stored grid.
 */
export function interpolateQuantiles(
  grid: QuantileGrid,
  qs: readonly number[],
): InterpolatedQuantile[] {
  return qs.map((q) => {
    if (!Number.isFinite(q) || q < 0 || q > 1) {
      throw badInput(`Invalid quantile ${q}: expected a number from 0 to 1.`, { q });
    }
    const upper = grid.q.findIndex((point) => point >= q);
    const upperValue = grid.value[upper];
    if (upper < 0 || upperValue === undefined) {
      throw badInput(`Quantile ${q} is outside the stored grid; recompute the score summary.`);
    }
    if (grid.q[upper] === q || upper === 0) return { q, value: upperValue, maxError: 0 };

    const lowerQ = grid.q[upper - 1]!;
    const lowerValue = grid.value[upper - 1]!;
    const fraction = (q - lowerQ) / (grid.q[upper]! - lowerQ);
    return {
      q,
      value: lowerValue + fraction * (upperValue - lowerValue),
      maxError: upperValue - lowerValue,
    };
  });
}

/**
 * Re-bins a fine histogram into `bins` equal-width bins from its first to its last edge. Each
 * fine bin moves whole into the coarse bin that contains its midpoint, so counts stay integers
 * and their sum is unchanged. When the fine bins nest in the coarse ones (equal-width fine bins
 * and `bins` dividing their number) the result is exact. Otherwise only the fine bins that
 * straddle a coarse edge can land on the wrong side: a coarse count is off by at most the counts
 * of the two fine bins that straddle its edges. A single-bin histogram (all scores equal) is
 * returned as it is. Throws BAD_USER_INPUT unless 1 <= bins <= the number of fine bins.
 */
export function rebinHistogram(fine: StoredHistogram, bins: number): StoredHistogram {
  const fineBins = fine.counts.length;
  const first = fine.edges[0]!;
  const last = fine.edges[fineBins]!;
  const maxBins = Math.max(fineBins, FINE_HISTOGRAM_BINS);
  if (!Number.isInteger(bins) || bins < 1 || bins > maxBins) {
    throw badInput(`Invalid bins=${bins}: expected an integer from 1 to ${maxBins}.`, { bins });
  }
  if (fineBins === 1 || first === last) return { edges: [...fine.edges], counts: [...fine.counts] };
  if (bins > fineBins) {
    throw badInput(
      `Invalid bins=${bins}: this summary stores ${fineBins} bins; ask for at most that many.`,
      { bins },
    );
  }

  const width = (last - first) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < fineBins; i++) {
    const midpoint = (fine.edges[i]! + fine.edges[i + 1]!) / 2;
    const bin = Math.min(bins - 1, Math.max(0, Math.floor((midpoint - first) / width)));
    counts[bin]! += fine.counts[i]!;
  }
  const edges = Array.from({ length: bins + 1 }, (_, i) => first + i * width);
  edges[bins] = last;
  return { edges, counts };
}
