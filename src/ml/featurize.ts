/**
 * Byte featurization: text → UTF-8 bytes, truncated or padded to a fixed length, with a mask.
 *
 * Token ids are the byte values 0..255 plus {@link PAD_ID} for padding and for the context before
 * the first byte. Truncation may cut a multi-byte character; the models work on bytes, so that is
 * harmless.
 */
import { tf } from './tf.js';

/** Id of padding (and of "before the start of the text"); never a byte value. */
export const PAD_ID = 256;
/** Number of distinct ids: 256 byte values and {@link PAD_ID}. */
export const VOCAB_SIZE = 257;
/** Number of byte values a language model predicts. */
export const BYTE_VALUES = 256;

/** A batch in plain arrays, row-major; the form that crosses thread boundaries. */
export interface ByteBatch {
  /** Rows in the batch (B). */
  batchSize: number;
  /** Positions per row (L). */
  sequenceLength: number;
  /** int32 [B·L]: byte values, {@link PAD_ID} after the end of each text. */
  ids: Int32Array;
  /** float32 [B·L]: 1 at a byte of the text, 0 at padding. */
  mask: Float32Array;
  /** int32 [B] class labels, or null for unlabelled text. */
  labels: Int32Array | null;
}

/** A batch as tensors, as the models take it. */
export interface BatchTensors {
  /** int32 [B, L] */
  ids: tf.Tensor2D;
  /** float32 [B, L] */
  mask: tf.Tensor2D;
  /** int32 [B], or null for unlabelled text. */
  labels: tf.Tensor1D | null;
}

const encoder = new TextEncoder();

/** Returns the UTF-8 bytes of `text`, cut to at most `sequenceLength` bytes. */
export function encodeText(text: string, sequenceLength: number): Uint8Array {
  const bytes = encoder.encode(text);
  return bytes.length > sequenceLength ? bytes.slice(0, sequenceLength) : bytes;
}

/**
 * Packs rows `indices` of `encoded` (each at most `sequenceLength` bytes) into a batch.
 * `labels`, when given, is indexed like `encoded`.
 */
export function packBatch(
  encoded: readonly Uint8Array[],
  indices: ArrayLike<number>,
  sequenceLength: number,
  labels: ArrayLike<number> | null = null,
): ByteBatch {
  const batchSize = indices.length;
  const ids = new Int32Array(batchSize * sequenceLength).fill(PAD_ID);
  const mask = new Float32Array(batchSize * sequenceLength);
  const batchLabels = labels === null ? null : new Int32Array(batchSize);
  for (let row = 0; row < batchSize; row++) {
    const index = indices[row]!;
    const bytes = encoded[index];
    if (bytes === undefined) {
      throw new Error(
        `packBatch: index ${index} is outside the ${encoded.length} encoded examples`,
      );
    }
    const length = Math.min(bytes.length, sequenceLength);
    const offset = row * sequenceLength;
    ids.set(bytes.subarray(0, length), offset);
    mask.fill(1, offset, offset + length);
    if (batchLabels !== null) {
      batchLabels[row] = labels![index]!;
    }
  }
  return { batchSize, sequenceLength, ids, mask, labels: batchLabels };
}

/** Encodes and packs `texts` (with optional `labels`, one per text) into one batch. */
export function featurize(
  texts: readonly string[],
  sequenceLength: number,
  labels: ArrayLike<number> | null = null,
): ByteBatch {
  const encoded = texts.map((text) => encodeText(text, sequenceLength));
  const indices = Array.from({ length: texts.length }, (_, i) => i);
  return packBatch(encoded, indices, sequenceLength, labels);
}

/** Creates tensors for `batch`; the caller disposes them. */
export function batchToTensors(batch: ByteBatch): BatchTensors {
  const shape: [number, number] = [batch.batchSize, batch.sequenceLength];
  return {
    ids: tf.tensor2d(batch.ids, shape, 'int32'),
    mask: tf.tensor2d(batch.mask, shape, 'float32'),
    labels: batch.labels === null ? null : tf.tensor1d(batch.labels, 'int32'),
  };
}

/** Disposes the tensors of a batch. */
export function disposeBatch(batch: BatchTensors): void {
  tf.dispose([batch.ids, batch.mask]);
  batch.labels?.dispose();
}
