// Score analysis and report tables of the SpamAssassin experiment.
import { CHUNK_KINDS, type CorpusExample } from '../../../src/corpus/index.js';
import type { FilteringResult } from './filtering.js';
import type { RaterRun } from './meta-train.js';
import { markdownTable } from './report.js';
import { formatNumber, formatPercent, mean, rocAuc, summarizeSeeds } from './stats.js';
import { filteringTable, formatGain, seedRow } from './tables.js';

/** Score statistics of one content kind (from `classifyChunk`). */
export interface KindRow {
  kind: string;
  count: number;
  /** Share of the training chunks of this kind. */
  share: number;
  meanScore: number;
  /** Share of this kind's chunks that fall in the bottom decile of all scores. */
  inBottomDecile: number;
  /** Share of the bottom decile made of this kind. */
  shareOfBottomDecile: number;
}

/** Mean score of one message group or of a union of groups. */
export interface SourceRow {
  source: string;
  count: number;
  meanScore: number;
}

/** A chunk quoted in the report: its score, kind, source and first bytes. */
export interface QuotedChunk {
  score: number;
  kind: string;
  source: string;
  text: string;
}

export interface ChunkScoreAnalysis {
  kinds: KindRow[];
  sources: SourceRow[];
  /** ROC AUC of ham chunks against spam chunks (ham expected higher); reported, not a target. */
  hamVsSpamAuc: number;
  lowest: QuotedChunk[];
  highest: QuotedChunk[];
}

const SOURCE_GROUPS: Array<[string, (source: string) => boolean]> = [
  ['easy ham', (source) => source.startsWith('easy-ham')],
  ['hard ham', (source) => source.startsWith('hard-ham')],
  ['spam', (source) => source.startsWith('spam')],
];

export function analyzeChunkScores(
  train: CorpusExample[],
  scores: Float32Array,
): ChunkScoreAnalysis {
  const order = Array.from(scores.keys()).sort((i, j) => scores[i]! - scores[j]! || i - j);
  const bottom = new Set(order.slice(0, Math.round(0.1 * order.length)));

  const kinds = CHUNK_KINDS.map((kind) => {
    const members = train.flatMap((example, i) => (example.meta.kind === kind ? [i] : []));
    const inBottom = members.filter((i) => bottom.has(i)).length;
    return {
      kind,
      count: members.length,
      share: members.length / train.length,
      meanScore: mean(members.map((i) => scores[i]!)),
      inBottomDecile: members.length === 0 ? Number.NaN : inBottom / members.length,
      shareOfBottomDecile: inBottom / bottom.size,
    };
  });

  const scoresWhere = (test: (example: CorpusExample) => boolean): number[] =>
    train.flatMap((example, i) => (test(example) ? [scores[i]!] : []));
  const sources = SOURCE_GROUPS.map(([source, test]) => {
    const values = scoresWhere((example) => test(example.source));
    return { source, count: values.length, meanScore: mean(values) };
  });

  const quote = (i: number): QuotedChunk => ({
    score: scores[i]!,
    kind: train[i]!.meta.kind ?? 'other',
    source: train[i]!.source,
    text: train[i]!.text.slice(0, 100),
  });
  return {
    kinds,
    sources,
    hamVsSpamAuc: rocAuc(
      scoresWhere((example) => example.label === 'ham'),
      scoresWhere((example) => example.label === 'spam'),
    ),
    lowest: order.slice(0, 5).map(quote),
    highest: order.slice(-5).reverse().map(quote),
  };
}

/** A run trained without one chunk kind, compared with the unfiltered baseline. */
export interface KindDropRow {
  kind: string;
  keptExamples: number;
  finalLoss: number;
  /** Compute gain, or null when the run never reached the baseline's final loss. */
  gain: number | null;
}

/** Everything one seed produced (the rater bytes are left out of the JSON). */
export interface SpamSeedResult {
  seed: number;
  rater: Omit<RaterRun, 'raterBytes' | 'scores' | 'config'>;
  analysis: ChunkScoreAnalysis;
  filtering: FilteringResult;
  kindDrops: KindDropRow[];
  seconds: number;
}

/** Prints the kind, source, AUC and filtering tables of all seeds. */
export function printSpamAssassinReport(
  seeds: SpamSeedResult[],
  discardFractions: readonly number[],
): void {
  const seedHeader = seeds.map((result) => `seed ${result.seed}`);

  console.log('\nChunk kinds: share of the training chunks, mean score, bottom decile\n');
  const kindRows = CHUNK_KINDS.map((kind, k) => {
    const rows = seeds.map((result) => result.analysis.kinds[k]!);
    const formatShares = (values: number[]): string => values.map(formatPercent).join(', ');
    return [
      kind,
      formatPercent(mean(rows.map((row) => row.share))),
      ...seedRow(
        '',
        rows.map((row) => row.meanScore),
        3,
      ).slice(1),
      formatShares(rows.map((row) => row.inBottomDecile)),
      formatShares(rows.map((row) => row.shareOfBottomDecile)),
    ];
  });
  console.log(
    markdownTable(
      [
        'kind',
        'share of chunks',
        ...seedHeader.map((seed) => `mean score ${seed}`),
        'mean ± std',
        'of the kind in the bottom decile (per seed)',
        'share of the bottom decile (per seed)',
      ],
      kindRows,
    ),
  );

  console.log('\nMean score per source, and ham-vs-spam AUC (reported, not a target)\n');
  const sourceRows = SOURCE_GROUPS.map(([source], s) =>
    seedRow(
      source,
      seeds.map((result) => result.analysis.sources[s]!.meanScore),
    ),
  );
  sourceRows.push(
    seedRow(
      'AUC ham vs spam',
      seeds.map((result) => result.analysis.hamVsSpamAuc),
    ),
  );
  console.log(markdownTable(['source', ...seedHeader, 'mean ± std'], sourceRows));

  console.log('\nFiltering at equal budget (gain: "not reached" when undefined)\n');
  console.log(
    filteringTable(
      seeds.map((result) => result.seed),
      seeds.map((result) => result.filtering),
      discardFractions,
    ),
  );
  const kindDrops = seeds[0]!.kindDrops;
  if (kindDrops.length > 0) {
    console.log('\nRuns without one chunk kind (a filter that knows the kinds), same budget\n');
    const rows = kindDrops.map((row, k) => [
      row.kind,
      String(row.keptExamples),
      ...seeds.map((result) => formatNumber(result.kindDrops[k]!.finalLoss, 4)),
      seeds.map((result) => formatGain(result.kindDrops[k]!.gain)).join(', '),
    ]);
    console.log(
      markdownTable(
        [
          'dropped kind',
          'kept (first seed)',
          ...seedHeader.map((seed) => `held-out loss ${seed}`),
          'gain per seed',
        ],
        rows,
      ),
    );
  }

  const costs = summarizeSeeds(seeds.map((result) => result.filtering.raterCostInSteps));
  console.log(
    `\nRater inference cost of scoring the pool: ${costs.mean.toFixed(1)} inner training steps`,
  );
}
