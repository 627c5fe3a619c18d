/**
 * The full state of a meta-training run and its byte form. Restoring it continues the run
 * bit-identically: the rater, every meta-optimiser state, every inner model with its optimiser
 * state, the PRNG state, the step counter and the probe scores are all stored exactly.
 */
import { validateConfig, type DataRaterConfig } from '../config.js';
import { MlError } from '../errors.js';
import { innerParamSpecs } from '../models/inner-task.js';
import { sizeOf } from '../models/params.js';
import { raterParamSpecs } from '../models/rater.js';
import type { PrngState } from '../prng.js';
import { packContainer, requireArray, unpackContainer, type NamedArray } from '../serialize.js';
import type { AdamState } from './adam.js';
import type { InnerState } from './model-step.js';

const CHECKPOINT_KIND = 'datarater-checkpoint';

/** Everything that evolves during meta-training. */
export interface TrainerState {
  config: DataRaterConfig;
  /** Rater parameters η. */
  rater: Float32Array[];
  /** One Adam state on η per inner model. */
  metaStates: AdamState[];
  /** The population of inner models. */
  models: InnerState[];
  prngState: PrngState;
  /** Outer steps completed. */
  step: number;
  /** Probe-set scores at the last probe evaluation, or null before the first. */
  probeScores: Float32Array | null;
  /** Spearman correlation between the last two probe evaluations, or null. */
  autocorrelation: number | null;
  /** Fingerprint of the training data the state belongs to. */
  dataFingerprint: string;
}

/** Serializes a trainer state. */
export function packCheckpoint(state: TrainerState): Uint8Array {
  const raterSpecs = raterParamSpecs(state.config);
  const innerSpecs = innerParamSpecs(state.config);
  const arrays: NamedArray[] = [];
  const add = (
    prefix: string,
    names: readonly { name: string }[],
    values: readonly Float32Array[],
  ): void => {
    names.forEach((spec, i) => arrays.push({ name: `${prefix}${spec.name}`, values: values[i]! }));
  };

  add('rater.', raterSpecs, state.rater);
  state.metaStates.forEach((meta, i) => {
    add(`meta${i}.m.`, raterSpecs, meta.m);
    add(`meta${i}.v.`, raterSpecs, meta.v);
  });
  state.models.forEach((model, i) => {
    add(`model${i}.param.`, innerSpecs, model.params);
    if (model.m !== null && model.v !== null) {
      add(`model${i}.m.`, innerSpecs, model.m);
      add(`model${i}.v.`, innerSpecs, model.v);
    }
  });
  if (state.probeScores !== null) {
    arrays.push({ name: 'probeScores', values: state.probeScores });
  }

  const header = {
    kind: CHECKPOINT_KIND,
    config: state.config,
    step: state.step,
    prngState: [...state.prngState],
    metaSteps: state.metaStates.map((meta) => meta.step),
    models: state.models.map((model) => ({ step: model.step, adam: model.m !== null })),
    autocorrelation: state.autocorrelation,
    dataFingerprint: state.dataFingerprint,
  };
  return packContainer(header, arrays);
}

/**
 * Reads a checkpoint written by {@link packCheckpoint}. Throws an `MlError` with code
 * `INVALID_CHECKPOINT` when anything is missing or malformed.
 */
export function unpackCheckpoint(bytes: Uint8Array): TrainerState {
  const container = unpackContainer(bytes, CHECKPOINT_KIND);
  const header = container.header as unknown as {
    config: DataRaterConfig;
    step: number;
    prngState: number[];
    metaSteps: number[];
    models: Array<{ step: number; adam: boolean }>;
    autocorrelation: number | null;
    dataFingerprint: string;
  };
  let config: DataRaterConfig;
  try {
    config = validateConfig(header.config);
  } catch (error) {
    throw new MlError(
      'INVALID_CHECKPOINT',
      `Cannot read DataRater data: stored config is invalid: ${(error as Error).message}`,
    );
  }
  if (
    !Array.isArray(header.prngState) ||
    header.prngState.length !== 4 ||
    !Array.isArray(header.models)
  ) {
    throw new MlError(
      'INVALID_CHECKPOINT',
      'Cannot read DataRater data: PRNG state or model list is malformed',
    );
  }
  if (
    header.models.length !== config.populationSize ||
    header.metaSteps.length !== config.populationSize
  ) {
    throw new MlError(
      'INVALID_CHECKPOINT',
      `Cannot read DataRater data: ${header.models.length} models stored for populationSize ${config.populationSize}`,
    );
  }

  const raterSpecs = raterParamSpecs(config);
  const innerSpecs = innerParamSpecs(config);
  const read = (prefix: string, specs: typeof raterSpecs): Float32Array[] =>
    specs.map((spec) => requireArray(container, `${prefix}${spec.name}`, sizeOf(spec.shape)));

  return {
    config,
    rater: read('rater.', raterSpecs),
    metaStates: header.metaSteps.map((step, i) => ({
      m: read(`meta${i}.m.`, raterSpecs),
      v: read(`meta${i}.v.`, raterSpecs),
      step,
    })),
    models: header.models.map((model, i) => ({
      params: read(`model${i}.param.`, innerSpecs),
      m: model.adam ? read(`model${i}.m.`, innerSpecs) : null,
      v: model.adam ? read(`model${i}.v.`, innerSpecs) : null,
      step: model.step,
    })),
    prngState: header.prngState as unknown as PrngState,
    step: header.step,
    probeScores: container.arrays.get('probeScores') ?? null,
    autocorrelation: header.autocorrelation,
    dataFingerprint: header.dataFingerprint,
  };
}
