// Wiring of the job system for a process: the handler of each job kind, which errors are not
// worth a retry, and start-up of a worker on the configured TensorFlow.js backend.
import type { Logger } from 'pino';
import type { AppConfig } from '../config.js';
import type { Database } from '../db/client.js';
import type { JobHandlers } from '../jobs/context.js';
import { jobSettingsFrom } from '../jobs/settings.js';
import { JobSystem } from '../jobs/system.js';
import { JobWorker } from '../jobs/worker.js';
import { curateHandler } from './curation.js';
import { initEngineBackend, isPermanentEngineError } from './engine.js';
import { AppError } from './errors.js';
import { evaluateHandler } from './evaluation.js';
import { scoreHandler } from './scoring.js';
import { metaTrainHandler } from './training.js';

export const jobHandlers: JobHandlers = {
  META_TRAIN: metaTrainHandler,
  SCORE: scoreHandler,
  CURATE: curateHandler,
  EVALUATE: evaluateHandler,
};

/**
 * Whether a handler error is one a retry cannot fix: a domain error (invalid input, a deleted
 * dataset, a name taken meanwhile) or an engine error about the data or configuration.
 */
export function isPermanentJobError(error: unknown): boolean {
  if (error instanceof AppError) return error.code !== 'INTERNAL_SERVER_ERROR';
  return isPermanentEngineError(error);
}

/** Starts the queue, event listener and sweeper of this process. */
export function startJobSystem(
  db: Database,
  config: AppConfig,
  logger: Logger,
): Promise<JobSystem> {
  return JobSystem.start({ db, settings: jobSettingsFrom(config), handlers: jobHandlers, logger });
}

/**
 * Initializes the configured TensorFlow.js backend and starts a worker on it. A worker whose
 * backend runs on a GPU also consumes the GPU meta-training queue.
 */
export async function startJobWorker(
  system: JobSystem,
  config: AppConfig,
  logger: Logger,
): Promise<JobWorker> {
  const backend = await initEngineBackend(config.backend);
  if (backend.fallbackReason) {
    logger.warn(
      { requested: config.backend, backend: backend.name, reason: backend.fallbackReason },
      'TensorFlow.js backend fell back; set TFJS_BACKEND to choose another',
    );
  }
  logger.info({ backend: backend.name, gpu: backend.gpu }, 'TensorFlow.js backend ready');
  return JobWorker.start({
    system,
    logger,
    concurrency: config.workerConcurrency,
    backend: { name: backend.name, gpu: backend.gpu },
    isPermanentError: isPermanentJobError,
  });
}
