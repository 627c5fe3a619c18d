// Meta-step and scoring throughput of the DataRater engine, as ratios to a limit measured in the
// same run: the backend's own 512³ matMul FLOP/s.
//
//   npx tsx bench/ml-throughput.ts            # full run (a few minutes on 2 cores)
//   npx tsx bench/ml-throughput.ts --steps 2  # fewer timed meta-steps per configuration
//
// Prints one line per measurement and, last, one JSON object with every number.
import { availableParallelism, cpus, loadavg } from 'node:os';
import {
  initBackend,
  loadRater,
  MetaTrainer,
  metaStepFlops,
  parameterCounts,
  raterFlopsPerExample,
  validateConfig,
  type BackendName,
  type DataRaterConfig,
} from '../src/ml/index.js';
import { tf } from '../src/ml/tf.js';
import { Prng } from '../src/ml/prng.js';

const args = process.argv.slice(2);
const timedSteps = Number(args[args.indexOf('--steps') + 1] ?? 3) || 3;

/** The target configuration: 256-byte examples, inner batch 32, two inner models, T = 2. */
const TARGET: Partial<DataRaterConfig> = {
  sequenceLength: 256,
  innerBatchSize: 32,
  outerBatchSize: 32,
  populationSize: 2,
  unrollSteps: 2,
  checkpointInterval: 1_000_000, // keep probe scoring out of the timed steps
  probeSize: 2,
};

/** A smaller configuration for the wasm-against-cpu comparison (cpu is far slower). */
const SMALL: Partial<DataRaterConfig> = {
  ...TARGET,
  sequenceLength: 64,
  innerBatchSize: 8,
  outerBatchSize: 8,
};

function randomTexts(count: number, length: number, seed: number): string[] {
  const prng = new Prng(seed);
  const words = [
    'data',
    'rater',
    'the',
    'of',
    'model',
    'byte',
    'loss',
    'and',
    'held',
    'out',
    'score',
  ];
  return Array.from({ length: count }, () => {
    let text = '';
    while (text.length < length) {
      text += words[prng.nextInt(words.length)]! + ' ';
    }
    return text.slice(0, length);
  });
}

/** FLOP/s of a 512×512 by 512×512 matMul on the active backend (same operands, after warm-up). */
function matMulFlops(): number {
  const a = tf.randomNormal([512, 512]);
  const b = tf.randomNormal([512, 512]);
  const run = (): void => {
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
  };
  run();
  const repeats = tf.getBackend() === 'cpu' ? 3 : 20;
  const start = performance.now();
  for (let i = 0; i < repeats; i++) {
    run();
  }
  const seconds = (performance.now() - start) / 1000 / repeats;
  tf.dispose([a, b]);
  return (2 * 512 ** 3) / seconds;
}

interface MetaMeasurement {
  backend: BackendName;
  sequenceLength: number;
  innerBatchSize: number;
  workers: number;
  secondsPerStep: number;
  /** CPU seconds per step over all threads; less affected than wall time by other load. */
  cpuSecondsPerStep: number;
  examplesPerSecond: number;
  flopsPerSecond: number;
  fractionOfMatMul: number;
}

async function measureMetaStep(
  backend: BackendName,
  config: Partial<DataRaterConfig>,
  workers: number,
  steps: number,
  matMul: number,
): Promise<MetaMeasurement> {
  const full = validateConfig({ ...config, backend, workers });
  const data = {
    train: randomTexts(256, full.sequenceLength, 1),
    heldout: randomTexts(128, full.sequenceLength, 2),
  };
  const trainer = await MetaTrainer.create(full, data);
  await trainer.run({ steps: 2 }); // warm-up: wasm heap growth and worker start
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  await trainer.run({ steps });
  const secondsPerStep = (performance.now() - start) / 1000 / steps;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSecondsPerStep = (cpu.user + cpu.system) / 1e6 / steps;
  await trainer.dispose();

  // Examples per second: training examples the population weights and learns from per second.
  const examples = full.populationSize * full.unrollSteps * full.innerBatchSize;
  const flopsPerSecond = metaStepFlops(full) / secondsPerStep;
  return {
    backend,
    sequenceLength: full.sequenceLength,
    innerBatchSize: full.innerBatchSize,
    workers,
    secondsPerStep,
    cpuSecondsPerStep,
    examplesPerSecond: examples / secondsPerStep,
    flopsPerSecond,
    fractionOfMatMul: flopsPerSecond / matMul,
  };
}

async function measureScoring(
  backend: BackendName,
  sequenceLength: number,
  count: number,
  matMul: number,
): Promise<{
  backend: BackendName;
  sequenceLength: number;
  examplesPerSecond: number;
  fractionOfMatMul: number;
}> {
  const config = validateConfig({
    ...TARGET,
    sequenceLength,
    backend,
    workers: 1,
    innerBatchSize: 4,
    outerBatchSize: 4,
  });
  const trainer = await MetaTrainer.create(config, {
    train: randomTexts(8, sequenceLength, 3),
    heldout: randomTexts(8, sequenceLength, 4),
  });
  const rater = await loadRater(trainer.exportRater());
  await trainer.dispose();
  const texts = randomTexts(count, sequenceLength, 5);
  await rater.score(texts.slice(0, 64), { batchSize: 64 });
  const start = performance.now();
  await rater.score(texts, { batchSize: 64 });
  const seconds = (performance.now() - start) / 1000;
  rater.dispose();
  const examplesPerSecond = count / seconds;
  return {
    backend,
    sequenceLength,
    examplesPerSecond,
    fractionOfMatMul: (examplesPerSecond * raterFlopsPerExample(config)) / matMul,
  };
}

const report: Record<string, unknown> = {
  machine: `${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores`,
  node: process.version,
  loadAverageAtStart: loadavg()[0],
  parameters: parameterCounts(validateConfig(TARGET)),
  timedSteps,
};
console.log(`machine: ${report.machine as string}; load average ${loadavg()[0]!.toFixed(2)}`);

const matMulByBackend: Record<string, number> = {};
for (const backend of ['wasm', 'cpu'] as const) {
  await initBackend(backend);
  matMulByBackend[backend] = matMulFlops();
  console.log(`${backend}: 512³ matMul ${(matMulByBackend[backend]! / 1e9).toFixed(2)} GFLOP/s`);
}
report.matMulFlopsPerSecond = matMulByBackend;

const meta: MetaMeasurement[] = [];
const show = (m: MetaMeasurement): void => {
  meta.push(m);
  console.log(
    `meta-step ${m.backend} L=${m.sequenceLength} B=${m.innerBatchSize} workers=${m.workers}: ` +
      `${m.secondsPerStep.toFixed(2)} s/step (CPU ${m.cpuSecondsPerStep.toFixed(2)} s), ` +
      `${m.examplesPerSecond.toFixed(1)} examples/s, ` +
      `${(m.flopsPerSecond / 1e9).toFixed(2)} GFLOP/s = ${(100 * m.fractionOfMatMul).toFixed(1)}% of matMul`,
  );
};

await initBackend('wasm');
show(await measureMetaStep('wasm', TARGET, 1, timedSteps, matMulByBackend.wasm!));
show(await measureMetaStep('wasm', TARGET, 2, timedSteps, matMulByBackend.wasm!));
show(await measureMetaStep('wasm', SMALL, 1, timedSteps, matMulByBackend.wasm!));
await initBackend('cpu');
show(await measureMetaStep('cpu', SMALL, 1, 1, matMulByBackend.cpu!));
report.metaStep = meta;
const single = meta[0]!;
const threaded = meta[1]!;
report.workerSpeedup = single.secondsPerStep / threaded.secondsPerStep;
report.wasmOverCpu = meta[3]!.secondsPerStep / meta[2]!.secondsPerStep;
console.log(`worker threads (2) speed-up: ${(report.workerSpeedup as number).toFixed(2)}x`);
console.log(`wasm over cpu (small config): ${(report.wasmOverCpu as number).toFixed(1)}x`);

const scoring = [];
for (const backend of ['wasm', 'cpu'] as const) {
  await initBackend(backend);
  const result = await measureScoring(
    backend,
    256,
    backend === 'wasm' ? 2048 : 256,
    matMulByBackend[backend]!,
  );
  scoring.push(result);
  console.log(
    `scoring ${backend} L=256: ${result.examplesPerSecond.toFixed(0)} examples/s = ` +
      `${(100 * result.fractionOfMatMul).toFixed(1)}% of matMul`,
  );
}
report.scoring = scoring;
report.loadAverageAtEnd = loadavg()[0];
console.log(JSON.stringify(report));
