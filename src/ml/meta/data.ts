/** Training data of a meta-training run: validation, encoding and fingerprinting. */
import type { DataRaterConfig } from '../config.js';
import { MlError } from '../errors.js';
import { encodeText } from '../featurize.js';

/** One example: a text, or a text with an integer class label (needed by the classification task). */
export type Example = string | { text: string; label?: number | null };

/** The two splits a rater is meta-trained on. */
export interface MetaTrainingData {
  /** Examples the inner models train on, weighted by the rater. */
  train: readonly Example[];
  /** Disjoint examples of the distribution to be good at; the outer loss is measured on them. */
  heldout: readonly Example[];
}

/** One split, encoded to bytes once. */
export interface EncodedSplit {
  /** UTF-8 bytes of each example, cut to the sequence length. */
  bytes: Uint8Array[];
  /** Class labels, or null for the language-model task. */
  labels: Int32Array | null;
}

/**
 * Encodes both splits. Throws an `MlError` with code `INVALID_DATA` naming the split and index of
 * the first bad example (not a string, missing or out-of-range label) or a split smaller than its
 * batch size.
 */
export function encodeData(
  config: DataRaterConfig,
  data: MetaTrainingData,
): { train: EncodedSplit; heldout: EncodedSplit } {
  if (
    typeof data !== 'object' ||
    data === null ||
    !Array.isArray(data.train) ||
    !Array.isArray(data.heldout)
  ) {
    throw new MlError(
      'INVALID_DATA',
      'Meta-training data must be an object { train: [...], heldout: [...] }',
    );
  }
  const train = encodeSplit(config, data.train, 'train');
  const heldout = encodeSplit(config, data.heldout, 'heldout');
  if (train.bytes.length < config.innerBatchSize) {
    throw new MlError(
      'INVALID_DATA',
      `The train split has ${train.bytes.length} examples but innerBatchSize is ${config.innerBatchSize}; ` +
        'add examples or lower innerBatchSize',
    );
  }
  if (heldout.bytes.length < config.outerBatchSize) {
    throw new MlError(
      'INVALID_DATA',
      `The heldout split has ${heldout.bytes.length} examples but outerBatchSize is ${config.outerBatchSize}; ` +
        'add examples or lower outerBatchSize',
    );
  }
  return { train, heldout };
}

function encodeSplit(
  config: DataRaterConfig,
  examples: readonly Example[],
  split: string,
): EncodedSplit {
  const classification = config.task === 'classification';
  const labels = classification ? new Int32Array(examples.length) : null;
  const bytes = examples.map((example, index) => {
    const text = typeof example === 'string' ? example : example?.text;
    if (typeof text !== 'string') {
      throw new MlError(
        'INVALID_DATA',
        `${split}[${index}] has no text: expected a string or { text, label }`,
      );
    }
    if (labels !== null) {
      const label = typeof example === 'string' ? undefined : example.label;
      if (
        typeof label !== 'number' ||
        !Number.isInteger(label) ||
        label < 0 ||
        label >= config.numClasses
      ) {
        throw new MlError(
          'INVALID_DATA',
          `${split}[${index}] needs an integer label in [0, ${config.numClasses}) for the classification task, got ${String(label)}`,
        );
      }
      labels[index] = label;
    }
    return encodeText(text, config.sequenceLength);
  });
  return { bytes, labels };
}

/** Returns a 32-bit FNV-1a hash (hex) of both encoded splits, to tie a checkpoint to its data. */
export function fingerprintData(train: EncodedSplit, heldout: EncodedSplit): string {
  let hash = 0x811c9dc5;
  const mix = (value: number): void => {
    hash = Math.imul(hash ^ (value & 0xff), 0x01000193) >>> 0;
  };
  for (const split of [train, heldout]) {
    mix(split.bytes.length);
    mix(split.bytes.length >>> 8);
    mix(split.bytes.length >>> 16);
    split.bytes.forEach((bytes, i) => {
      mix(bytes.length);
      mix(bytes.length >>> 8);
      for (let j = 0; j < bytes.length; j++) {
        mix(bytes[j]!);
      }
      mix(split.labels?.[i] ?? 0xff);
    });
  }
  return hash.toString(16).padStart(8, '0');
}
