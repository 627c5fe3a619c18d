/**
 * Choice and start-up of the TensorFlow.js backend.
 *
 * - `wasm` (default): `@tensorflow/tfjs-backend-wasm`, single-threaded per Node thread.
 * - `cpu`: `@tensorflow/tfjs-backend-cpu`, plain JavaScript, about 20x slower than wasm on matMul.
 * - `tensorflow`: native TensorFlow from `@tensorflow/tfjs-node-gpu` or else `@tensorflow/tfjs-node`.
 *   Neither is a dependency of this project, so they are loaded with a dynamic `import()`.
 */
import { MlError } from './errors.js';
import { tf } from './tf.js';

/** Backend names accepted by {@link initBackend} and by the config field `backend`. */
export type BackendName = 'wasm' | 'cpu' | 'tensorflow';

/** The backend in use after {@link initBackend}. */
export interface BackendInfo {
  /** Backend that was asked for. */
  requested: BackendName;
  /** Backend actually in use (differs from `requested` only after a fallback to `cpu`). */
  name: BackendName;
  /** npm package that provides the backend. */
  packageName: string;
  /** True when ops run on a GPU (only possible with `@tensorflow/tfjs-node-gpu`). */
  gpu: boolean;
  /** Reason the requested backend was replaced by `cpu`, or null when it was not. */
  fallbackReason: string | null;
}

/** Packages tried, in order, for the `tensorflow` backend. */
export const TENSORFLOW_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

let active: BackendInfo | null = null;

/**
 * Starts a backend and makes it the one all later tensor ops use.
 *
 * `wasm` falls back to `cpu` when the WebAssembly module cannot start; the returned
 * `fallbackReason` gives the reason. `tensorflow` never falls back: without one of
 * {@link TENSORFLOW_PACKAGES} installed it throws an `MlError` with code `BACKEND_UNAVAILABLE`
 * whose message names the package to install.
 */
export async function initBackend(name: BackendName = 'wasm'): Promise<BackendInfo> {
  switch (name) {
    case 'wasm':
      active = await startWasm();
      return active;
    case 'cpu':
      active = await startCpu('cpu', null);
      return active;
    case 'tensorflow':
      active = await startTensorflow();
      return active;
    default: {
      const unknown: never = name;
      throw new MlError(
        'INVALID_ARGUMENT',
        `initBackend: unknown backend ${JSON.stringify(unknown)}; use "wasm", "cpu" or "tensorflow"`,
      );
    }
  }
}

/** Returns the backend started by {@link initBackend}, or null before the first call. */
export function activeBackend(): BackendInfo | null {
  return active;
}

/**
 * Starts `name` unless it is already the active backend; returns the active backend.
 * A requested `wasm` that fell back to `cpu` counts as started.
 */
export async function ensureBackend(name: BackendName = 'wasm'): Promise<BackendInfo> {
  if (active !== null && active.requested === name && tf.getBackend() === active.name) {
    return active;
  }
  return initBackend(name);
}

/**
 * Returns the backend to compute on: `name` when given (started if needed), else the active
 * backend, else a newly started `wasm`.
 */
export async function resolveBackend(name?: BackendName): Promise<BackendInfo> {
  if (name !== undefined) {
    return ensureBackend(name);
  }
  if (active !== null && tf.getBackend() === active.name) {
    return active;
  }
  return initBackend('wasm');
}

async function startWasm(): Promise<BackendInfo> {
  let reason: string;
  try {
    await import('@tensorflow/tfjs-backend-wasm');
    if (await tf.setBackend('wasm')) {
      await tf.ready();
      shareIdentityData();
      return {
        requested: 'wasm',
        name: 'wasm',
        packageName: '@tensorflow/tfjs-backend-wasm',
        gpu: false,
        fallbackReason: null,
      };
    }
    reason = 'tf.setBackend("wasm") returned false (the WebAssembly module failed to start)';
  } catch (error) {
    reason = `loading @tensorflow/tfjs-backend-wasm failed: ${(error as Error).message}`;
  }
  return startCpu('wasm', reason);
}

/**
 * Replaces the wasm Identity kernel, which copies its input, with one that shares the input's
 * buffer through the backend's reference count, as the cpu backend and the wasm Reshape kernel do.
 * The engine clones every tensor an op saves for its gradient, so with the copying kernel a
 * meta-step duplicated most of its activations and spent about 0.2 s of a 1.6 s model step
 * (batch 32 × 256 bytes) copying. Tensors are immutable, so sharing is safe.
 */
function shareIdentityData(): void {
  const original = tf.getKernel('Identity', 'wasm');
  if (original === undefined || sharedIdentityInstalled) {
    return;
  }
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs.x as tf.TensorInfo;
      if (x.dtype === 'string') {
        return original.kernelFunc({ inputs, backend, attrs: {} }) as tf.TensorInfo;
      }
      (backend as unknown as { incRef(dataId: object): void }).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
  sharedIdentityInstalled = true;
}

let sharedIdentityInstalled = false;

async function startCpu(
  requested: BackendName,
  fallbackReason: string | null,
): Promise<BackendInfo> {
  await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend('cpu'))) {
    throw new MlError('BACKEND_UNAVAILABLE', 'initBackend: the cpu backend failed to start');
  }
  await tf.ready();
  return {
    requested,
    name: 'cpu',
    packageName: '@tensorflow/tfjs-backend-cpu',
    gpu: false,
    fallbackReason,
  };
}

// NOTE: only the "neither package installed" branch is tested: tfjs-node(-gpu) downloads native
// TensorFlow at install time, which the test environment cannot do.
async function startTensorflow(): Promise<BackendInfo> {
  for (const packageName of TENSORFLOW_PACKAGES) {
    if (!(await importIfInstalled(packageName))) {
      continue;
    }
    if (!(await tf.setBackend('tensorflow'))) {
      throw new MlError(
        'BACKEND_UNAVAILABLE',
        `initBackend: ${packageName} loaded but its "tensorflow" backend failed to start; ` +
          'check that its native library matches this Node version, or use the "wasm" backend',
      );
    }
    await tf.ready();
    // tfjs-node's backend object reports whether TensorFlow placed ops on a GPU device.
    const backend = tf.backend() as { isUsingGpuDevice?: unknown };
    const gpu = backend.isUsingGpuDevice === true;
    return { requested: 'tensorflow', name: 'tensorflow', packageName, gpu, fallbackReason: null };
  }
  throw new MlError(
    'BACKEND_UNAVAILABLE',
    'initBackend: backend "tensorflow" needs @tensorflow/tfjs-node-gpu (NVIDIA GPU with CUDA) or ' +
      '@tensorflow/tfjs-node (CPU), and neither is installed. Run ' +
      '`npm install @tensorflow/tfjs-node-gpu` or `npm install @tensorflow/tfjs-node`, ' +
      'or use the "wasm" backend.',
  );
}

/**
 * Imports `packageName`; returns false when the package itself is not installed and rethrows any
 * other failure (a native library that does not load should not be mistaken for "absent").
 */
async function importIfInstalled(packageName: string): Promise<boolean> {
  try {
    await import(packageName);
    return true;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const message = (error as Error).message ?? '';
    const notFound =
      (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
      message.includes(packageName);
    if (notFound) {
      return false;
    }
    throw new MlError(
      'BACKEND_UNAVAILABLE',
      `initBackend: ${packageName} is installed but failed to load: ${message}`,
    );
  }
}
