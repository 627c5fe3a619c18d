/** Building blocks shared by the rater and the inner models; all second-order safe. */
import { embeddingLookup } from '../ops/embedding.js';
import { matMul } from '../ops/matmul.js';
import { PAD_ID } from '../featurize.js';
import { tf } from '../tf.js';

/**
 * x · kernel + bias.
 *
 * @param x float32 [N, I]
 * @param kernel float32 [I, O]
 * @param bias float32 [O]
 * @returns float32 [N, O]
 */
export function dense(x: tf.Tensor2D, kernel: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor2D {
  return tf.add(matMul(x, kernel), bias);
}

/**
 * Non-causal 1-D convolution with zero padding ("same" length), as one matMul over the
 * concatenated shifted windows (tfjs-backend-wasm has no Conv2DBackpropFilter kernel).
 *
 * @param x float32 [B, L, C]
 * @param kernel float32 [K·C, O], rows ordered by window offset then input channel
 * @param bias float32 [O]
 * @param kernelSize odd window width K
 * @returns float32 [B, L, O]
 */
export function conv1dSame(
  x: tf.Tensor3D,
  kernel: tf.Tensor2D,
  bias: tf.Tensor1D,
  kernelSize: number,
): tf.Tensor3D {
  const [batch, length, channels] = x.shape;
  const half = (kernelSize - 1) / 2;
  const padded = tf.pad(x, [
    [0, 0],
    [half, half],
    [0, 0],
  ]); // [B, L + K - 1, C]
  const windows: tf.Tensor3D[] = [];
  for (let offset = 0; offset < kernelSize; offset++) {
    windows.push(tf.slice(padded, [0, offset, 0], [batch, length, channels]));
  }
  const columns = kernelSize === 1 ? windows[0]! : tf.concat(windows, 2); // [B, L, K·C]
  const flat = tf.reshape(columns, [batch * length, kernelSize * channels]);
  const out = dense(flat as tf.Tensor2D, kernel, bias); // [B·L, O]
  return tf.reshape(out, [batch, length, kernel.shape[1]]);
}

/**
 * Embeds, for every position j, the `context` ids before j (`includeCurrent` false) or ending at
 * j (`includeCurrent` true), with {@link PAD_ID} before the start, concatenated in order.
 *
 * The windows are built as integer ids first, so the float path is a single embedding lookup
 * (and its gradient a single row scatter) with no slices or concatenations to differentiate.
 *
 * @param table float32 [V, E]
 * @param ids int32 [B, L]
 * @returns float32 [B·L, context·E]
 */
export function contextEmbeddings(
  table: tf.Tensor2D,
  ids: tf.Tensor2D,
  context: number,
  includeCurrent: boolean,
): tf.Tensor2D {
  const [batch, length] = ids.shape;
  const width = table.shape[1];
  const padLeft = includeCurrent ? context - 1 : context;
  const windows = contextWindowIds(ids, context, padLeft); // int32 [B·L·context]
  const embedded = embeddingLookup(table, windows); // [B·L·context, E]
  return tf.reshape(embedded, [batch * length, context * width]);
}

/**
 * Ids of every position's window: for position j, columns j - padLeft .. j - padLeft + context - 1
 * of its row, with {@link PAD_ID} left of column 0. Integer data with no gradient, so it is built in
 * JavaScript from the ids (a few kilobytes read back).
 *
 * @param ids int32 [B, L]
 * @returns int32 [B·L·context]
 */
function contextWindowIds(ids: tf.Tensor2D, context: number, padLeft: number): tf.Tensor1D {
  const [batch, length] = ids.shape;
  const values = ids.dataSync() as Int32Array;
  const windows = new Int32Array(batch * length * context);
  let out = 0;
  for (let row = 0; row < batch; row++) {
    const base = row * length;
    for (let j = 0; j < length; j++) {
      for (let offset = 0; offset < context; offset++) {
        const column = j - padLeft + offset;
        windows[out++] = column < 0 ? PAD_ID : values[base + column]!;
      }
    }
  }
  return tf.tensor1d(windows, 'int32');
}

/**
 * Mean over unmasked positions; rows with no unmasked position give 0.
 *
 * @param x float32 [B, L, C]
 * @param mask float32 [B, L]
 * @returns float32 [B, C]
 */
export function maskedMean(x: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor2D {
  const mask3 = tf.expandDims(mask, 2); // [B, L, 1]
  const total = tf.sum(tf.mul(x, mask3), 1); // [B, C]
  const count = tf.maximum(tf.sum(mask3, 1), 1); // [B, 1]
  return tf.div(total, count);
}

/** Checks that a batch's ids and mask are [B, L] with the expected L; `caller` prefixes the message. */
export function checkBatchShape(
  caller: string,
  ids: tf.Tensor,
  mask: tf.Tensor,
  sequenceLength: number,
): void {
  const ok =
    ids.rank === 2 &&
    mask.rank === 2 &&
    ids.dtype === 'int32' &&
    ids.shape[1] === sequenceLength &&
    mask.shape[0] === ids.shape[0] &&
    mask.shape[1] === ids.shape[1];
  if (!ok) {
    throw new Error(
      `${caller}: ids must be int32 [B, ${sequenceLength}] and mask float32 of the same shape, got ${ids.dtype} [${ids.shape}] and [${mask.shape}]`,
    );
  }
}
