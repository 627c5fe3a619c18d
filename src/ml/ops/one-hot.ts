import { tf } from '../tf.js';

/**
 * One-hot float32 rows: `ids` int32 of any shape gives float32 [...ids.shape, depth], with all
 * zeros for an id outside [0, depth).
 *
 * NOTE: the wasm OneHot kernel of tfjs-backend-wasm 4.22 ignores the dtype attribute and writes
 * int32 bits into a tensor labelled float32 (1 reads back as 1.4e-45), so this builds int32 rows
 * and casts them.
 */
export function oneHotFloat(ids: tf.Tensor, depth: number): tf.Tensor {
  if (ids.dtype !== 'int32') {
    throw new Error(`oneHotFloat: ids must be int32, got ${ids.dtype} [${ids.shape}]`);
  }
  return tf.cast(tf.oneHot(ids, depth, 1, 0, 'int32'), 'float32');
}
