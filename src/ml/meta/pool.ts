/**
 * A pool of worker threads that compute the population's meta-gradients in parallel.
 *
 * The wasm backend runs one thread per Node thread, and the M models' meta-gradients are
 * independent until they are averaged, so each worker takes a share of the models. Workers run
 * the same {@link runModelJob} on the same backend as the calling thread would, so the results are
 * bit-identical to computing them in the calling thread.
 */
import { Worker } from 'node:worker_threads';
import type { BackendName } from '../backend.js';
import type { DataRaterConfig } from '../config.js';
import { MlError } from '../errors.js';
import type { ModelJob, ModelResult } from './model-step.js';
import type { WorkerRequest, WorkerResponse } from './worker.js';

interface PendingRun {
  resolve: (results: ModelResult[]) => void;
  reject: (error: Error) => void;
}

/** Worker threads, each with its own TensorFlow.js engine. */
export class PopulationPool {
  private readonly workers: Worker[];
  private readonly pending = new Map<number, PendingRun>();
  private nextId = 1;
  private closed = false;

  private constructor(workers: Worker[]) {
    this.workers = workers;
    for (const worker of workers) {
      worker.on('message', (response: WorkerResponse) => this.receive(response));
      worker.on('error', (error) => this.failAll(error));
      worker.unref();
    }
  }

  /**
   * Starts `threads` workers on `backend` and waits until each has started it. Rejects with an
   * `MlError` (code `WORKER_FAILED`) when a worker cannot start or ends up on another backend.
   */
  static async start(
    config: DataRaterConfig,
    backend: BackendName,
    threads: number,
  ): Promise<PopulationPool> {
    const workers = Array.from({ length: threads }, () => spawnWorker());
    try {
      await Promise.all(workers.map((worker) => initWorker(worker, config, backend)));
    } catch (error) {
      await Promise.all(workers.map((worker) => worker.terminate()));
      throw error;
    }
    return new PopulationPool(workers);
  }

  /** Number of worker threads. */
  get size(): number {
    return this.workers.length;
  }

  /**
   * Runs every job; model j goes to worker j mod size. Resolves with the results in job order.
   */
  async run(rater: readonly Float32Array[], jobs: readonly ModelJob[]): Promise<ModelResult[]> {
    if (this.closed) {
      throw new MlError('WORKER_FAILED', 'PopulationPool.run: the pool was closed');
    }
    const shares = this.workers.map(() => [] as ModelJob[]);
    jobs.forEach((job, j) => shares[j % this.workers.length]!.push(job));

    const runs = this.workers.map((worker, w) => {
      const share = shares[w]!;
      if (share.length === 0) {
        return Promise.resolve([] as ModelResult[]);
      }
      const id = this.nextId++;
      return new Promise<ModelResult[]>((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        worker.ref();
        const request: WorkerRequest = { type: 'run', id, rater: [...rater], jobs: share };
        worker.postMessage(request);
      }).finally(() => worker.unref());
    });

    const results = (await Promise.all(runs)).flat();
    const byModel = new Map(results.map((result) => [result.modelIndex, result]));
    return jobs.map((job) => byModel.get(job.modelIndex)!);
  }

  /** Terminates the workers; pending runs reject. */
  async close(): Promise<void> {
    if (this.closed) {
      return;
    }
    this.closed = true;
    this.failAll(new Error('the pool was closed'));
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }

  private receive(response: WorkerResponse): void {
    if (response.type === 'ready' || response.id === null) {
      return;
    }
    const run = this.pending.get(response.id);
    if (run === undefined) {
      return;
    }
    this.pending.delete(response.id);
    if (response.type === 'results') {
      run.resolve(response.results);
    } else {
      run.reject(new MlError('WORKER_FAILED', `Meta-gradient worker failed: ${response.message}`));
    }
  }

  private failAll(error: Error): void {
    for (const run of this.pending.values()) {
      run.reject(new MlError('WORKER_FAILED', `Meta-gradient worker failed: ${error.message}`));
    }
    this.pending.clear();
  }
}

/**
 * Starts the worker script. From TypeScript sources (tsx, vitest) the worker loads `worker.ts`
 * through tsx's `tsImport`, because `--import tsx` in a worker's execArgv is not honoured by
 * Node 20; from compiled JavaScript it loads `worker.js` directly.
 */
function spawnWorker(): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const workerUrl = new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url);
  if (!fromSource) {
    return new Worker(workerUrl);
  }
  // Resolve tsx here, because the eval'd loader would resolve bare names from the working directory.
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const loader =
    `import(${JSON.stringify(tsxApi)}).then(({ tsImport }) => ` +
    `tsImport(${JSON.stringify(workerUrl.href)}, ${JSON.stringify(import.meta.url)}))`;
  return new Worker(loader, { eval: true });
}

function initWorker(worker: Worker, config: DataRaterConfig, backend: BackendName): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (response: WorkerResponse): void => {
      cleanup();
      if (response.type === 'ready' && response.backend === backend) {
        resolve();
      } else if (response.type === 'ready') {
        reject(
          new MlError(
            'WORKER_FAILED',
            `A meta-gradient worker started backend "${response.backend}" instead of "${backend}"; ` +
              'set workers: 1 to compute in the calling thread',
          ),
        );
      } else {
        reject(
          new MlError(
            'WORKER_FAILED',
            `A meta-gradient worker failed to start: ${(response as { message: string }).message}`,
          ),
        );
      }
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(
        new MlError('WORKER_FAILED', `A meta-gradient worker failed to start: ${error.message}`),
      );
    };
    const cleanup = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.postMessage({ type: 'init', config, backend } satisfies WorkerRequest);
  });
}
