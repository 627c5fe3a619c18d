// Real messy corpus: what does the meta-learned rater score low in raw SpamAssassin mail, and
// does filtering by its scores save compute?
//
//   npx tsx bench/experiments/spam-assassin.ts             # default run (3 seeds)
//   npx tsx bench/experiments/spam-assassin.ts --help      # every option
//
// Raw messages (headers, bodies, HTML, base64 attachments, quoted replies) are cut into chunks of
// the engine's sequence length. The held-out set is the chunks of a random 10% of the messages
// (the corpus module's HELDOUT split), split by message into a meta-training half and an
// evaluation half. Per seed, the script meta-trains a rater on a sample of training chunks,
// scores them, and trains fresh inner models on unfiltered, rater-filtered and randomly dropped
// data.
import {
  CHUNK_KINDS,
  loadSpamAssassin,
  messageExamples,
  seededUnit,
  type CorpusExample,
  type SpamAssassinMessage,
} from '../../src/corpus/index.js';
import {
  evaluate,
  initBackend,
  Prng,
  validateConfig,
  type DataRaterConfig,
  type LossCurve,
} from '../../src/ml/index.js';
import { compareFilters } from './lib/filtering.js';
import { trainAndScore } from './lib/meta-train.js';
import { COMMON_HELP, parseOptions, positiveInteger, type CommonOptions } from './lib/options.js';
import { LoadMonitor, progress, writeResult } from './lib/report.js';
import {
  analyzeChunkScores,
  printSpamAssassinReport,
  type KindDropRow,
  type SpamSeedResult,
} from './lib/spam-assassin-analysis.js';
import { formatGain } from './lib/tables.js';

const USAGE = `Usage: npx tsx bench/experiments/spam-assassin.ts [options]
${COMMON_HELP}
  --heldout KIND         'all' (every chunk of the held-out messages) or 'prose' (only their
                         chunks that classifyChunk calls prose)
  --max-messages N       use a seeded sample of N messages (default: all 6,046)
  --drop-kinds LIST      also train, per seed, one run without each of these chunk kinds
                         (for example base64,html,header), a filter that knows the kinds`;

const options = parseOptions(
  process.argv.slice(2),
  {
    seeds: [1, 2, 3],
    config: { sequenceLength: 128, outerSteps: 120, checkpointInterval: 40 },
    trainSize: 4000,
    heldoutSize: 256,
    discardFractions: [0.1, 0.25, 0.5, 0.75],
    evalSteps: 150,
    evalBatch: 32,
    evalInterval: 25,
    evalThreads: 1,
    logEvery: 25,
    out: 'bench/results/spam-assassin.json',
  },
  ['heldout', 'max-messages', 'drop-kinds'],
  USAGE,
);
const heldoutKind = options.extra.heldout ?? 'all';
if (heldoutKind !== 'all' && heldoutKind !== 'prose') {
  throw new Error(`--heldout: expected 'all' or 'prose', got ${JSON.stringify(heldoutKind)}`);
}
const maxMessages =
  options.extra['max-messages'] === undefined
    ? undefined
    : positiveInteger('--max-messages', options.extra['max-messages']);
const dropKinds = (options.extra['drop-kinds'] ?? '').split(',').filter((kind) => kind !== '');
for (const kind of dropKinds) {
  if (!(CHUNK_KINDS as readonly string[]).includes(kind)) {
    throw new Error(
      `--drop-kinds: unknown kind ${JSON.stringify(kind)}; use ${CHUNK_KINDS.join(', ')}`,
    );
  }
}

interface SpamData {
  train: CorpusExample[];
  metaHeldout: string[];
  evalHeldout: string[];
}

/**
 * Cuts every message into chunks with the seed's held-out split, samples `trainSize` training
 * chunks uniformly, and splits the held-out messages in two halves by a seeded hash.
 */
function buildData(messages: SpamAssassinMessage[], seed: number, chunkBytes: number): SpamData {
  const trainPool: CorpusExample[] = [];
  const metaPool: string[] = [];
  const evalPool: string[] = [];
  for (const message of messages) {
    const chunks = messageExamples(message, { shape: 'CHUNKS', chunkBytes, seed });
    for (const chunk of chunks) {
      if (chunk.split === 'TRAIN') {
        trainPool.push(chunk);
      } else if (heldoutKind === 'all' || chunk.meta.kind === 'prose') {
        const half = seededUnit('meta-heldout', seed, message.key) < 0.5 ? metaPool : evalPool;
        half.push(chunk.text);
      }
    }
  }

  const prng = new Prng(seed);
  const pick = <T>(pool: T[], count: number, name: string): T[] => {
    if (pool.length < count) {
      throw new Error(`${name}: only ${pool.length} chunks available, ${count} requested`);
    }
    const indices = prng.sampleWithoutReplacement(pool.length, count).sort();
    return Array.from(indices, (i) => pool[i]!);
  };
  return {
    train: pick(trainPool, options.trainSize, 'train'),
    metaHeldout: pick(metaPool, options.heldoutSize, 'meta-training held-out'),
    evalHeldout: pick(evalPool, options.heldoutSize, 'evaluation held-out'),
  };
}

/**
 * Trains one run per kind in `--drop-kinds` on the training chunks without that kind, against the
 * baseline curve of the filter comparison. A diagnostic: what removing a whole kind does to the
 * held-out loss, whatever the rater thinks of it.
 */
async function dropEachKind(
  config: DataRaterConfig,
  data: SpamData,
  baselineCurve: LossCurve,
  common: CommonOptions,
): Promise<KindDropRow[]> {
  const rows: KindDropRow[] = [];
  for (const kind of dropKinds) {
    const kept = data.train.filter((example) => example.meta.kind !== kind);
    const result = await evaluate({
      config,
      baseline: data.train.map((example) => example.text),
      filtered: kept.map((example) => example.text),
      heldout: data.evalHeldout,
      steps: common.evalSteps,
      batchSize: common.evalBatch,
      evalInterval: common.evalInterval,
      seed: config.seed,
      baselineCurve,
    });
    rows.push({
      kind,
      keptExamples: kept.length,
      finalLoss: result.filteredFinalLoss,
      gain: result.gain,
    });
    progress(
      `  without ${kind}: kept ${kept.length}, held-out loss ${result.filteredFinalLoss.toFixed(4)}, ` +
        `gain ${formatGain(result.gain)}`,
    );
  }
  return rows;
}

async function runSeed(
  seed: number,
  messages: SpamAssassinMessage[],
  common: CommonOptions,
): Promise<SpamSeedResult> {
  const started = performance.now();
  const config = validateConfig({ ...common.config, seed });
  const data = buildData(messages, seed, config.sequenceLength);
  const texts = data.train.map((example) => example.text);
  progress(`seed ${seed}: ${texts.length} training chunks, held-out ${heldoutKind}`);

  progress(`seed ${seed}: meta-training ${config.outerSteps} outer steps`);
  const run = await trainAndScore(
    config,
    { train: texts, heldout: data.metaHeldout },
    texts,
    common.logEvery,
  );
  const analysis = analyzeChunkScores(data.train, run.scores);
  progress(
    `seed ${seed}: ham-vs-spam AUC ${analysis.hamVsSpamAuc.toFixed(3)}; mean score by kind ` +
      analysis.kinds.map((row) => `${row.kind} ${row.meanScore.toFixed(3)}`).join(', '),
  );

  progress(`seed ${seed}: fresh training runs of ${common.evalSteps} steps × ${common.evalBatch}`);
  const filtering = await compareFilters(
    {
      config,
      train: texts,
      scores: run.scores,
      heldout: data.evalHeldout,
      discardFractions: common.discardFractions,
      steps: common.evalSteps,
      batchSize: common.evalBatch,
      evalInterval: common.evalInterval,
      seed,
      rater: config,
    },
    common.evalThreads,
  );
  const kindDrops = await dropEachKind(config, data, filtering.baseline, common);
  if (!filtering.baselinesIdentical) {
    console.warn(`seed ${seed}: the evaluation threads trained different baselines`);
  }
  const { raterBytes: _bytes, scores: _scores, config: _config, ...raterSummary } = run;
  return {
    seed,
    rater: raterSummary,
    analysis,
    filtering,
    kindDrops,
    seconds: (performance.now() - started) / 1000,
  };
}

const monitor = new LoadMonitor();
const backend = await initBackend('wasm');
progress(`backend ${backend.name}; options ${JSON.stringify({ ...options, extra: undefined })}`);
const started = performance.now();
const messages = await loadSpamAssassin({ maxMessages });
progress(`loaded ${messages.length} messages`);
const seeds: SpamSeedResult[] = [];
for (const seed of options.seeds) seeds.push(await runSeed(seed, messages, options));
const wallSeconds = (performance.now() - started) / 1000;
const machine = monitor.finish();

printSpamAssassinReport(seeds, options.discardFractions);
progress(
  `wall time ${wallSeconds.toFixed(0)} s; load average ` +
    `${machine.loadAverage.min.toFixed(1)}–${machine.loadAverage.max.toFixed(1)}`,
);
await writeResult(options.out, {
  experiment: 'spam-assassin',
  command: `npx tsx bench/experiments/spam-assassin.ts ${process.argv.slice(2).join(' ')}`.trim(),
  options: { ...options, extra: undefined, heldout: heldoutKind, maxMessages: maxMessages ?? null },
  config: validateConfig({ ...options.config, seed: options.seeds[0] }),
  backend: backend.name,
  machine,
  wallSeconds,
  seeds,
});
