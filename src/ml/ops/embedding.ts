/**
 * Embedding lookup (a row gather) whose gradient needs no `UnsortedSegmentSum` kernel, which the
 * wasm backend does not register. The forward pass is a plain `tf.gather`; only the backward pass
 * scatters, as a one-hot matMul, which is linear in the upstream gradient and so exact at every
 * order.
 */
import { tf } from '../tf.js';
import { oneHotFloat } from './one-hot.js';

type GradientFunction = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];

const lookup = tf.customGrad((...args: unknown[]) => {
  const table = args[0] as tf.Tensor2D;
  const ids = args[1] as tf.Tensor1D;
  const save = args[2] as tf.GradSaveFunc;
  const vocabulary = table.shape[0];
  save([ids]);
  const gradFunc: GradientFunction = (dy, saved) => {
    const oneHot = oneHotFloat(saved[0]!, vocabulary) as tf.Tensor2D; // [N, V]
    const tableGradient = tf.matMul(oneHot, dy as tf.Tensor2D, true, false); // [V, D]
    // Integer ids get no gradient, but the engine wants a float32 tensor in their slot.
    return [tableGradient, tf.zeros(saved[0]!.shape, 'float32')];
  };
  return { value: tf.gather(table, ids), gradFunc };
});

/**
 * Returns rows `ids` of `table`.
 *
 * @param table float32 [V, D]
 * @param ids int32 [N], each in [0, V)
 * @returns float32 [N, D]
 */
export function embeddingLookup(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  if (table.rank !== 2 || ids.rank !== 1 || ids.dtype !== 'int32') {
    throw new Error(
      `embeddingLookup: table must be float32 [V, D] and ids int32 [N], got [${table.shape}] and ${ids.dtype} [${ids.shape}]`,
    );
  }
  return lookup(table, ids) as tf.Tensor2D;
}
