/**
 * Seeded pseudo-random numbers for everything random in `src/ml`: parameter initialization,
 * batch sampling, resets and filters. xoshiro128** (Blackman and Vigna, 2018) on four 32-bit
 * words, seeded through splitmix32, so the whole generator state fits in a checkpoint.
 */

/** Serializable state of a {@link Prng}: four unsigned 32-bit words, not all zero. */
export type PrngState = readonly [number, number, number, number];

/** Deterministic generator; the same seed always yields the same sequence on every platform. */
export class Prng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** Creates a generator from an integer seed (any safe integer) or from a saved state. */
  constructor(seedOrState: number | PrngState) {
    if (typeof seedOrState === 'number') {
      if (!Number.isSafeInteger(seedOrState)) {
        throw new Error(`Prng: seed must be a safe integer, got ${seedOrState}`);
      }
      let x = (seedOrState ^ Math.floor(seedOrState / 2 ** 32)) >>> 0;
      const next = (): number => {
        x = (x + 0x9e3779b9) >>> 0;
        let z = x;
        z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
        z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
        return (z ^ (z >>> 16)) >>> 0;
      };
      this.s0 = next();
      this.s1 = next();
      this.s2 = next();
      this.s3 = next();
    } else {
      [this.s0, this.s1, this.s2, this.s3] = seedOrState.map((word) => word >>> 0) as [
        number,
        number,
        number,
        number,
      ];
    }
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) {
      throw new Error('Prng: state must not be all zero');
    }
  }

  /** Returns the state, from which `new Prng(state)` continues the same sequence. */
  state(): PrngState {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  /** Returns a uniform unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Returns a uniform float in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const high = this.nextUint32() >>> 5; // 27 bits
    const low = this.nextUint32() >>> 6; // 26 bits
    return (high * 67108864 + low) / 9007199254740992;
  }

  /** Returns a uniform integer in [0, n) without modulo bias. */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 2 ** 32) {
      throw new Error(`Prng.nextInt: n must be an integer in [1, 2^32], got ${n}`);
    }
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) {
        return x % n;
      }
    }
  }

  /** Returns a standard normal sample (Box-Muller; one of the pair is discarded to keep no cache). */
  nextNormal(): number {
    let u = this.nextFloat();
    while (u === 0) {
      u = this.nextFloat();
    }
    const v = this.nextFloat();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /**
   * Returns k distinct indices from [0, n) (Floyd's algorithm: O(k) time and memory, so drawing a
   * small batch from a large dataset costs nothing per unused example).
   */
  sampleWithoutReplacement(n: number, k: number): Int32Array {
    if (!Number.isInteger(k) || k < 0 || k > n) {
      throw new Error(`Prng.sampleWithoutReplacement: k must be an integer in [0, ${n}], got ${k}`);
    }
    const chosen = new Set<number>();
    const result = new Int32Array(k);
    let count = 0;
    for (let j = n - k; j < n; j++) {
      const t = this.nextInt(j + 1);
      const pick = chosen.has(t) ? j : t;
      chosen.add(pick);
      result[count++] = pick;
    }
    return result;
  }

  /** Returns a uniformly random permutation of [0, n) (Fisher-Yates). */
  permutation(n: number): Int32Array {
    const result = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      result[i] = i;
    }
    for (let i = n - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = result[i]!;
      result[i] = result[j]!;
      result[j] = tmp;
    }
    return result;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
