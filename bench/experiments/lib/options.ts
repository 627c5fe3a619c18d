// Command-line options shared by the experiment scripts.
import { parseArgs } from 'node:util';
import type { DataRaterConfig } from '../../../src/ml/index.js';

/** Options every experiment takes. Each script adds its own and sets the defaults. */
export interface CommonOptions {
  seeds: number[];
  /** Engine config overrides, applied over the script's defaults (seed is set per run). */
  config: Partial<DataRaterConfig>;
  trainSize: number;
  heldoutSize: number;
  discardFractions: number[];
  evalSteps: number;
  evalBatch: number;
  evalInterval: number;
  /** Worker threads for the fresh training runs (1 runs them in the main thread). */
  evalThreads: number;
  logEvery: number;
  out: string;
}

/** Defaults of the common options, per script. */
export type CommonDefaults = Omit<CommonOptions, 'config'> & { config: Partial<DataRaterConfig> };

/** Help lines of the common options. */
export const COMMON_HELP = `
  --seeds LIST           comma-separated seeds, one full run each
  --outer-steps N        meta-training outer steps (sets config.outerSteps)
  --config JSON          engine config overrides, for example '{"metaLearningRate":0.003}'
  --train-size N         training examples (the pool the rater scores and filters)
  --heldout-size N       held-out examples, for meta-training and again for evaluation
  --discard LIST         comma-separated discard fractions, each in (0, 1)
  --eval-steps N         training steps of each fresh evaluation run
  --eval-batch N         examples per evaluation training step
  --eval-interval N      steps between held-out evaluations
  --eval-threads N       worker threads for the evaluation runs (1: the main thread)
  --log-every N          meta-training steps between progress lines
  --out FILE             JSON result file
  --help                 print this help`;

const COMMON_SPEC = {
  seeds: { type: 'string' },
  'outer-steps': { type: 'string' },
  config: { type: 'string' },
  'train-size': { type: 'string' },
  'heldout-size': { type: 'string' },
  discard: { type: 'string' },
  'eval-steps': { type: 'string' },
  'eval-batch': { type: 'string' },
  'eval-interval': { type: 'string' },
  'eval-threads': { type: 'string' },
  'log-every': { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean' },
} as const;

/**
 * Parses `argv` into the common options (over `defaults`) and the script's own string options
 * named in `extra`. Prints `usage` and exits on --help; throws on an unknown or invalid option.
 */
export function parseOptions<Extra extends string>(
  argv: string[],
  defaults: CommonDefaults,
  extra: readonly Extra[],
  usage: string,
): CommonOptions & { extra: Partial<Record<Extra, string>> } {
  const extraSpec = Object.fromEntries(extra.map((name) => [name, { type: 'string' as const }]));
  const { values } = parseArgs({ args: argv, options: { ...COMMON_SPEC, ...extraSpec } });
  const get = (name: string): string | undefined =>
    (values as Record<string, unknown>)[name] as string | undefined;
  if (values.help === true) {
    console.log(usage);
    process.exit(0);
  }

  const config: Partial<DataRaterConfig> = { ...defaults.config };
  if (values.config !== undefined) Object.assign(config, parseJsonObject(values.config));
  if (values['outer-steps'] !== undefined) {
    config.outerSteps = positiveInteger('--outer-steps', values['outer-steps']);
  }

  const discardFractions =
    values.discard === undefined
      ? defaults.discardFractions
      : numberList('--discard', values.discard);
  for (const fraction of discardFractions) {
    if (!(fraction > 0 && fraction < 1)) {
      throw new Error(`--discard: every fraction must be in (0, 1), got ${fraction}`);
    }
  }

  const integer = (name: string, fallback: number): number => {
    const value = get(name);
    return value === undefined ? fallback : positiveInteger(`--${name}`, value);
  };
  return {
    seeds: values.seeds === undefined ? defaults.seeds : numberList('--seeds', values.seeds),
    config,
    trainSize: integer('train-size', defaults.trainSize),
    heldoutSize: integer('heldout-size', defaults.heldoutSize),
    discardFractions,
    evalSteps: integer('eval-steps', defaults.evalSteps),
    evalBatch: integer('eval-batch', defaults.evalBatch),
    evalInterval: integer('eval-interval', defaults.evalInterval),
    evalThreads: integer('eval-threads', defaults.evalThreads),
    logEvery: integer('log-every', defaults.logEvery),
    out: values.out ?? defaults.out,
    extra: Object.fromEntries(extra.map((name) => [name, get(name)])) as Partial<
      Record<Extra, string>
    >,
  };
}

export function positiveInteger(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${name}: expected a positive integer, got ${JSON.stringify(text)}`);
  }
  return value;
}

export function numberList(name: string, text: string): number[] {
  const values = text.split(',').map((part) => Number(part.trim()));
  if (values.length === 0 || values.some((value) => !Number.isFinite(value))) {
    throw new Error(`${name}: expected comma-separated numbers, got ${JSON.stringify(text)}`);
  }
  return values;
}

function parseJsonObject(text: string): Partial<DataRaterConfig> {
  const parsed = JSON.parse(text) as unknown;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`--config: expected a JSON object, got ${text}`);
  }
  return parsed as Partial<DataRaterConfig>;
}
