// A rater report relates a rater version's scores on a dataset to cheap text statistics. If
// length or the share of punctuation explained most of the score, a heuristic filter would do;
// 1 - R² of the linear fit is the share of score variance that the rater adds beyond them.
import type { Database } from '../db/client.js';
import { fitLinear, pearson } from './correlation.js';
import { badInput } from './errors.js';
import { resolveScoreScope, scoreScopeSql, scopeParams } from './score-scope.js';
import { TEXT_FEATURES, textFeatures, type TextFeature } from './text-features.js';

export const MAX_REPORT_SAMPLE = 20_000;

export interface FeatureStats {
  feature: TextFeature;
  /** Mean of the feature over the sample. */
  mean: number;
  /** Pearson correlation of the feature with the score; null when the feature is constant. */
  pearson: number | null;
  /** Coefficient of the standardized feature in the joint linear fit; null when dropped. */
  coefficient: number | null;
}

export interface RaterReport {
  raterVersionId: string;
  datasetId: string;
  sampleSize: number;
  seed: number;
  features: FeatureStats[];
  /** R² of the least-squares fit of the score on all features plus an intercept. */
  rSquared: number | null;
  adjustedRSquared: number | null;
}

/**
 * Computes the report on a seeded sample of at most `sampleSize` scored examples of the dataset
 * (all of them when there are fewer): per-feature Pearson correlation with the score, and the
 * R² of one least-squares linear fit on all features. The sample is the examples with the
 * smallest hash of (seq, seed), so a seed picks the same examples on every call. Choosing it
 * reads every score in scope but only the sampled texts. Returns null when the version has
 * scored no example of the dataset. Throws NOT_FOUND for an unknown dataset or rater version,
 * BAD_USER_INPUT for a sample size out of range.
 */
export async function computeRaterReport(
  db: Database,
  raterVersionId: string,
  datasetId: string,
  options: { sampleSize: number; seed: number },
): Promise<RaterReport | null> {
  const { sampleSize, seed } = options;
  if (!Number.isInteger(sampleSize) || sampleSize < 2 || sampleSize > MAX_REPORT_SAMPLE) {
    throw badInput(
      `Invalid sampleSize=${sampleSize}: expected an integer from 2 to ${MAX_REPORT_SAMPLE}.`,
    );
  }
  if (!Number.isSafeInteger(seed)) throw badInput(`Invalid seed=${seed}: expected an integer.`);
  const scope = await resolveScoreScope(db, raterVersionId, datasetId);

  const { rows } = await db.pool.query<{ score: number; text: string }>(
    `WITH sample AS (
       SELECT s.example_seq, s.score
         FROM score s
        WHERE ${scoreScopeSql(scope)}
        ORDER BY hashint8extended(s.example_seq, $4::bigint), s.example_seq
        LIMIT $5)
     SELECT sample.score, e.text
       FROM sample JOIN example e ON e.seq = sample.example_seq`,
    [...scopeParams(scope), seed, sampleSize],
  );
  if (rows.length === 0) return null;

  // One column per feature, so each feature is one array for the fits.
  const scores = rows.map((row) => row.score);
  const columns = TEXT_FEATURES.map(() => new Array<number>(rows.length));
  rows.forEach((row, i) => {
    textFeatures(row.text).forEach((value, j) => (columns[j]![i] = value));
  });

  const fit = fitLinear(columns, scores);
  return {
    raterVersionId,
    datasetId,
    sampleSize: rows.length,
    seed,
    features: TEXT_FEATURES.map((feature, j) => ({
      feature,
      mean: columns[j]!.reduce((sum, value) => sum + value, 0) / rows.length,
      pearson: pearson(columns[j]!, scores),
      coefficient: fit.coefficients[j] ?? null,
    })),
    rSquared: fit.rSquared,
    adjustedRSquared: fit.adjustedRSquared,
  };
}
