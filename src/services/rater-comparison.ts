// Comparison of two rater versions on the same dataset: do they rank examples alike, and would
// they keep the same examples? Unlike the dashboard reads, this reads every score of both
// versions on the dataset (one statement that sorts the pairs by each version's score).
import type { Database } from '../db/client.js';
import type { Example } from '../generated/prisma/client.js';
import { kendallTauB } from './correlation.js';
import { badInput } from './errors.js';
import { resolveScoreScope, scoreScopeSql, scopeParams, type ScoreScope } from './score-scope.js';

export const MAX_KENDALL_SAMPLE = 10_000;
export const MAX_RANK_CHANGES = 1000;

export interface ComparisonOptions {
  /** Share of the lowest-ranked examples each version drops, in [0, 1). */
  discardFraction: number;
  /** How many examples with the largest rank changes to list. */
  rankChanges: number;
  /** Size of the seeded sample that Kendall's tau is computed on. */
  kendallSampleSize: number;
  seed: number;
}

export interface RankChange {
  example: Example;
  baseScore: number;
  otherScore: number;
  /** 1 is the highest score; tied scores share their average rank. */
  baseRank: number;
  otherRank: number;
}

export interface RaterComparison {
  datasetId: string;
  baseVersionId: string;
  otherVersionId: string;
  /** Examples of the dataset scored by both versions; every statistic is over these. */
  count: number;
  spearman: number | null;
  kendall: number | null;
  kendallSampleSize: number;
  discardFraction: number;
  /** Examples each version keeps: count - floor(discardFraction * count). */
  keptCount: number;
  /** Examples that both versions keep. */
  overlapCount: number;
  /** overlapCount / keptCount; null when nothing is kept. */
  overlapFraction: number | null;
  rankChanges: RankChange[];
}

/**
 * Compares two rater versions on a dataset, over the examples both have scored.
 *
 * - Spearman: the Pearson correlation of the two versions' ranks, with tied scores given their
 *   average rank, over every common example.
 * - Kendall's tau-b: over a seeded sample of at most `kendallSampleSize` common examples (all of
 *   them when there are fewer), because it counts every pair of the sample.
 * - Kept sets: each version keeps its `count - floor(discardFraction * count)` highest-scored
 *   examples, ties broken by the higher example seq; the overlap counts examples in both.
 * - Rank changes: the examples whose average ranks differ most, largest change first.
 *
 * Throws NOT_FOUND for an unknown dataset or rater version, BAD_USER_INPUT for options out of
 * range.
 */
export async function compareRaterVersions(
  db: Database,
  datasetId: string,
  baseVersionId: string,
  otherVersionId: string,
  options: ComparisonOptions,
): Promise<RaterComparison> {
  validateOptions(options);
  const scope = await resolveScoreScope(db, baseVersionId, datasetId);
  await resolveScoreScope(db, otherVersionId, datasetId);
  const params = [...scopeParams(scope), otherVersionId];

  const ranks = await queryRanks(db, scope, params, options);
  const sample = await queryKendallSample(db, scope, params, options);
  const examples = await db.prisma.example.findMany({
    where: { seq: { in: ranks.changes.map((change) => BigInt(change.seq)) } },
  });
  const bySeq = new Map(examples.map((example) => [Number(example.seq), example]));

  return {
    datasetId,
    baseVersionId,
    otherVersionId,
    count: ranks.count,
    spearman: ranks.spearman,
    kendall: kendallTauB(sample.base, sample.other),
    kendallSampleSize: sample.base.length,
    discardFraction: options.discardFraction,
    keptCount: ranks.keptCount,
    overlapCount: ranks.overlapCount,
    overlapFraction: ranks.keptCount > 0 ? ranks.overlapCount / ranks.keptCount : null,
    rankChanges: ranks.changes.flatMap((change) => {
      const example = bySeq.get(change.seq);
      return example ? [{ ...change, example }] : [];
    }),
  };
}

function validateOptions(options: ComparisonOptions): void {
  const { discardFraction, rankChanges, kendallSampleSize, seed } = options;
  if (!(discardFraction >= 0 && discardFraction < 1)) {
    throw badInput(`Invalid discardFraction=${discardFraction}: expected a number in [0, 1).`);
  }
  if (!Number.isInteger(rankChanges) || rankChanges < 0 || rankChanges > MAX_RANK_CHANGES) {
    throw badInput(
      `Invalid rankChanges=${rankChanges}: expected an integer from 0 to ${MAX_RANK_CHANGES}.`,
    );
  }
  if (
    !Number.isInteger(kendallSampleSize) ||
    kendallSampleSize < 2 ||
    kendallSampleSize > MAX_KENDALL_SAMPLE
  ) {
    throw badInput(
      `Invalid kendallSampleSize=${kendallSampleSize}: expected an integer from 2 to ${MAX_KENDALL_SAMPLE}.`,
    );
  }
  if (!Number.isSafeInteger(seed)) throw badInput(`Invalid seed=${seed}: expected an integer.`);
}

/** Returns the score pairs of the examples both versions scored; $4 is the other version. */
function pairsSql(scope: ScoreScope): string {
  return `
    SELECT s.example_seq AS seq, s.score AS base, o.score AS other
      FROM score s
      JOIN score o ON o.rater_version_id = $4::uuid AND o.example_seq = s.example_seq
     WHERE ${scoreScopeSql(scope)}`;
}

interface RankStats {
  count: number;
  spearman: number | null;
  keptCount: number;
  overlapCount: number;
  changes: (Omit<RankChange, 'example'> & { seq: number })[];
}

async function queryRanks(
  db: Database,
  scope: ScoreScope,
  params: unknown[],
  { discardFraction, rankChanges }: ComparisonOptions,
): Promise<RankStats> {
  // Average rank of a tie group = its first rank + (group size - 1) / 2. Kept sets use
  // row_number, which breaks ties by seq so each version keeps exactly keptCount examples.
  const { rows } = await db.pool.query<{
    count: number;
    spearman: number | null;
    kept: number;
    overlap: number;
    changes:
      { seq: number; base: number; other: number; base_rank: number; other_rank: number }[] | null;
  }>(
    `WITH pairs AS (${pairsSql(scope)}),
     ranked AS (
       SELECT seq, base, other,
              (rank() OVER (ORDER BY base DESC)
                + (count(*) OVER (PARTITION BY base) - 1) / 2.0)::float8 AS base_rank,
              (rank() OVER (ORDER BY other DESC)
                + (count(*) OVER (PARTITION BY other) - 1) / 2.0)::float8 AS other_rank,
              row_number() OVER (ORDER BY base DESC, seq DESC) AS base_position,
              row_number() OVER (ORDER BY other DESC, seq DESC) AS other_position,
              count(*) OVER () AS n
         FROM pairs
     ),
     kept AS (SELECT max(n) - floor($5::float8 * max(n)) AS k FROM ranked)
     SELECT count(*)::int AS count,
            corr(base_rank, other_rank) AS spearman,
            coalesce((SELECT k FROM kept), 0)::int AS kept,
            count(*) FILTER (WHERE base_position <= (SELECT k FROM kept)
                               AND other_position <= (SELECT k FROM kept))::int AS overlap,
            (SELECT json_agg(c ORDER BY abs(c.base_rank - c.other_rank) DESC, c.seq)
               FROM (SELECT seq, base, other, base_rank, other_rank
                       FROM ranked
                      ORDER BY abs(base_rank - other_rank) DESC, seq
                      LIMIT $6) c) AS changes
       FROM ranked`,
    [...params, discardFraction, rankChanges],
  );

  const row = rows[0]!;
  return {
    count: row.count,
    spearman: row.spearman === null ? null : Math.max(-1, Math.min(1, row.spearman)),
    keptCount: row.kept,
    overlapCount: row.overlap,
    changes: (row.changes ?? []).map((change) => ({
      seq: change.seq,
      baseScore: change.base,
      otherScore: change.other,
      baseRank: change.base_rank,
      otherRank: change.other_rank,
    })),
  };
}

/**
 * Selects a seeded sample of score pairs: the pairs with the smallest hash of (seq, seed). The
 * same seed picks the same examples on every call while the scores are unchanged.
 */
async function queryKendallSample(
  db: Database,
  scope: ScoreScope,
  params: unknown[],
  { kendallSampleSize, seed }: ComparisonOptions,
): Promise<{ base: number[]; other: number[] }> {
  const { rows } = await db.pool.query<{ base: number; other: number }>(
    `SELECT p.base, p.other
       FROM (${pairsSql(scope)}) p
      ORDER BY hashint8extended(p.seq, $5::bigint), p.seq
      LIMIT $6`,
    [...params, seed, kendallSampleSize],
  );
  return { base: rows.map((row) => row.base), other: rows.map((row) => row.other) };
}
