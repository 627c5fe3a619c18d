/** Small statistics helpers on plain arrays. */

/** Pearson correlation of two equally long samples; NaN when either has zero variance. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length || a.length < 2) {
    throw new Error(
      `pearson: needs two samples of the same length >= 2, got ${a.length} and ${b.length}`,
    );
  }
  const n = a.length;
  let meanA = 0;
  let meanB = 0;
  for (let i = 0; i < n; i++) {
    meanA += a[i]!;
    meanB += b[i]!;
  }
  meanA /= n;
  meanB /= n;
  let covariance = 0;
  let varianceA = 0;
  let varianceB = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - meanA;
    const db = b[i]! - meanB;
    covariance += da * db;
    varianceA += da * da;
    varianceB += db * db;
  }
  return covariance / Math.sqrt(varianceA * varianceB);
}

/** Ranks 1..n of `values`, ties sharing their average rank. */
export function ranks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => values[i]! - values[j]!);
  const result = new Float64Array(n);
  let start = 0;
  while (start < n) {
    let end = start + 1;
    while (end < n && values[order[end]!] === values[order[start]!]) {
      end++;
    }
    const averageRank = (start + end + 1) / 2; // ranks start .. end-1, counted from 1
    for (let k = start; k < end; k++) {
      result[order[k]!] = averageRank;
    }
    start = end;
  }
  return result;
}

/** Spearman rank correlation (Pearson of average ranks); NaN when either sample is constant. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return pearson(ranks(a), ranks(b));
}
