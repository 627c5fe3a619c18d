// Worker-thread entry of `runLaneInWorker`: runs one lane of evaluation jobs and posts the
// results back.
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../../../src/ml/index.js';
import type { EvaluateWorkerMessage } from './evaluate-pool.js';
import { runLane, type EvaluationJob, type SharedEvaluation } from './filtering.js';

const port = parentPort;
if (port === null) throw new Error('evaluate-worker.ts must run in a worker thread');
const { shared, jobs } = workerData as { shared: SharedEvaluation; jobs: EvaluationJob[] };
const post = (message: EvaluateWorkerMessage): void => port.postMessage(message);

try {
  await initBackend('wasm');
  const results = await runLane(shared, jobs, (message) => post({ type: 'progress', message }));
  post({ type: 'done', results });
} catch (error) {
  post({
    type: 'failed',
    message: error instanceof Error ? (error.stack ?? error.message) : String(error),
  });
}
