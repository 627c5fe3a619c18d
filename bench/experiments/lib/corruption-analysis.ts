// Score analysis and report tables of the controlled-corruption experiment.
import { spearman } from '../../../src/ml/index.js';
import { noiseRate, type CorruptionKind } from './corrupt.js';
import type { FilteringResult } from './filtering.js';
import type { RaterRun } from './meta-train.js';
import { markdownTable } from './report.js';
import { mean, rocAuc } from './stats.js';
import { filteringTable, seedRow } from './tables.js';

/** Byte-noise rates of the noise kinds. */
export const NOISE_RATES = [0.1, 0.25, 0.5, 1];

/** Every kind of training example, clean first. */
export const KINDS: CorruptionKind[] = [
  'clean',
  ...NOISE_RATES.map((rate) => `noise-${rate}` as const),
  'repeat-run',
  'control-run',
];

/** One training example with the corruption applied to it. */
export interface TrainExample {
  text: string;
  kind: CorruptionKind;
}

/** Score statistics of one seed. */
interface ScoreAnalysis {
  meanScoreByKind: Record<string, number>;
  /** AUC of clean against each corrupted kind (clean expected higher). */
  aucByKind: Record<string, number>;
  /** AUC of clean against all corrupted examples. */
  auc: number;
  /** Spearman of the byte-noise rate (0 for clean) against the mean score per rate. */
  spearmanRateVsMeanScore: number;
  /** Spearman of the byte-noise rate against each example's score (clean and noise examples). */
  spearmanRateVsScore: number;
}

export function analyzeScores(train: TrainExample[], scores: Float32Array): ScoreAnalysis {
  const scoresOf = (kind: CorruptionKind): number[] =>
    train.flatMap((example, i) => (example.kind === kind ? [scores[i]!] : []));
  const clean = scoresOf('clean');
  const corrupted = train.flatMap((example, i) => (example.kind === 'clean' ? [] : [scores[i]!]));

  const meanScoreByKind: Record<string, number> = {};
  const aucByKind: Record<string, number> = {};
  for (const kind of KINDS) {
    meanScoreByKind[kind] = mean(scoresOf(kind));
    if (kind !== 'clean') aucByKind[kind] = rocAuc(clean, scoresOf(kind));
  }

  const rated = train.flatMap((example, i) => {
    const rate = noiseRate(example.kind);
    return rate === null ? [] : [{ rate, score: scores[i]! }];
  });
  const levels = [0, ...NOISE_RATES];
  return {
    meanScoreByKind,
    aucByKind,
    auc: rocAuc(clean, corrupted),
    spearmanRateVsMeanScore: spearman(
      levels,
      levels.map((rate) => meanScoreByKind[rate === 0 ? 'clean' : `noise-${rate}`]!),
    ),
    spearmanRateVsScore: spearman(
      rated.map((item) => item.rate),
      rated.map((item) => item.score),
    ),
  };
}

/** Everything one seed produced (the rater bytes are left out of the JSON). */
export interface SeedResult {
  seed: number;
  counts: Record<string, number>;
  rater: Omit<RaterRun, 'raterBytes' | 'scores' | 'config'>;
  analysis: ScoreAnalysis;
  filtering: FilteringResult;
  seconds: number;
}

/** Prints the score and filtering tables of all seeds. */
export function printCorruptionReport(
  seeds: SeedResult[],
  kinds: readonly CorruptionKind[],
  discardFractions: readonly number[],
): void {
  const seedHeader = seeds.map((result) => `seed ${result.seed}`);

  const scoreRows = kinds.map((kind) =>
    seedRow(
      `${kind} (${seeds[0]!.counts[kind]})`,
      seeds.map((result) => result.analysis.meanScoreByKind[kind]!),
      4,
    ),
  );
  console.log('\nMean rater score per kind (examples per kind in brackets)\n');
  console.log(markdownTable(['kind', ...seedHeader, 'mean ± std'], scoreRows));

  const aucRows = kinds
    .filter((kind) => kind !== 'clean')
    .map((kind) =>
      seedRow(
        `clean vs ${kind}`,
        seeds.map((result) => result.analysis.aucByKind[kind]!),
      ),
    );
  console.log('\nSeparation (targets: Spearman ≤ −0.9, AUC ≥ 0.9)\n');
  console.log(
    markdownTable(
      ['measure', ...seedHeader, 'mean ± std'],
      [
        seedRow(
          'Spearman(noise rate, mean score)',
          seeds.map((result) => result.analysis.spearmanRateVsMeanScore),
        ),
        seedRow(
          'Spearman(noise rate, score) per example',
          seeds.map((result) => result.analysis.spearmanRateVsScore),
        ),
        seedRow(
          'ROC AUC clean vs corrupted',
          seeds.map((result) => result.analysis.auc),
        ),
        ...aucRows,
      ],
    ),
  );

  console.log('\nFiltering at equal budget (gain: "not reached" when undefined)\n');
  console.log(
    filteringTable(
      seeds.map((result) => result.seed),
      seeds.map((result) => result.filtering),
      discardFractions,
    ),
  );
  console.log(
    `\nRater inference cost of scoring the pool, in inner training steps: ` +
      seeds.map((result) => result.filtering.raterCostInSteps.toFixed(1)).join(', '),
  );
}
