// Shared helpers for the ml tests: backend selection, nested derivatives and tiny configs.
import { initBackend, type BackendName } from '../../src/ml/backend.js';
import { tf } from '../../src/ml/tf.js';

/** Backends every numeric test runs on. */
export const TEST_BACKENDS: BackendName[] = ['wasm', 'cpu'];

/** Starts `name` and fails loudly if it fell back to another backend. */
export async function useBackend(name: BackendName): Promise<void> {
  const info = await initBackend(name);
  if (info.name !== name) {
    throw new Error(`test needs backend ${name} but got ${info.name}: ${info.fallbackReason}`);
  }
}

/** Returns the n-th derivative of an elementwise scalar function at x, by nested tf.grad. */
export function nthDerivative(f: (x: tf.Tensor) => tf.Tensor, n: number, x: number): number {
  let g: (x: tf.Tensor) => tf.Tensor = f;
  for (let i = 0; i < n; i++) {
    const inner = g;
    g = tf.grad((t: tf.Tensor) => tf.sum(inner(t)));
  }
  return take(tf.tidy(() => g(tf.scalar(x))))[0]!;
}

/** Evaluates an elementwise scalar function at x. */
export function valueAt(f: (x: tf.Tensor) => tf.Tensor, x: number): number {
  const result = tf.tidy(() => f(tf.scalar(x)));
  const value = result.dataSync()[0]!;
  result.dispose();
  return value;
}

/** Central difference (f(x + h) - f(x - h)) / 2h of a JavaScript function. */
export function centralDifference(f: (x: number) => number, x: number, h: number): number {
  return (f(x + h) - f(x - h)) / (2 * h);
}

/** Reads a tensor into a plain array and disposes it. */
export function take(t: tf.Tensor): number[] {
  const values = Array.from(t.dataSync());
  t.dispose();
  return values;
}

/** Relative difference |a - b| / max(|a|, |b|, floor). */
export function relativeError(a: number, b: number, floor = 1e-8): number {
  return Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), floor);
}
