// Backend start-up and the start-up self-check, including rejection of a broken backend.
import { afterEach, describe, expect, test } from 'vitest';
import { activeBackend, initBackend } from '../../src/ml/backend.js';
import { MlError } from '../../src/ml/errors.js';
import { validateConfig } from '../../src/ml/config.js';
import { initParams } from '../../src/ml/models/params.js';
import { raterParamSpecs } from '../../src/ml/models/rater.js';
import { Prng } from '../../src/ml/prng.js';
import { loadRater, packRater } from '../../src/ml/scoring.js';
import { selfCheck } from '../../src/ml/self-check.js';
import { tf } from '../../src/ml/tf.js';

describe('initBackend', () => {
  test('starts wasm by default', async () => {
    const info = await initBackend();
    expect(info).toEqual({
      requested: 'wasm',
      name: 'wasm',
      packageName: '@tensorflow/tfjs-backend-wasm',
      gpu: false,
      fallbackReason: null,
    });
    expect(tf.getBackend()).toBe('wasm');
    expect(activeBackend()).toEqual(info);
  });

  test('wasm clones share data safely', async () => {
    await initBackend('wasm');
    const original = tf.tensor1d([1, 2, 3]);
    const copy = tf.clone(original);
    original.dispose();
    expect(Array.from(copy.dataSync())).toEqual([1, 2, 3]);
    copy.dispose();
  });

  test('starts cpu', async () => {
    const info = await initBackend('cpu');
    expect(info.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  test('tensorflow without its package says what to install', async () => {
    // Neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is a dependency of this project.
    const error = await initBackend('tensorflow').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MlError);
    expect((error as MlError).code).toBe('BACKEND_UNAVAILABLE');
    expect((error as MlError).message).toContain('npm install @tensorflow/tfjs-node-gpu');
    expect((error as MlError).message).toContain('npm install @tensorflow/tfjs-node');
  });

  test('loadRater and selfCheck keep the active backend', async () => {
    await initBackend('cpu');
    const config = validateConfig({
      sequenceLength: 8,
      raterWidth: 4,
      raterBlocks: 1,
      raterKernelSize: 3,
    });
    const bytes = packRater(config, initParams(raterParamSpecs(config), new Prng(1)), {
      trainingConfig: null,
      step: 0,
    });
    const rater = await loadRater(bytes);
    expect(tf.getBackend()).toBe('cpu');
    expect((await rater.score(['abc'])).length).toBe(1);
    rater.dispose();
    const report = await selfCheck();
    expect(report.backend.name).toBe('cpu');
    await loadRater(bytes, { backend: 'wasm' }).then((r) => r.dispose());
    expect(tf.getBackend()).toBe('wasm');
  });

  test('rejects an unknown name', async () => {
    await expect(initBackend('webgpu' as 'wasm')).rejects.toThrow(
      'initBackend: unknown backend "webgpu"; use "wasm", "cpu" or "tensorflow"',
    );
  });
});

describe('selfCheck', () => {
  const restore: Array<() => void> = [];

  afterEach(() => {
    restore.splice(0).forEach((undo) => undo());
  });

  /** Replaces a kernel until the end of the test. */
  function replaceKernel(
    kernelName: string,
    backendName: string,
    replacement: tf.KernelConfig | null,
  ): void {
    const original = tf.getKernel(kernelName, backendName);
    if (original === undefined) {
      throw new Error(`no kernel ${kernelName} on ${backendName}`);
    }
    tf.unregisterKernel(kernelName, backendName);
    if (replacement !== null) {
      tf.registerKernel(replacement);
    }
    restore.push(() => {
      if (replacement !== null) {
        tf.unregisterKernel(kernelName, backendName);
      }
      tf.registerKernel(original);
    });
  }

  test.each(['wasm', 'cpu'] as const)('passes on %s', async (backend) => {
    const report = await selfCheck({ backend });
    expect(report.backend.name).toBe(backend);
    expect(report.stages.map((s) => s.stage)).toEqual([
      'second derivative of exp/sigmoid (gelu)',
      'embedding gather and scatter gradient',
      'rater forward',
      'inner model forward',
      'rater backward',
      'meta-gradient (double backward)',
      'tensor leaks',
    ]);
  });

  test('names a missing kernel and its stage', async () => {
    await initBackend('wasm');
    replaceKernel('ScatterNd', 'wasm', null);
    const error = await selfCheck({ backend: 'wasm' }).catch((e: unknown) => e);
    expect((error as MlError).code).toBe('SELF_CHECK_FAILED');
    expect((error as MlError).message).toContain(
      'selfCheck: backend "wasm" failed stage "embedding gather and scatter gradient": it threw:',
    );
    expect((error as MlError).message).toContain("'ScatterNd'");
  });

  test('names wrong numerics and their stage', async () => {
    await initBackend('cpu');
    // A Log1p that is 5% off breaks softplus, so sigmoid and its derivatives.
    replaceKernel('Log1p', 'cpu', {
      kernelName: 'Log1p',
      backendName: 'cpu',
      kernelFunc: ({ inputs, backend }) => {
        const x = inputs.x as tf.TensorInfo;
        const cpu = backend as unknown as {
          readSync(dataId: object): Float32Array;
          makeTensorInfo(shape: number[], dtype: string, values: Float32Array): tf.TensorInfo;
        };
        const values = cpu.readSync(x.dataId).map((v) => 1.05 * Math.log1p(v));
        return cpu.makeTensorInfo(x.shape, 'float32', values);
      },
    });
    const error = await selfCheck({ backend: 'cpu' }).catch((e: unknown) => e);
    expect((error as MlError).code).toBe('SELF_CHECK_FAILED');
    expect((error as MlError).message).toMatch(
      /failed stage "second derivative of exp\/sigmoid \(gelu\)": got -?[\d.]+, expected -0\.0627/,
    );
  });
});
