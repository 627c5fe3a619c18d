// Correlation and least-squares fits on samples held in memory, for rater comparisons and
// rater reports. Plain arrays of doubles in, numbers out.

/**
 * Returns the Pearson correlation of two equal-length samples, or null when either has zero
 * variance or there are fewer than two points.
 */
export function pearson(x: readonly number[], y: readonly number[]): number | null {
  const n = x.length;
  if (n !== y.length) throw new Error(`pearson: lengths differ (${n} and ${y.length}).`);
  if (n < 2) return null;

  const meanX = x.reduce((sum, value) => sum + value, 0) / n;
  const meanY = y.reduce((sum, value) => sum + value, 0) / n;
  let covariance = 0;
  let varianceX = 0;
  let varianceY = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - meanX;
    const dy = y[i]! - meanY;
    covariance += dx * dy;
    varianceX += dx * dx;
    varianceY += dy * dy;
  }
  if (varianceX === 0 || varianceY === 0) return null;
  return clampCorrelation(covariance / Math.sqrt(varianceX * varianceY));
}

/**
 * Returns Kendall's tau-b of two equal-length samples, which corrects for ties in either sample,
 * or null when either sample is constant or there are fewer than two points. Counts all
 * n(n-1)/2 pairs, so callers bound n (a sample of 10,000 is 5e7 pairs).
 */
export function kendallTauB(x: readonly number[], y: readonly number[]): number | null {
  const n = x.length;
  if (n !== y.length) throw new Error(`kendallTauB: lengths differ (${n} and ${y.length}).`);
  if (n < 2) return null;

  let concordantMinusDiscordant = 0;
  let pairsUntiedInX = 0;
  let pairsUntiedInY = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[i]!;
    const yi = y[i]!;
    for (let j = i + 1; j < n; j++) {
      const signX = Math.sign(x[j]! - xi);
      const signY = Math.sign(y[j]! - yi);
      concordantMinusDiscordant += signX * signY;
      pairsUntiedInX += signX * signX;
      pairsUntiedInY += signY * signY;
    }
  }
  if (pairsUntiedInX === 0 || pairsUntiedInY === 0) return null;
  return clampCorrelation(concordantMinusDiscordant / Math.sqrt(pairsUntiedInX * pairsUntiedInY));
}

export interface LinearFit {
  /** Coefficients of the standardized features, in input order; null for a dropped feature. */
  coefficients: (number | null)[];
  /** 1 - SS_residual / SS_total on the fitted sample; null when y is constant. */
  rSquared: number | null;
  /** R² adjusted for the number of features used: 1 - (1 - R²)(n - 1)/(n - p - 1). */
  adjustedRSquared: number | null;
}

/**
 * Fits y ≈ b0 + Σ b_j z_j by least squares, where z_j is feature j standardized to mean 0 and
 * standard deviation 1, by solving the normal equations (ZᵀZ) b = Zᵀy with Gaussian elimination
 * and partial pivoting. Standardizing keeps ZᵀZ well conditioned when features differ in scale
 * by orders of magnitude (lengths against fractions). A constant feature, or one that is a
 * linear combination of earlier ones, is dropped and gets a null coefficient.
 *
 * @param features one array per feature, each of length n
 * @param y the n targets
 */
export function fitLinear(
  features: readonly (readonly number[])[],
  y: readonly number[],
): LinearFit {
  const n = y.length;
  const standardized = features.map((column) => standardize(column, n));
  const used = standardized.flatMap((column, j) => (column ? [j] : []));

  // Design matrix columns: the intercept, then the non-constant standardized features.
  const columns = [new Array<number>(n).fill(1), ...used.map((j) => standardized[j]!)];
  const solution = solveNormalEquations(columns, y);

  const coefficients: (number | null)[] = features.map(() => null);
  used.forEach((j, k) => (coefficients[j] = solution[k + 1] ?? null));

  const meanY = y.reduce((sum, value) => sum + value, 0) / n;
  let residual = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    let predicted = 0;
    columns.forEach((column, k) => (predicted += (solution[k] ?? 0) * column[i]!));
    residual += (y[i]! - predicted) ** 2;
    total += (y[i]! - meanY) ** 2;
  }
  if (n < 2 || total === 0) return { coefficients, rSquared: null, adjustedRSquared: null };

  const rSquared = Math.max(0, 1 - residual / total);
  const parameters = solution.filter((value) => value !== null).length - 1;
  const adjustedRSquared =
    n - parameters - 1 > 0 ? 1 - ((1 - rSquared) * (n - 1)) / (n - parameters - 1) : null;
  return { coefficients, rSquared, adjustedRSquared };
}

/** Returns (x - mean) / std, or null for a constant column. */
function standardize(column: readonly number[], n: number): number[] | null {
  if (column.length !== n) {
    throw new Error(`fitLinear: a feature has ${column.length} values for ${n} targets.`);
  }
  const mean = column.reduce((sum, value) => sum + value, 0) / n;
  const std = Math.sqrt(column.reduce((sum, value) => sum + (value - mean) ** 2, 0) / n);
  if (!(std > 0)) return null;
  return column.map((value) => (value - mean) / std);
}

/**
 * Solves (XᵀX) b = Xᵀy for the columns of X. A pivot below 1e-9 of the largest diagonal entry
 * marks a column that is (numerically) a combination of the others, so its coefficient is null
 * and the others are solved without it.
 */
function solveNormalEquations(
  columns: readonly number[][],
  y: readonly number[],
): (number | null)[] {
  const p = columns.length;
  const gram = columns.map((a) => columns.map((b) => dot(a, b)));
  const rhs = columns.map((a) => dot(a, y));
  const scale = Math.max(...gram.map((row, i) => row[i]!));

  // Forward elimination on [gram | rhs] with partial pivoting.
  const active = new Array<boolean>(p).fill(true);
  const pivotRow: number[] = [];
  const rows = gram.map((row, i) => [...row, rhs[i]!]);
  let nextRow = 0;
  for (let col = 0; col < p; col++) {
    let best = nextRow;
    for (let r = nextRow + 1; r < p; r++) {
      if (Math.abs(rows[r]![col]!) > Math.abs(rows[best]![col]!)) best = r;
    }
    if (best >= p || Math.abs(rows[best]![col]!) <= 1e-9 * scale) {
      active[col] = false;
      continue;
    }
    [rows[nextRow], rows[best]] = [rows[best]!, rows[nextRow]!];
    const pivot = rows[nextRow]!;
    for (let r = nextRow + 1; r < p; r++) {
      const factor = rows[r]![col]! / pivot[col]!;
      for (let c = col; c <= p; c++) rows[r]![c]! -= factor * pivot[c]!;
    }
    pivotRow[col] = nextRow;
    nextRow++;
  }

  // Back substitution over the active columns; dropped columns count as zero.
  const solution: (number | null)[] = new Array<number | null>(p).fill(null);
  for (let col = p - 1; col >= 0; col--) {
    if (!active[col]) continue;
    const row = rows[pivotRow[col]!]!;
    let value = row[p]!;
    for (let c = col + 1; c < p; c++) value -= row[c]! * (solution[c] ?? 0);
    solution[col] = value / row[col]!;
  }
  return solution;
}

function dot(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

/** Rounding can push |r| a hair past 1. */
function clampCorrelation(r: number): number {
  return Math.max(-1, Math.min(1, r));
}
