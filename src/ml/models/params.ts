/**
 * Model parameters as plain lists of tensors in a fixed order given by a list of specs, so the
 * meta-gradient code can pass them to `tf.grads` directly and the names exist only for reading
 * and serialization.
 */
import type { Prng } from '../prng.js';
import { tf } from '../tf.js';

/** Initial values of one parameter. */
export type ParamInit = { kind: 'normal'; std: number } | { kind: 'zeros' };

/** Name, shape and initialization of one parameter. */
export interface ParamSpec {
  name: string;
  shape: number[];
  init: ParamInit;
}

/** Returns the number of scalars in `shape`. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((product, size) => product * size, 1);
}

/** Returns the total number of scalars described by `specs`. */
export function countParams(specs: readonly ParamSpec[]): number {
  return specs.reduce((total, spec) => total + sizeOf(spec.shape), 0);
}

/** Draws initial values for every spec, in order, from `prng`. */
export function initParams(specs: readonly ParamSpec[], prng: Prng): Float32Array[] {
  return specs.map((spec) => {
    const values = new Float32Array(sizeOf(spec.shape));
    if (spec.init.kind === 'normal') {
      for (let i = 0; i < values.length; i++) {
        values[i] = prng.nextNormal() * spec.init.std;
      }
    }
    return values;
  });
}

/** Creates one tensor per spec from `arrays` (same order); the caller disposes them. */
export function paramsToTensors(
  specs: readonly ParamSpec[],
  arrays: readonly Float32Array[],
): tf.Tensor[] {
  if (arrays.length !== specs.length) {
    throw new Error(`paramsToTensors: expected ${specs.length} arrays, got ${arrays.length}`);
  }
  return specs.map((spec, i) => {
    const values = arrays[i]!;
    if (values.length !== sizeOf(spec.shape)) {
      throw new Error(
        `paramsToTensors: parameter "${spec.name}" needs ${sizeOf(spec.shape)} values for shape [${spec.shape}], got ${values.length}`,
      );
    }
    return tf.tensor(values, spec.shape, 'float32');
  });
}

/** Reads tensors back into arrays (one `dataSync` each). */
export function tensorsToArrays(tensors: readonly tf.Tensor[]): Float32Array[] {
  return tensors.map((t) => Float32Array.from(t.dataSync() as Float32Array));
}

/** Maps tensors (in spec order) to their names. */
export function byName(
  specs: readonly ParamSpec[],
  tensors: readonly tf.Tensor[],
): Record<string, tf.Tensor> {
  const record: Record<string, tf.Tensor> = {};
  specs.forEach((spec, i) => {
    record[spec.name] = tensors[i]!;
  });
  return record;
}

/** Returns the tensor named `name`, or throws naming the missing parameter. */
export function param<T extends tf.Tensor = tf.Tensor>(
  record: Record<string, tf.Tensor>,
  name: string,
): T {
  const tensor = record[name];
  if (tensor === undefined) {
    throw new Error(`param: model has no parameter "${name}"`);
  }
  return tensor as T;
}
