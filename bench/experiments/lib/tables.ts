// Report tables shared by the experiments.
import type { FilteringResult, FilterRow } from './filtering.js';
import { markdownTable } from './report.js';
import { formatNumber, formatPercent, formatSummary, summarizeSeeds } from './stats.js';

/** Formats a gain, or "not reached" when the run never reached the baseline's loss. */
export function formatGain(gain: number | null): string {
  return gain === null ? 'not reached' : formatPercent(gain);
}

/** Formats the mean of per-seed gains, or the number of seeds that reached the baseline. */
export function formatMeanGain(gains: Array<number | null>): string {
  const reached = gains.filter((gain): gain is number => gain !== null);
  if (reached.length < gains.length) {
    return `reached in ${reached.length} of ${gains.length} seeds`;
  }
  const summary = summarizeSeeds(reached);
  return `${formatPercent(summary.mean)} ± ${formatPercent(summary.std)}`;
}

/**
 * Builds the table of held-out loss at equal budget and compute gains per discard fraction and
 * filter, with the per-seed gains in one cell. `results` contains one filtering result per seed,
 * in seed order.
 */
export function filteringTable(
  seeds: number[],
  results: FilteringResult[],
  discardFractions: readonly number[],
): string {
  const header = [
    'discard',
    'filter',
    'held-out loss (mean ± std)',
    `gain per seed (${seeds.join(', ')})`,
    'mean gain',
    'net gain per seed',
    'mean net gain',
  ];
  const rows: string[][] = [
    [
      '0%',
      'none (baseline)',
      formatSummary(summarizeSeeds(results.map((result) => result.baselineFinalLoss)), 4),
      '',
      '',
      '',
      '',
    ],
  ];
  for (const fraction of discardFractions) {
    for (const filter of ['rater', 'random'] as const) {
      const matching = results.map((result) => findRow(result, fraction, filter));
      const gains = matching.map((row) => row.gain);
      const netGains = matching.map((row) => row.netGain);
      rows.push([
        formatPercent(fraction),
        filter === 'rater' ? 'rater (batch top-K)' : 'random drop',
        formatSummary(summarizeSeeds(matching.map((row) => row.finalLoss)), 4),
        gains.map(formatGain).join(', '),
        formatMeanGain(gains),
        netGains.map(formatGain).join(', '),
        formatMeanGain(netGains),
      ]);
    }
  }
  return markdownTable(header, rows);
}

export function findRow(
  result: FilteringResult,
  fraction: number,
  filter: FilterRow['filter'],
): FilterRow {
  const row = result.rows.find(
    (item) => item.discardFraction === fraction && item.filter === filter,
  );
  if (row === undefined) throw new Error(`no ${filter} row at discard fraction ${fraction}`);
  return row;
}

/** Builds a per-seed row: the label, one formatted value per seed, and mean ± std. */
export function seedRow(label: string, values: number[], digits = 3): string[] {
  return [
    label,
    ...values.map((value) => formatNumber(value, digits)),
    formatSummary(summarizeSeeds(values), digits),
  ];
}
