// The second-order-safe op set against analytic derivatives and finite differences, on every
// backend, plus the tfjs 4.22 behaviour that makes the set necessary.
import { beforeAll, describe, expect, test } from 'vitest';
import {
  embeddingLookup,
  exp,
  expOfKnownValue,
  gelu,
  logMeanExpPool,
  logSigmoid,
  logSoftmax,
  logSumExp,
  sigmoid,
  softmax,
  softmaxCrossEntropy,
  softplus,
  tanh,
} from '../../src/ml/ops/index.js';
import { tf } from '../../src/ml/tf.js';
import {
  centralDifference,
  nthDerivative,
  relativeError,
  take,
  TEST_BACKENDS,
  useBackend,
  valueAt,
} from './helpers.js';

const POINTS = [-6, -2, -0.5, 0, 0.3, 1, 2, 5];
const sig = (x: number): number => 1 / (1 + Math.exp(-x));

/** Checks derivative `order` of `op` against `expected` at every point, within `tolerance`. */
function expectDerivative(
  op: (x: tf.Tensor) => tf.Tensor,
  order: number,
  expected: (x: number) => number,
  tolerance: number,
): void {
  for (const x of POINTS) {
    const got = nthDerivative(op, order, x);
    const want = expected(x);
    expect(Math.abs(got - want), `order ${order} at x=${x}: got ${got}, want ${want}`).toBeLessThan(
      tolerance * Math.max(1, Math.abs(want)),
    );
  }
}

describe.each(TEST_BACKENDS)('safe ops on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  test('exp derivatives of orders 0 to 3', () => {
    for (let order = 0; order <= 3; order++) {
      expectDerivative(exp, order, Math.exp, 1e-5);
    }
  });

  test('expOfKnownValue derivatives of orders 1 to 3', () => {
    const op = (x: tf.Tensor): tf.Tensor => expOfKnownValue(x, tf.exp(x));
    for (let order = 0; order <= 3; order++) {
      expectDerivative(op, order, Math.exp, 1e-5);
    }
  });

  test('sigmoid against analytic derivatives', () => {
    expectDerivative(sigmoid, 0, sig, 1e-6);
    expectDerivative(sigmoid, 1, (x) => sig(x) * (1 - sig(x)), 1e-5);
    expectDerivative(sigmoid, 2, (x) => sig(x) * (1 - sig(x)) * (1 - 2 * sig(x)), 1e-5);
  });

  test('sigmoid stays finite far from zero', () => {
    for (const x of [-100, -40, 40, 100]) {
      for (let order = 0; order <= 2; order++) {
        expect(Number.isFinite(nthDerivative(sigmoid, order, x)), `order ${order} at ${x}`).toBe(
          true,
        );
      }
    }
  });

  test('tanh against analytic derivatives', () => {
    const t = Math.tanh;
    expectDerivative(tanh, 0, t, 1e-6);
    expectDerivative(tanh, 1, (x) => 1 - t(x) ** 2, 1e-5);
    expectDerivative(tanh, 2, (x) => -2 * t(x) * (1 - t(x) ** 2), 1e-5);
  });

  test('softplus and logSigmoid against analytic derivatives', () => {
    expectDerivative(softplus, 0, (x) => Math.log1p(Math.exp(x)), 1e-6);
    expectDerivative(softplus, 1, sig, 1e-6);
    expectDerivative(softplus, 2, (x) => sig(x) * (1 - sig(x)), 1e-5);
    expectDerivative(logSigmoid, 2, (x) => -sig(x) * (1 - sig(x)), 1e-5);
  });

  test('gelu second derivative against analytic and finite differences', () => {
    const s = 1.702;
    const geluPrime = (x: number): number => sig(s * x) + x * s * sig(s * x) * (1 - sig(s * x));
    const geluSecond = (x: number): number => {
      const a = sig(s * x);
      const d1 = a * (1 - a);
      return 2 * s * d1 + x * s * s * d1 * (1 - 2 * a);
    };
    expect(geluSecond(2)).toBeCloseTo(-0.0628, 4);
    expectDerivative(gelu, 1, geluPrime, 1e-5);
    expectDerivative(gelu, 2, geluSecond, 1e-5);
    for (const x of POINTS) {
      // Finite differences of the autodiff first derivative, float32: h = 1e-2 keeps both the
      // rounding error (~1e-5) and the truncation error (~h²·f'''' ≈ 1e-4) small.
      const fd = centralDifference((y) => nthDerivative(gelu, 1, y), x, 1e-2);
      expect(Math.abs(fd - nthDerivative(gelu, 2, x)), `x=${x}`).toBeLessThan(2e-3);
    }
  });

  test('logSumExp gradient and Hessian-vector product', () => {
    const x = [0.5, -1, 2, 2, 0.1]; // includes a tie at the max
    const v = [1, -2, 0.5, 0.25, 3];
    const weights = x.map(Math.exp);
    const total = weights.reduce((a, b) => a + b, 0);
    const p = weights.map((w) => w / total);
    const pv = p.reduce((acc, pi, i) => acc + pi * v[i]!, 0);
    const hv = p.map((pi, i) => pi * v[i]! - pi * pv); // (diag(p) - p pᵀ) v

    expect(take(tf.tidy(() => logSumExp(tf.tensor1d(x))))[0]).toBeCloseTo(Math.log(total), 5);
    const gradient = take(tf.tidy(() => tf.grad((t: tf.Tensor) => logSumExp(t))(tf.tensor1d(x))));
    gradient.forEach((g, i) => expect(g).toBeCloseTo(p[i]!, 6));

    const hvp = tf.tidy(() => {
      const direction = tf.tensor1d(v);
      const gradFn = tf.grad((t: tf.Tensor) => logSumExp(t));
      return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(gradFn(t), direction)))(tf.tensor1d(x));
    });
    take(hvp).forEach((h, i) => expect(h).toBeCloseTo(hv[i]!, 6));
  });

  test('softmax and logSoftmax match their definitions', () => {
    const x = [
      [1, 2, 3, -50],
      [0, 0, 0, 0],
    ];
    const sm = take(tf.tidy(() => softmax(tf.tensor2d(x))));
    const lsm = take(tf.tidy(() => logSoftmax(tf.tensor2d(x))));
    x.forEach((row, r) => {
      const total = row.reduce((a, b) => a + Math.exp(b), 0);
      row.forEach((value, c) => {
        expect(sm[r * 4 + c]).toBeCloseTo(Math.exp(value) / total, 6);
        expect(lsm[r * 4 + c]).toBeCloseTo(value - Math.log(total), 5);
      });
    });
  });

  test('softmax Hessian-vector product against finite differences', () => {
    // f(x) = Σ_i c_i softmax(x)_i; compare the HVP with differences of the autodiff gradient.
    const x = [0.3, -0.7, 1.1, 0.2];
    const c = [1, -1, 2, 0.5];
    const v = [0.2, 0.4, -0.3, 1];
    const gradientAt = (point: number[]): number[] =>
      take(
        tf.tidy(() =>
          tf.grad((t: tf.Tensor) => tf.sum(tf.mul(softmax(t), tf.tensor1d(c))))(tf.tensor1d(point)),
        ),
      );
    const hvp = take(
      tf.tidy(() => {
        const gradFn = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(softmax(t), tf.tensor1d(c))));
        return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(gradFn(t), tf.tensor1d(v))))(tf.tensor1d(x));
      }),
    );
    const h = 1e-2;
    const plus = gradientAt(x.map((xi, i) => xi + h * v[i]!));
    const minus = gradientAt(x.map((xi, i) => xi - h * v[i]!));
    hvp.forEach((value, i) => {
      expect(Math.abs(value - (plus[i]! - minus[i]!) / (2 * h)), `component ${i}`).toBeLessThan(
        2e-3,
      );
    });
  });

  test('softmax cross-entropy value, gradient and Hessian', () => {
    const logits = [
      [2, 1, 0.1],
      [-1, 3, 0.5],
    ];
    const labels = [
      [0, 1, 0],
      [0, 0, 1],
    ];
    const loss = take(tf.tidy(() => softmaxCrossEntropy(tf.tensor2d(logits), tf.tensor2d(labels))));
    const grad = take(
      tf.tidy(() =>
        tf.grad((t: tf.Tensor) =>
          tf.sum(softmaxCrossEntropy(t as tf.Tensor2D, tf.tensor2d(labels))),
        )(tf.tensor2d(logits)),
      ),
    );
    logits.forEach((row, r) => {
      const total = row.reduce((a, b) => a + Math.exp(b), 0);
      const target = labels[r]!.indexOf(1);
      expect(loss[r]).toBeCloseTo(Math.log(total) - row[target]!, 5);
      row.forEach((value, c) => {
        expect(grad[r * 3 + c]).toBeCloseTo(Math.exp(value) / total - labels[r]![c]!, 6);
      });
    });
    // The Hessian of the cross-entropy is the softmax Jacobian diag(p) - p pᵀ, per row.
    const hessianDiagonal = take(
      tf.tidy(() => {
        const gradFn = tf.grad((t: tf.Tensor) =>
          tf.sum(softmaxCrossEntropy(t as tf.Tensor2D, tf.tensor2d(labels))),
        );
        const unit = tf.tensor2d([
          [1, 0, 0],
          [0, 0, 0],
        ]);
        return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(gradFn(t), unit)))(tf.tensor2d(logits));
      }),
    );
    const row0 = logits[0]!.map(Math.exp);
    const total0 = row0.reduce((a, b) => a + b, 0);
    const p = row0.map((w) => w / total0);
    expect(hessianDiagonal[0]).toBeCloseTo(p[0]! - p[0]! * p[0]!, 6);
    expect(hessianDiagonal[1]).toBeCloseTo(-p[0]! * p[1]!, 6);
    expect(hessianDiagonal[3]).toBeCloseTo(0, 7);
  });

  test('logMeanExpPool value, limits and mask', () => {
    const x = [
      [[1], [3], [100]],
      [[-2], [0.5], [4]],
    ]; // [2, 3, 1]
    const mask = [
      [1, 1, 0],
      [1, 1, 1],
    ];
    const pooled = take(tf.tidy(() => logMeanExpPool(tf.tensor3d(x), tf.tensor2d(mask), 1)));
    expect(pooled[0]).toBeCloseTo(Math.log((Math.exp(1) + Math.exp(3)) / 2), 5);
    expect(pooled[1]).toBeCloseTo(Math.log((Math.exp(-2) + Math.exp(0.5) + Math.exp(4)) / 3), 5);
    const cold = take(tf.tidy(() => logMeanExpPool(tf.tensor3d(x), tf.tensor2d(mask), 0.01)));
    expect(cold[0]).toBeCloseTo(3, 1);
    const hot = take(tf.tidy(() => logMeanExpPool(tf.tensor3d(x), tf.tensor2d(mask), 1000)));
    expect(hot[0]).toBeCloseTo(2, 2);
  });

  test('logMeanExpPool gradient ignores masked positions and ties', () => {
    const x = tf.tensor3d([[[2], [2], [2], [50]]]); // a three-way tie and one masked outlier
    const mask = tf.tensor2d([[1, 1, 1, 0]]);
    const gradient = take(
      tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(logMeanExpPool(t as tf.Tensor3D, mask)))(x)),
    );
    expect(gradient[0]).toBeCloseTo(1 / 3, 6);
    expect(gradient[1]).toBeCloseTo(1 / 3, 6);
    expect(gradient[2]).toBeCloseTo(1 / 3, 6);
    expect(gradient[3]).toBe(0);
    x.dispose();
    mask.dispose();
  });

  test('logMeanExpPool Hessian-vector product against finite differences', () => {
    const values = [0.1, -0.4, 0.9, 0.3, 1.5, -1.2];
    const direction = [1, 0.5, -0.5, 2, -1, 0.3];
    const mask = [
      [1, 1, 0],
      [1, 1, 1],
    ];
    const gradientAt = (point: number[]): number[] =>
      take(
        tf.tidy(() =>
          tf.grad((t: tf.Tensor) =>
            tf.sum(
              tf.square(
                logMeanExpPool(tf.reshape(t, [2, 3, 1]) as tf.Tensor3D, tf.tensor2d(mask), 0.7),
              ),
            ),
          )(tf.tensor1d(point)),
        ),
      );
    const hvp = take(
      tf.tidy(() => {
        const gradFn = tf.grad((t: tf.Tensor) =>
          tf.sum(
            tf.square(
              logMeanExpPool(tf.reshape(t, [2, 3, 1]) as tf.Tensor3D, tf.tensor2d(mask), 0.7),
            ),
          ),
        );
        return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(gradFn(t), tf.tensor1d(direction))))(
          tf.tensor1d(values),
        );
      }),
    );
    const h = 1e-2;
    const plus = gradientAt(values.map((v, i) => v + h * direction[i]!));
    const minus = gradientAt(values.map((v, i) => v - h * direction[i]!));
    hvp.forEach((value, i) => {
      expect(Math.abs(value - (plus[i]! - minus[i]!) / (2 * h)), `component ${i}`).toBeLessThan(
        3e-3,
      );
    });
  });

  test('embeddingLookup forward, scatter gradient and second order', () => {
    const table = tf.tensor2d([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const ids = tf.tensor1d([2, 0, 2, 2], 'int32');
    expect(take(tf.tidy(() => embeddingLookup(table, ids)))).toEqual([5, 6, 1, 2, 5, 6, 5, 6]);

    // f(T) = Σ lookup(T)², so ∂f/∂T[r] = 2 · count(r) · T[r].
    const f = (t: tf.Tensor): tf.Tensor =>
      tf.sum(tf.square(embeddingLookup(t as tf.Tensor2D, ids)));
    expect(take(tf.tidy(() => tf.grad(f)(table)))).toEqual([2, 4, 0, 0, 30, 36]);

    // Its Hessian is diagonal with 2 · count(r), so H·v = 2 · count(r) · v[r].
    const v = tf.tensor2d([
      [1, -1],
      [2, 2],
      [0.5, 3],
    ]);
    const hvp = take(
      tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.grad(f)(t), v)))(table)),
    );
    expect(hvp).toEqual([2, -2, 0, 0, 3, 18]);
    tf.dispose([table, ids, v]);
  });

  test('embeddingLookup rejects ids outside the table', () => {
    const table = tf.zeros([3, 2]) as tf.Tensor2D;
    const ids = tf.tensor1d([0, 3], 'int32');
    expect(() => embeddingLookup(table, ids)).toThrow(/3/);
    tf.dispose([table, ids]);
  });

  test('nested gradients leak no tensors', () => {
    const run = (): void => {
      nthDerivative(gelu, 2, 0.7);
      nthDerivative((x) => logSumExp(tf.stack([x, tf.mul(x, 2)])), 2, 0.3);
      valueAt(tanh, 0.1);
    };
    run();
    const before = tf.memory().numTensors;
    run();
    run();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe.each(TEST_BACKENDS)('plain tfjs ops on %s (why the safe set exists)', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  /** Returns the nested-gradient value, or null when tfjs cannot compute it at all. */
  function secondDerivativeOrNull(f: (x: tf.Tensor) => tf.Tensor, x: number): number | null {
    try {
      return nthDerivative(f, 2, x);
    } catch {
      return null;
    }
  }

  test('gelu built on tf.sigmoid gets a wrong second derivative', () => {
    const plain = secondDerivativeOrNull((x) => tf.mul(x, tf.sigmoid(tf.mul(x, 1.702))), 2);
    const safe = nthDerivative(gelu, 2, 2);
    expect(safe).toBeCloseTo(-0.0628, 3);
    // tfjs 4.22 returns about 0.118 (the saved sigmoid output is treated as a constant).
    expect(plain === null || relativeError(plain, safe) > 0.5).toBe(true);
  });

  test('tf.exp and tf.tanh lose their second derivatives', () => {
    for (const [name, plainOp, want] of [
      ['exp', tf.exp, (x: number) => Math.exp(x)],
      ['tanh', tf.tanh, (x: number) => -2 * Math.tanh(x) * (1 - Math.tanh(x) ** 2)],
    ] as const) {
      const plain = secondDerivativeOrNull(plainOp, 0.8);
      expect(plain === null || relativeError(plain, want(0.8)) > 0.5, `${name}: got ${plain}`).toBe(
        true,
      );
    }
  });
});
