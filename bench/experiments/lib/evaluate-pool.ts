// Runs a lane of evaluation jobs in a worker thread, so that independent training runs use both
// cores. Each worker starts its own wasm backend, so its results equal those of the main thread.
import { Worker } from 'node:worker_threads';
import type { EvaluationResult } from '../../../src/ml/index.js';
import type { EvaluationJob, SharedEvaluation } from './filtering.js';
import { progress } from './report.js';

/** Messages of the evaluation worker. */
export type EvaluateWorkerMessage =
  | { type: 'progress'; message: string }
  | { type: 'done'; results: EvaluationResult[] }
  | { type: 'failed'; message: string };

/** Runs `jobs` with `runLane` in a new worker thread and resolves with its results. */
export function runLaneInWorker(
  shared: SharedEvaluation,
  jobs: readonly EvaluationJob[],
): Promise<EvaluationResult[]> {
  const worker = spawnWorker({ shared, jobs });
  return new Promise((resolve, reject) => {
    worker.on('message', (message: EvaluateWorkerMessage) => {
      if (message.type === 'progress') {
        progress(message.message);
      } else if (message.type === 'done') {
        resolve(message.results);
        void worker.terminate();
      } else {
        reject(new Error(`evaluation worker failed: ${message.message}`));
        void worker.terminate();
      }
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (code !== 0) reject(new Error(`evaluation worker exited with code ${code}`));
    });
  });
}

/**
 * Starts `evaluate-worker.ts` through tsx's API, because a worker does not inherit the tsx loader
 * of the main thread.
 */
function spawnWorker(workerData: unknown): Worker {
  const workerUrl = new URL('./evaluate-worker.ts', import.meta.url);
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const loader =
    `import(${JSON.stringify(tsxApi)}).then(({ tsImport }) => ` +
    `tsImport(${JSON.stringify(workerUrl.href)}, ${JSON.stringify(import.meta.url)}))`;
  return new Worker(loader, { eval: true, workerData });
}
