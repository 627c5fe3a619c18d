/**
 * A trained rater as a frozen scorer: export to bytes, load, and score texts in batches.
 */
import { resolveBackend, type BackendName } from './backend.js';
import type { DataRaterConfig } from './config.js';
import { MlError, NonFiniteScoreError } from './errors.js';
import { batchToTensors, disposeBatch, encodeText, packBatch } from './featurize.js';
import { countParams, paramsToTensors } from './models/params.js';
import {
  RATER_ARCHITECTURE_FIELDS,
  raterParamSpecs,
  raterScores,
  type RaterArchitecture,
} from './models/rater.js';
import { packContainer, requireArray, unpackContainer } from './serialize.js';
import { tf } from './tf.js';

const RATER_KIND = 'datarater-rater';

/** Options of {@link Rater.score}. */
export interface ScoreOptions {
  /** Examples per forward pass (default 64); larger is faster until memory runs short. */
  batchSize?: number;
}

/** Metadata stored with an exported rater. */
export interface RaterMetadata {
  /** Full training configuration, for provenance. */
  trainingConfig: DataRaterConfig | null;
  /** Outer steps the rater was trained for. */
  step: number;
}

/** A loaded, frozen rater. */
export interface Rater {
  /** Architecture (sizes) of the network. */
  readonly architecture: RaterArchitecture;
  /** Provenance stored with the weights. */
  readonly metadata: RaterMetadata;
  /** Number of trainable scalars. */
  readonly parameterCount: number;
  /**
   * Scores `texts`; returns one float32 score per text, aligned with the input. Higher means the
   * rater expects the example to help the held-out loss more. Throws a `NonFiniteScoreError`
   * (code `NON_FINITE_SCORE`, with the example's index) instead of returning NaN or Infinity.
   */
  score(texts: readonly string[], options?: ScoreOptions): Promise<Float32Array>;
  /** Frees the weights; the rater cannot score afterwards. */
  dispose(): void;
}

/** Serializes rater weights with their architecture and metadata. */
export function packRater(
  architecture: RaterArchitecture,
  params: readonly Float32Array[],
  metadata: RaterMetadata,
): Uint8Array {
  const specs = raterParamSpecs(architecture);
  return packContainer(
    { kind: RATER_KIND, architecture: pickArchitecture(architecture), metadata },
    specs.map((spec, i) => ({ name: spec.name, values: params[i]! })),
  );
}

/**
 * Loads a rater written by `MetaTrainer.exportRater` (or {@link packRater}) onto `backend`, or
 * onto the active backend when none is given (wasm when none is active). Throws an `MlError` with code
 * `INVALID_CHECKPOINT` for bytes that are not a rater.
 */
export async function loadRater(
  bytes: Uint8Array,
  options: { backend?: BackendName } = {},
): Promise<Rater> {
  await resolveBackend(options.backend);
  const container = unpackContainer(bytes, RATER_KIND);
  const architecture = container.header.architecture as RaterArchitecture;
  const metadata = container.header.metadata as RaterMetadata;
  const specs = raterParamSpecs(architecture);
  const params = specs.map((spec) =>
    requireArray(
      container,
      spec.name,
      spec.shape.reduce((a, b) => a * b, 1),
    ),
  );
  return new TensorRater(architecture, params, metadata);
}

/** A rater whose weights live in tensors on the active backend. */
export class TensorRater implements Rater {
  readonly architecture: RaterArchitecture;
  readonly metadata: RaterMetadata;
  readonly parameterCount: number;
  private weights: tf.Tensor[] | null;

  constructor(
    architecture: RaterArchitecture,
    params: readonly Float32Array[],
    metadata: RaterMetadata,
  ) {
    this.architecture = pickArchitecture(architecture);
    this.metadata = metadata;
    const specs = raterParamSpecs(this.architecture);
    this.parameterCount = countParams(specs);
    this.weights = paramsToTensors(specs, params);
  }

  async score(texts: readonly string[], options: ScoreOptions = {}): Promise<Float32Array> {
    const batchSize = options.batchSize ?? 64;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new MlError(
        'INVALID_ARGUMENT',
        `Rater.score: batchSize must be a positive integer, got ${batchSize}`,
      );
    }
    const encoded = texts.map((text, i) => {
      if (typeof text !== 'string') {
        throw new MlError(
          'INVALID_ARGUMENT',
          `Rater.score: text ${i} is ${typeof text}, expected a string`,
        );
      }
      return encodeText(text, this.architecture.sequenceLength);
    });
    const scores = new Float32Array(texts.length);
    for (let start = 0; start < encoded.length; start += batchSize) {
      const end = Math.min(start + batchSize, encoded.length);
      scores.set(this.scoreEncoded(encoded, start, end), start);
      // Yield between batches so a server stays responsive while a large dataset is scored.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return scores;
  }

  /** Scores rows start .. end-1 of already encoded examples, synchronously. */
  scoreEncoded(encoded: readonly Uint8Array[], start: number, end: number): Float32Array {
    const weights = this.requireWeights();
    const indices = Array.from({ length: end - start }, (_, i) => start + i);
    const batch = batchToTensors(packBatch(encoded, indices, this.architecture.sequenceLength));
    const result = tf.tidy(() =>
      raterScores(this.architecture, weights, batch.ids, batch.mask, 'inference'),
    );
    const values = Float32Array.from(result.dataSync() as Float32Array);
    result.dispose();
    disposeBatch(batch);
    const bad = values.findIndex((value) => !Number.isFinite(value));
    if (bad >= 0) {
      throw new NonFiniteScoreError(start + bad, values[bad]!);
    }
    return values;
  }

  dispose(): void {
    if (this.weights !== null) {
      tf.dispose(this.weights);
      this.weights = null;
    }
  }

  private requireWeights(): tf.Tensor[] {
    if (this.weights === null) {
      throw new MlError('INVALID_ARGUMENT', 'Rater.score: the rater was disposed; load it again');
    }
    return this.weights;
  }
}

function pickArchitecture(config: RaterArchitecture): RaterArchitecture {
  const picked: Record<string, unknown> = {};
  for (const field of RATER_ARCHITECTURE_FIELDS) {
    picked[field] = config[field];
  }
  return picked as unknown as RaterArchitecture;
}
