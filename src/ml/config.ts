/**
 * The one configuration object of the DataRater engine: every size, rate and schedule, with its
 * default and meaning. `validateConfig` is the only way to build one; the job layer stores the
 * validated object with every rater version and job.
 */
import { availableParallelism } from 'node:os';
import type { BackendName } from './backend.js';
import { ConfigError } from './errors.js';
import type { ActivationName } from './ops/activations.js';

/** Inner tasks the rater can be meta-trained for. */
export type InnerTaskName = 'language-model' | 'classification';

/** Optimisers for the inner models (both written with differentiable tensor ops). */
export type InnerOptimizerName = 'sgd' | 'adam';

/** Complete, validated configuration. */
export interface DataRaterConfig {
  /** Bytes per example after UTF-8 encoding; longer texts are truncated, shorter ones padded. */
  sequenceLength: number;

  /** Width of the rater's byte embedding and convolution blocks. */
  raterWidth: number;
  /** Number of residual convolution blocks in the rater. */
  raterBlocks: number;
  /** Width in bytes of each rater convolution (odd, so it is centred). */
  raterKernelSize: number;
  /** Activation inside the rater blocks. */
  raterActivation: ActivationName;
  /** Temperature of the rater's log-mean-exp pooling (small: near max, large: near mean). */
  raterPoolTemperature: number;

  /** Task the inner models learn: next-byte prediction or labelled classification. */
  task: InnerTaskName;
  /** Number of labels for `classification` (labels are 0 .. numClasses - 1). */
  numClasses: number;
  /** Bytes of context the inner model uses per position. */
  innerContext: number;
  /** Width of the inner model's byte embedding. */
  innerEmbeddingSize: number;
  /** Width of the inner model's hidden layer. */
  innerHidden: number;
  /** Activation of the inner model's hidden layer. */
  innerActivation: ActivationName;
  /** Optimiser of the inner models. */
  innerOptimizer: InnerOptimizerName;
  /** Learning rate of the inner optimiser. */
  innerLearningRate: number;
  /** Adam β1 of the inner optimiser (ignored by SGD). */
  innerAdamBeta1: number;
  /** Adam β2 of the inner optimiser (ignored by SGD). */
  innerAdamBeta2: number;
  /** Adam ε of the inner optimiser, added inside the square root so the update stays differentiable at v = 0. */
  innerAdamEpsilon: number;

  /** Differentiable inner updates T per outer step (truncated unroll length). */
  unrollSteps: number;
  /** Number of inner models M in the population. */
  populationSize: number;
  /**
   * Training examples per inner update.
   * NOTE: the wasm heap is limited to 4 GB. With 256-byte examples, T = 2 and default sizes, one
   * thread's heap grew to about 1.3 GB at batch 32, 2.4 GB at 64 and 3.7 GB at 96, so larger batches
   * of long examples need the tensorflow backend.
   */
  innerBatchSize: number;
  /** Held-out examples per outer-loss evaluation. */
  outerBatchSize: number;
  /** Adam learning rate of the rater (the meta learning rate). */
  metaLearningRate: number;
  /** Adam β1 of the rater's optimisers. */
  metaAdamBeta1: number;
  /** Adam β2 of the rater's optimisers. */
  metaAdamBeta2: number;
  /** Adam ε of the rater's optimisers. */
  metaAdamEpsilon: number;
  /** Global-norm clip of each inner model's meta-gradient before its Adam step. */
  clipNorm: number;
  /** Outer steps between resets of each inner model, staggered across the population; 0 never resets. */
  resetPeriod: number;
  /** Softmax temperature turning a batch's scores into loss weights. */
  temperature: number;
  /** Outer steps a meta-training job runs. */
  outerSteps: number;
  /** Outer steps between checkpoints; the probe-set score autocorrelation is measured at each one. */
  checkpointInterval: number;
  /** Training examples in the fixed probe set used for score autocorrelation. */
  probeSize: number;
  /** Seed of every random choice (initialization, batches, resets). */
  seed: number;
  /** TensorFlow.js backend. */
  backend: BackendName;
  /** Threads computing the population's meta-gradients in parallel; 1 computes them in the calling thread. */
  workers: number;
}

/** Default configuration (workers: min(populationSize, available cores)). */
export const DEFAULT_CONFIG: Readonly<Omit<DataRaterConfig, 'workers'>> = Object.freeze({
  sequenceLength: 128,
  raterWidth: 32,
  raterBlocks: 2,
  raterKernelSize: 5,
  raterActivation: 'gelu',
  raterPoolTemperature: 1,
  task: 'language-model',
  numClasses: 2,
  innerContext: 8,
  innerEmbeddingSize: 16,
  innerHidden: 64,
  innerActivation: 'gelu',
  innerOptimizer: 'adam',
  innerLearningRate: 3e-3,
  innerAdamBeta1: 0.9,
  innerAdamBeta2: 0.999,
  innerAdamEpsilon: 1e-8,
  unrollSteps: 2,
  populationSize: 2,
  innerBatchSize: 16,
  outerBatchSize: 16,
  metaLearningRate: 1e-3,
  metaAdamBeta1: 0.9,
  metaAdamBeta2: 0.999,
  metaAdamEpsilon: 1e-8,
  clipNorm: 1,
  resetPeriod: 100,
  temperature: 1,
  outerSteps: 1000,
  checkpointInterval: 50,
  probeSize: 256,
  seed: 0,
  backend: 'wasm',
});

type NumberRule = {
  integer: boolean;
  min: number;
  max: number;
  minExclusive?: boolean;
  maxExclusive?: boolean;
};

const NUMBER_RULES: Record<string, NumberRule> = {
  sequenceLength: { integer: true, min: 1, max: 65536 },
  raterWidth: { integer: true, min: 1, max: 4096 },
  raterBlocks: { integer: true, min: 0, max: 64 },
  raterKernelSize: { integer: true, min: 1, max: 255 },
  raterPoolTemperature: { integer: false, min: 0, max: 1e6, minExclusive: true },
  numClasses: { integer: true, min: 2, max: 65536 },
  innerContext: { integer: true, min: 1, max: 1024 },
  innerEmbeddingSize: { integer: true, min: 1, max: 4096 },
  innerHidden: { integer: true, min: 1, max: 65536 },
  innerLearningRate: { integer: false, min: 0, max: 1e3, minExclusive: true },
  innerAdamBeta1: { integer: false, min: 0, max: 1, maxExclusive: true },
  innerAdamBeta2: { integer: false, min: 0, max: 1, maxExclusive: true },
  innerAdamEpsilon: { integer: false, min: 0, max: 1, minExclusive: true },
  unrollSteps: { integer: true, min: 1, max: 64 },
  populationSize: { integer: true, min: 1, max: 1024 },
  innerBatchSize: { integer: true, min: 1, max: 1 << 20 },
  outerBatchSize: { integer: true, min: 1, max: 1 << 20 },
  metaLearningRate: { integer: false, min: 0, max: 1e3, minExclusive: true },
  metaAdamBeta1: { integer: false, min: 0, max: 1, maxExclusive: true },
  metaAdamBeta2: { integer: false, min: 0, max: 1, maxExclusive: true },
  metaAdamEpsilon: { integer: false, min: 0, max: 1, minExclusive: true },
  clipNorm: { integer: false, min: 0, max: 1e12, minExclusive: true },
  resetPeriod: { integer: true, min: 0, max: Number.MAX_SAFE_INTEGER },
  temperature: { integer: false, min: 0, max: 1e6, minExclusive: true },
  outerSteps: { integer: true, min: 0, max: Number.MAX_SAFE_INTEGER },
  checkpointInterval: { integer: true, min: 1, max: Number.MAX_SAFE_INTEGER },
  probeSize: { integer: true, min: 2, max: 1 << 20 },
  seed: { integer: true, min: 0, max: 2 ** 32 - 1 },
  workers: { integer: true, min: 1, max: 256 },
};

const CHOICE_RULES: Record<string, readonly string[]> = {
  raterActivation: ['gelu', 'relu', 'tanh'],
  innerActivation: ['gelu', 'relu', 'tanh'],
  task: ['language-model', 'classification'],
  innerOptimizer: ['sgd', 'adam'],
  backend: ['wasm', 'cpu', 'tensorflow'],
};

/**
 * Returns a complete config: `partial` over the defaults, checked field by field.
 *
 * Throws a {@link ConfigError} naming the first unknown field or invalid value (wrong type,
 * non-integer, out of range, unknown choice, an even `raterKernelSize`).
 */
export function validateConfig(partial: Partial<DataRaterConfig> = {}): DataRaterConfig {
  if (typeof partial !== 'object' || partial === null || Array.isArray(partial)) {
    throw new ConfigError('(config)', partial, 'the config must be an object');
  }
  const known = new Set([...Object.keys(NUMBER_RULES), ...Object.keys(CHOICE_RULES)]);
  for (const key of Object.keys(partial)) {
    if (!known.has(key)) {
      throw new ConfigError(
        key,
        (partial as Record<string, unknown>)[key],
        'unknown field (check its spelling)',
      );
    }
  }

  const populationSize = partial.populationSize ?? DEFAULT_CONFIG.populationSize;
  const merged: Record<string, unknown> = {
    ...DEFAULT_CONFIG,
    workers: Math.max(
      1,
      Math.min(typeof populationSize === 'number' ? populationSize : 1, availableParallelism()),
    ),
    ...stripUndefined(partial),
  };

  for (const [field, rule] of Object.entries(NUMBER_RULES)) {
    checkNumber(field, merged[field], rule);
  }
  for (const [field, choices] of Object.entries(CHOICE_RULES)) {
    if (typeof merged[field] !== 'string' || !choices.includes(merged[field])) {
      throw new ConfigError(
        field,
        merged[field],
        `must be one of ${choices.map((c) => `"${c}"`).join(', ')}`,
      );
    }
  }
  if ((merged.raterKernelSize as number) % 2 === 0) {
    throw new ConfigError(
      'raterKernelSize',
      merged.raterKernelSize,
      'must be odd so the window is centred',
    );
  }
  return merged as unknown as DataRaterConfig;
}

function checkNumber(field: string, value: unknown, rule: NumberRule): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ConfigError(field, value, 'must be a finite number');
  }
  if (rule.integer && !Number.isInteger(value)) {
    throw new ConfigError(field, value, 'must be an integer');
  }
  const low = rule.minExclusive ? value <= rule.min : value < rule.min;
  const high = rule.maxExclusive ? value >= rule.max : value > rule.max;
  if (low || high) {
    const left = rule.minExclusive ? '(' : '[';
    const right = rule.maxExclusive ? ')' : ']';
    throw new ConfigError(field, value, `must be in ${left}${rule.min}, ${rule.max}${right}`);
  }
}

function stripUndefined(partial: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(partial).filter(([, value]) => value !== undefined));
}
