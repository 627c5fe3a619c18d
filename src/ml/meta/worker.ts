/**
 * Worker-thread entry of the population pool: each worker owns its own TensorFlow.js engine and
 * runs {@link runModelJob} for the models the pool sends it. Messages:
 *
 *   in:  { type: 'init', config, backend }        → out: { type: 'ready', backend } | { type: 'failed', message }
 *   in:  { type: 'run', id, rater, jobs }         → out: { type: 'results', id, results } | { type: 'failed', id, message }
 */
import { parentPort } from 'node:worker_threads';
import { initBackend, type BackendName } from '../backend.js';
import type { DataRaterConfig } from '../config.js';
import { runModelJob, type ModelJob, type ModelResult } from './model-step.js';

/** Messages the pool sends to a worker. */
export type WorkerRequest =
  | { type: 'init'; config: DataRaterConfig; backend: BackendName }
  | { type: 'run'; id: number; rater: Float32Array[]; jobs: ModelJob[] };

/** Messages a worker sends back. */
export type WorkerResponse =
  | { type: 'ready'; backend: BackendName }
  | { type: 'results'; id: number; results: ModelResult[] }
  | { type: 'failed'; id: number | null; message: string };

const port = parentPort;
if (port === null) {
  throw new Error('meta/worker.ts must run in a worker thread (it has no parentPort)');
}

let config: DataRaterConfig | null = null;

port.on('message', (request: WorkerRequest) => {
  void handle(request).then(
    (response) => port.postMessage(response, transferList(response)),
    (error: unknown) => {
      const id = request.type === 'run' ? request.id : null;
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      port.postMessage({ type: 'failed', id, message } satisfies WorkerResponse);
    },
  );
});

async function handle(request: WorkerRequest): Promise<WorkerResponse> {
  switch (request.type) {
    case 'init': {
      const info = await initBackend(request.backend);
      config = request.config;
      return { type: 'ready', backend: info.name };
    }
    case 'run': {
      if (config === null) {
        throw new Error('worker received "run" before "init"');
      }
      const active = config;
      const results = request.jobs.map((job) => runModelJob(active, request.rater, job));
      return { type: 'results', id: request.id, results };
    }
    default: {
      const unknown: never = request;
      throw new Error(`worker received an unknown message ${JSON.stringify(unknown)}`);
    }
  }
}

/** Buffers of the results, moved rather than copied to the main thread. */
function transferList(response: WorkerResponse): ArrayBuffer[] {
  if (response.type !== 'results') {
    return [];
  }
  const buffers: ArrayBuffer[] = [];
  for (const result of response.results) {
    const arrays = [
      ...result.metaGradient,
      ...result.inner.params,
      ...(result.inner.m ?? []),
      ...(result.inner.v ?? []),
    ];
    for (const array of arrays) {
      buffers.push(array.buffer as ArrayBuffer);
    }
  }
  return buffers;
}
