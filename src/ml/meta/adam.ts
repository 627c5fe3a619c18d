/**
 * The rater's optimiser: Adam over plain Float32Arrays with global-norm clipping. It never needs
 * derivatives, so it runs in JavaScript, where its state is trivially exact to checkpoint.
 */

/** Adam state of one parameter list. */
export interface AdamState {
  m: Float32Array[];
  v: Float32Array[];
  /** Updates applied so far. */
  step: number;
}

/** Adam hyperparameters. */
export interface AdamSettings {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/** Returns a zero state for parameters shaped like `params`. */
export function createAdamState(params: readonly Float32Array[]): AdamState {
  return {
    m: params.map((p) => new Float32Array(p.length)),
    v: params.map((p) => new Float32Array(p.length)),
    step: 0,
  };
}

/**
 * Returns the parameters after one Adam step on `grads` (textbook form, ε outside the square
 * root) and advances `state` in place. `params` is not modified.
 */
export function adamStep(
  params: readonly Float32Array[],
  grads: readonly Float32Array[],
  state: AdamState,
  settings: AdamSettings,
): Float32Array[] {
  const { learningRate, beta1, beta2, epsilon } = settings;
  state.step += 1;
  const correction1 = 1 - beta1 ** state.step;
  const correction2 = 1 - beta2 ** state.step;
  return params.map((values, i) => {
    const g = grads[i]!;
    const m = state.m[i]!;
    const v = state.v[i]!;
    const next = new Float32Array(values.length);
    for (let j = 0; j < values.length; j++) {
      m[j] = beta1 * m[j]! + (1 - beta1) * g[j]!;
      v[j] = beta2 * v[j]! + (1 - beta2) * g[j]! * g[j]!;
      const mHat = m[j]! / correction1;
      const vHat = v[j]! / correction2;
      next[j] = values[j]! - (learningRate * mHat) / (Math.sqrt(vHat) + epsilon);
    }
    return next;
  });
}

/** Returns sqrt(Σ x²) over all arrays (NaN or Infinity when any element is not finite). */
export function globalNorm(arrays: readonly Float32Array[]): number {
  let sum = 0;
  for (const values of arrays) {
    for (let j = 0; j < values.length; j++) {
      sum += values[j]! * values[j]!;
    }
  }
  return Math.sqrt(sum);
}

/** Returns `grads` scaled by clipNorm / norm when their global norm exceeds `clipNorm`. */
export function clipByGlobalNorm(grads: readonly Float32Array[], clipNorm: number): Float32Array[] {
  const norm = globalNorm(grads);
  if (!(norm > clipNorm)) {
    return grads.map((g) => Float32Array.from(g));
  }
  const scale = clipNorm / norm;
  return grads.map((g) => g.map((x) => x * scale));
}

/** Returns the elementwise mean of several parameter lists of the same shapes. */
export function meanOf(lists: readonly (readonly Float32Array[])[]): Float32Array[] {
  const first = lists[0];
  if (first === undefined) {
    throw new Error('meanOf: needs at least one parameter list');
  }
  return first.map((values, i) => {
    const mean = new Float32Array(values.length);
    for (let j = 0; j < values.length; j++) {
      let sum = 0;
      for (const list of lists) {
        sum += list[i]![j]!;
      }
      mean[j] = sum / lists.length;
    }
    return mean;
  });
}

/** Returns true when every element of every array is finite. */
export function allFinite(arrays: readonly Float32Array[]): boolean {
  return arrays.every((values) => values.every(Number.isFinite));
}
