// MetaTrainer: reproducibility, checkpoint and restore, worker threads, reports, skips, leaks.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { DataRaterConfig } from '../../src/ml/config.js';
import { MlError } from '../../src/ml/errors.js';
import { packCheckpoint, unpackCheckpoint } from '../../src/ml/meta/checkpoint.js';
import { loadRater } from '../../src/ml/scoring.js';
import { tf } from '../../src/ml/tf.js';
import { MetaTrainer, type StepReport } from '../../src/ml/trainer.js';
import { noiseLines, proseLines } from './fixtures/corpus.js';
import { useBackend } from './helpers.js';

const TINY: Partial<DataRaterConfig> = {
  sequenceLength: 32,
  raterWidth: 8,
  raterBlocks: 1,
  raterKernelSize: 3,
  innerContext: 3,
  innerEmbeddingSize: 4,
  innerHidden: 16,
  unrollSteps: 2,
  populationSize: 2,
  innerBatchSize: 6,
  outerBatchSize: 6,
  resetPeriod: 3,
  checkpointInterval: 2,
  probeSize: 12,
  seed: 42,
  workers: 1,
};

const DATA = {
  train: [...proseLines(30, 1), ...noiseLines(10, 2)],
  heldout: proseLines(20, 3),
};

function sameArrays(a: readonly Float32Array[], b: readonly Float32Array[]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (values, i) =>
        values.length === b[i]!.length && values.every((x, j) => Object.is(x, b[i]![j])),
    )
  );
}

function stripTiming(report: StepReport): Omit<StepReport, 'durationMs'> {
  const { durationMs: _unused, ...rest } = report;
  return rest;
}

describe('MetaTrainer', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  test('same seed gives identical runs', async () => {
    const first = await MetaTrainer.create(TINY, DATA);
    const second = await MetaTrainer.create(TINY, DATA);
    const a = await first.run({ steps: 3 });
    const b = await second.run({ steps: 3 });
    expect(a.map(stripTiming)).toEqual(b.map(stripTiming));
    expect(sameArrays(first.raterParameters(), second.raterParameters())).toBe(true);
    await Promise.all([first.dispose(), second.dispose()]);
  });

  test('restore continues bit-identically', async () => {
    const straight = await MetaTrainer.create(TINY, DATA);
    const straightReports = await straight.run({ steps: 4 });

    const interrupted = await MetaTrainer.create(TINY, DATA);
    const firstHalf = await interrupted.run({ steps: 2 });
    const bytes = interrupted.checkpoint();
    await interrupted.dispose();
    const resumed = await MetaTrainer.restore(bytes, DATA);
    expect(resumed.completedSteps).toBe(2);
    const secondHalf = await resumed.run({ steps: 2 });

    expect([...firstHalf, ...secondHalf].map(stripTiming)).toEqual(
      straightReports.map(stripTiming),
    );
    expect(Buffer.from(resumed.checkpoint()).equals(Buffer.from(straight.checkpoint()))).toBe(true);
    await Promise.all([straight.dispose(), resumed.dispose()]);
  });

  test('reports carry the step statistics', async () => {
    const seen: StepReport[] = [];
    const trainer = await MetaTrainer.create(TINY, DATA, { onStep: (report) => seen.push(report) });
    const reports = await trainer.run({ steps: 4 });
    expect(seen).toEqual(reports);
    expect(reports.map((r) => r.step)).toEqual([1, 2, 3, 4]);
    for (const report of reports) {
      expect(report.skipped).toBe(false);
      expect(report.outerLoss).toBeGreaterThan(0);
      expect(report.outerLosses).toHaveLength(2);
      expect(report.metaGradNorm).toBeGreaterThan(0);
      expect(report.ess).toBeGreaterThanOrEqual(1);
      expect(report.ess).toBeLessThanOrEqual(TINY.innerBatchSize!);
      expect(report.essMin).toBeLessThanOrEqual(report.ess);
    }
    // Probe scores are taken at creation and every checkpointInterval (2) steps.
    expect(reports.map((r) => r.probeEvaluated)).toEqual([false, true, false, true]);
    expect(reports[0]!.scoreAutocorrelation).toBeNull();
    expect(reports[1]!.scoreAutocorrelation).toBeGreaterThan(0.5);
    expect(reports[1]!.scoreAutocorrelation).toBeLessThanOrEqual(1);
    // resetPeriod 3 with two models: model 1 at step index 2 (offset 1.5 rounds to 2), model 0 at 3.
    expect(reports.map((r) => r.resets)).toEqual([[], [], [1], [0]]);
    await trainer.dispose();
  });

  test('repeated steps leak no tensors', async () => {
    const trainer = await MetaTrainer.create(TINY, DATA);
    await trainer.run({ steps: 2 });
    const before = tf.memory().numTensors;
    await trainer.run({ steps: 3 });
    const rater = trainer.currentRater();
    await rater.score(DATA.heldout, { batchSize: 7 });
    rater.dispose();
    expect(tf.memory().numTensors).toBe(before);
    await trainer.dispose();
  });

  test('non-finite meta-gradients skip the step', async () => {
    // Plant an infinite weight in inner model 1 through a doctored checkpoint.
    const original = await MetaTrainer.create(TINY, DATA);
    const state = unpackCheckpoint(original.checkpoint());
    await original.dispose();
    state.models[1]!.params[1]![0] = Number.POSITIVE_INFINITY;
    const trainer = await MetaTrainer.restore(packCheckpoint(state), DATA);

    const before = trainer.raterParameters();
    const report = await trainer.step();
    expect(report.skipped).toBe(true);
    expect(report.skipReason).toMatch(/^model 1: /);
    expect(report.outerLoss).toBeNull();
    expect(report.outerLosses[0]).not.toBeNull();
    expect(report.resets).toEqual([1]);
    expect(sameArrays(trainer.raterParameters(), before)).toBe(true);

    // The reset model is finite again, so the next step updates the rater.
    const next = await trainer.step();
    expect(next.skipped).toBe(false);
    expect(sameArrays(trainer.raterParameters(), before)).toBe(false);
    await trainer.dispose();
  });

  test('restore rejects other data and corrupt bytes', async () => {
    const trainer = await MetaTrainer.create(TINY, DATA);
    const bytes = trainer.checkpoint();
    await trainer.dispose();
    const otherData = { train: DATA.train.slice(1), heldout: DATA.heldout };
    await expect(MetaTrainer.restore(bytes, otherData)).rejects.toMatchObject({
      code: 'INVALID_DATA',
    });
    await expect(MetaTrainer.restore(bytes.slice(0, bytes.length - 8), DATA)).rejects.toMatchObject(
      {
        code: 'INVALID_CHECKPOINT',
      },
    );
    await expect(
      MetaTrainer.restore(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), DATA),
    ).rejects.toThrow(/DRML/);
  });

  test('create validates data', async () => {
    await expect(
      MetaTrainer.create(TINY, { train: DATA.train.slice(0, 3), heldout: DATA.heldout }),
    ).rejects.toThrow(/train split has 3 examples but innerBatchSize is 6/);
    await expect(MetaTrainer.create({ ...TINY, task: 'classification' }, DATA)).rejects.toThrow(
      /train\[0\] needs an integer label in \[0, 2\)/,
    );
    await expect(MetaTrainer.create({ ...TINY, raterWidth: 0 }, DATA)).rejects.toThrow(
      /raterWidth/,
    );
  });

  test('classification task trains on labelled examples', async () => {
    const labelled = {
      train: [
        ...proseLines(12, 5).map((text) => ({ text, label: 0 })),
        ...noiseLines(12, 6).map((text) => ({ text, label: 1 })),
      ],
      heldout: [
        ...proseLines(6, 7).map((text) => ({ text, label: 0 })),
        ...noiseLines(6, 8).map((text) => ({ text, label: 1 })),
      ],
    };
    const trainer = await MetaTrainer.create({ ...TINY, task: 'classification' }, labelled);
    const reports = await trainer.run({ steps: 2 });
    expect(reports.every((r) => !r.skipped && r.outerLoss !== null)).toBe(true);
    await trainer.dispose();
  });

  test('exported rater scores like the trainer', async () => {
    const trainer = await MetaTrainer.create(TINY, DATA);
    await trainer.run({ steps: 2 });
    const texts = ['', 'short', ...DATA.heldout, 'x'.repeat(500), '\u00e9\u4e2d\ud83d\ude00'];
    const live = trainer.currentRater();
    const expected = await live.score(texts);
    live.dispose();

    const rater = await loadRater(trainer.exportRater());
    expect(rater.metadata.step).toBe(2);
    expect(rater.architecture.sequenceLength).toBe(32);
    const scores = await rater.score(texts, { batchSize: 5 });
    expect(scores).toHaveLength(texts.length);
    expect(Array.from(scores)).toEqual(Array.from(expected));
    expect(scores.every(Number.isFinite)).toBe(true);
    expect(Array.from(await rater.score(texts, { batchSize: 1 }))).toEqual(Array.from(expected));
    await expect(rater.score(texts, { batchSize: 0 })).rejects.toThrow(
      /batchSize must be a positive integer, got 0/,
    );
    rater.dispose();
    await expect(rater.score(texts)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await trainer.dispose();
  });

  test('loadRater rejects a checkpoint', async () => {
    const trainer = await MetaTrainer.create(TINY, DATA);
    await expect(loadRater(trainer.checkpoint())).rejects.toThrow(
      /expected a "datarater-rater" file/,
    );
    await trainer.dispose();
  });
});

describe('MetaTrainer with worker threads', () => {
  let threaded: MetaTrainer | null = null;

  afterAll(async () => {
    await threaded?.dispose();
  });

  test('workers give the single-thread results', async () => {
    await useBackend('wasm');
    const single = await MetaTrainer.create(TINY, DATA);
    threaded = await MetaTrainer.create({ ...TINY, workers: 2 }, DATA);
    expect(single.workerThreads).toBe(0);
    expect(threaded.workerThreads).toBe(2);

    const a = await single.run({ steps: 3 });
    const b = await threaded.run({ steps: 3 });
    expect(b.map(stripTiming)).toEqual(a.map(stripTiming));
    expect(sameArrays(threaded.raterParameters(), single.raterParameters())).toBe(true);

    // A checkpoint from the threaded run restores into a single-thread run and continues alike.
    const resumed = await MetaTrainer.restore(threaded.checkpoint(), DATA, { workers: 1 });
    const next = await resumed.step();
    expect(stripTiming(next)).toEqual(stripTiming(await threaded.step()));
    await Promise.all([single.dispose(), resumed.dispose()]);
  });

  test('workers start under plain node with tsx', async () => {
    // The worker entry is TypeScript; outside vitest it must load through tsx as well.
    const run = promisify(execFile);
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'test/ml/fixtures/worker-smoke.ts'],
      {
        cwd: process.cwd(),
        timeout: 120_000,
      },
    );
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      workerThreads: number;
      equal: boolean;
    };
    expect(result.workerThreads).toBe(2);
    expect(result.equal).toBe(true);
  });
});

describe('MlError codes', () => {
  test('are exposed on thrown errors', async () => {
    await useBackend('wasm');
    const error = await MetaTrainer.create(TINY, { train: [], heldout: [] }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MlError);
    expect((error as MlError).code).toBe('INVALID_DATA');
  });
});
