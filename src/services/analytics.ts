// Score analytics that a dashboard reads often: the stored summary of a rater version on a
// dataset, and examples ordered by score. Neither scans the score table. The summary is one row,
// and score-ordered pages walk the (rater_version_id, dataset_id, score, example_seq) index from
// a keyset cursor.
import type { Database } from '../db/client.js';
import type { Example } from '../generated/prisma/client.js';
import type { Split } from './datasets.js';
import { badInput } from './errors.js';
import { parsePageArgs, toPage, type CursorKey, type Page, type PageArgs } from './pagination.js';
import { resolveScoreScope, scoreScopeSql, scopeParams } from './score-scope.js';
import {
  recordToGrid,
  type GroupStats,
  type QuantileGrid,
  type StoredGroups,
  type StoredHistogram,
} from './score-stats.js';

/** A stored score summary with its JSON read into typed values. */
export interface ScoreAnalytics {
  raterVersionId: string;
  datasetId: string;
  count: number;
  mean: number;
  /** Population standard deviation. */
  std: number;
  min: number;
  max: number;
  histogram: StoredHistogram;
  quantiles: QuantileGrid;
  bySource: GroupAnalytics[];
  byLabel: GroupAnalytics[];
  omittedSources: number;
  omittedLabels: number;
  computedAt: Date;
}

export interface GroupAnalytics extends Omit<GroupStats, 'quantiles'> {
  quantiles: QuantileGrid;
}

/**
 * Reads the stored summary of a rater version's scores on a dataset. Returns null when none is
 * stored yet (the version has not scored the dataset, or scoring has not finished). Throws
 * NOT_FOUND naming the id when the dataset or the rater version does not exist.
 */
export async function getScoreAnalytics(
  db: Database,
  raterVersionId: string,
  datasetId: string,
): Promise<ScoreAnalytics | null> {
  await resolveScoreScope(db, raterVersionId, datasetId);
  const row = await db.prisma.scoreSummary.findUnique({
    where: { raterVersionId_datasetId: { raterVersionId, datasetId } },
  });
  if (!row) return null;

  const groups = (row.groups ?? {}) as Partial<StoredGroups>;
  return {
    raterVersionId,
    datasetId,
    count: row.count,
    mean: row.mean,
    std: row.std,
    min: row.min,
    max: row.max,
    histogram: row.histogram as unknown as StoredHistogram,
    quantiles: recordToGrid(row.quantiles),
    bySource: (groups.bySource ?? []).map(readGroup),
    byLabel: (groups.byLabel ?? []).map(readGroup),
    omittedSources: groups.omittedSources ?? 0,
    omittedLabels: groups.omittedLabels ?? 0,
    computedAt: row.createdAt,
  };
}

function readGroup(group: GroupStats): GroupAnalytics {
  return { ...group, quantiles: recordToGrid(group.quantiles) };
}

export type ScoreOrder = 'ASC' | 'DESC';

export interface ScoredExampleFilter {
  /** DESC lists the highest scores first (top-k), ASC the lowest (bottom-k). */
  order: ScoreOrder;
  /** Inclusive bounds of the score range. */
  minScore?: number | null;
  maxScore?: number | null;
  split?: Split | null;
}

export interface ScoredExample {
  example: Example;
  score: number;
}

/** Cursor key of a score-ordered list: the score and the example seq, its tie-breaker. */
export function scoredExampleCursor(row: ScoredExample): CursorKey {
  return [row.score, Number(row.example.seq)];
}

/**
 * Lists the scored examples of a dataset in score order, ties broken by example seq in the same
 * direction, so pages never skip or repeat rows when scores tie. Each page is one index range
 * scan from the cursor (keyset pagination, no OFFSET). Throws NOT_FOUND for an unknown dataset
 * or rater version, BAD_USER_INPUT for invalid bounds or cursors.
 */
export async function listScoredExamples(
  db: Database,
  raterVersionId: string,
  datasetId: string,
  filter: ScoredExampleFilter,
  args: PageArgs,
): Promise<Page<ScoredExample>> {
  const request = parsePageArgs(args, 2);
  validateRange(filter);
  const scope = await resolveScoreScope(db, raterVersionId, datasetId);

  // Conditions shared by the page and the look-behind query; $1-$3 select the scope.
  const params: unknown[] = [...scopeParams(scope)];
  const conditions = [scoreScopeSql(scope), ...filterConditions(filter, params)];
  const conditionParams = [...params];
  const ascending = filter.order === 'ASC';
  const forward = request.direction === 'forward';
  const after = request.after && cursorCondition(request.after, ascending ? '>' : '<', params);
  const before = request.before && cursorCondition(request.before, ascending ? '<' : '>', params);

  // A backward page reads the order in reverse from `before`; toPage restores it.
  const direction = ascending === forward ? 'ASC' : 'DESC';
  const { rows } = await db.pool.query<{ seq: number; score: number }>(
    `SELECT s.example_seq AS seq, s.score
       FROM score s
      WHERE ${[...conditions, after, before].filter(Boolean).join(' AND ')}
      ORDER BY s.score ${direction}, s.example_seq ${direction}
      LIMIT ${request.limit + 1}`,
    params,
  );

  const cursor = forward ? request.after : request.before;
  const beyondCursor =
    cursor !== undefined &&
    (await existsBeyond(db, conditions, conditionParams, cursor, forward, ascending));
  const page = toPage(request, rows, beyondCursor);
  return { ...page, rows: await attachExamples(db, page.rows) };
}

function validateRange({ minScore, maxScore }: ScoredExampleFilter): void {
  for (const [name, value] of [
    ['minScore', minScore],
    ['maxScore', maxScore],
  ] as const) {
    if (value != null && !Number.isFinite(value)) {
      throw badInput(`Invalid ${name}=${value}: expected a finite number.`);
    }
  }
  if (minScore != null && maxScore != null && minScore > maxScore) {
    throw badInput(
      `Invalid score range: minScore=${minScore} is greater than maxScore=${maxScore}.`,
    );
  }
}

/** SQL conditions of the filter; appends their parameters to `params`. */
function filterConditions(filter: ScoredExampleFilter, params: unknown[]): string[] {
  const conditions: string[] = [];
  // Bounds compare as float8, so a bound that falls between two REAL values stays exact. The
  // btree float_ops family contains the real-float8 operators, so the index still serves it.
  if (filter.minScore != null) {
    params.push(filter.minScore);
    conditions.push(`s.score >= $${params.length}::float8`);
  }
  if (filter.maxScore != null) {
    params.push(filter.maxScore);
    conditions.push(`s.score <= $${params.length}::float8`);
  }
  if (filter.split != null) {
    params.push(filter.split);
    conditions.push(
      `EXISTS (SELECT 1 FROM example e WHERE e.seq = s.example_seq AND e.split = $${params.length}::"Split")`,
    );
  }
  return conditions;
}

/**
 * Row comparison against a cursor key. The score goes back as REAL: Postgres prints a REAL in
 * its shortest round-trip form, so casting that text back yields the stored value exactly.
 */
const FLOAT32_MAX = 3.4028234663852886e38;

function cursorCondition(key: CursorKey, operator: '<' | '>' | '<=' | '>=', params: unknown[]) {
  const [score, seq] = key;
  // Scores are Postgres REALs (float32): a cursor outside that range was not issued by this list.
  const validScore = typeof score === 'number' && Math.abs(score) <= FLOAT32_MAX;
  if (!validScore || typeof seq !== 'number' || !Number.isSafeInteger(seq)) {
    throw badInput('Invalid cursor: use a cursor returned by the scoredExamples list.');
  }
  params.push(score, seq);
  return `(s.score, s.example_seq) ${operator} ($${params.length - 1}::real, $${params.length}::bigint)`;
}

/** Checks whether a row exists on the far side of the cursor, for hasPreviousPage/hasNextPage. */
async function existsBeyond(
  db: Database,
  conditions: string[],
  baseParams: unknown[],
  cursor: CursorKey,
  forward: boolean,
  ascending: boolean,
): Promise<boolean> {
  const params = [...baseParams];
  // Forward pages look behind `after` (rows ordered before it, itself included), backward pages
  // look past `before`.
  const operator = ascending === forward ? '<=' : '>=';
  const condition = cursorCondition(cursor, operator, params);
  // The ORDER BY makes the planner walk the index from the cursor. Without it, the planner may
  // expect many matches and pick a sequential scan, which reads every score when none match.
  const direction = operator === '<=' ? 'DESC' : 'ASC';
  const { rowCount } = await db.pool.query(
    `SELECT 1 FROM score s WHERE ${[...conditions, condition].join(' AND ')}
      ORDER BY s.score ${direction}, s.example_seq ${direction} LIMIT 1`,
    params,
  );
  return (rowCount ?? 0) > 0;
}

async function attachExamples(
  db: Database,
  rows: { seq: number; score: number }[],
): Promise<ScoredExample[]> {
  const examples = await db.prisma.example.findMany({
    where: { seq: { in: rows.map((row) => BigInt(row.seq)) } },
  });
  const bySeq = new Map(examples.map((example) => [Number(example.seq), example]));

  // An example deleted between the two reads drops out of the page.
  return rows.flatMap((row) => {
    const example = bySeq.get(row.seq);
    return example ? [{ example, score: row.score }] : [];
  });
}
