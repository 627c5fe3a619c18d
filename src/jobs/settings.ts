// Settings of the job system, and the messages that depend on them.
import type { AppConfig } from '../config.js';
import type { QueueSettings } from './queue.js';

export interface JobSettings extends QueueSettings {
  /** A worker whose last heartbeat is older than this many seconds is lost. */
  workerStaleSeconds: number;
  /** Seconds between a worker's heartbeats (and between sweeps). */
  heartbeatSeconds: number;
  /** Seconds an idle worker waits between polls of its queues. */
  pollSeconds: number;
  /** Seconds a stopping worker waits for its running attempts to checkpoint and stop. */
  shutdownGraceSeconds: number;
  /** Backend stored in the config of a meta-training job that does not require a GPU. */
  defaultBackend: 'wasm' | 'cpu' | 'tensorflow';
  /** Examples per committed window of a scoring job (the unit a resumed job skips). */
  scoreWindowSize: number;
  /** Examples per rater forward pass when scoring. */
  scoreBatchSize: number;
}

/** Returns the message of a job queued for a GPU worker, by how many GPU workers are up. */
export function gpuQueueMessage(liveGpuWorkers: number, staleSeconds: number): string {
  if (liveGpuWorkers > 0) {
    return `Queued for a GPU worker (${liveGpuWorkers} up).`;
  }
  return (
    `Waiting for a GPU worker: none has sent a heartbeat in the last ${staleSeconds} s. ` +
    'Start one on a machine with an NVIDIA GPU and @tensorflow/tfjs-node-gpu installed: ' +
    'TFJS_BACKEND=tensorflow DATABASE_URL=... datarater worker'
  );
}

/** Job settings from the process configuration. */
export function jobSettingsFrom(config: AppConfig): JobSettings {
  return {
    retryLimit: config.jobRetryLimit,
    retryDelaySeconds: 2,
    expireSeconds: config.jobExpireSeconds,
    workerStaleSeconds: config.workerStaleSeconds,
    // Five heartbeats per staleness period, so one late heartbeat alone does not make a worker lost.
    heartbeatSeconds: Math.max(1, Math.floor(config.workerStaleSeconds / 5)),
    pollSeconds: 1,
    shutdownGraceSeconds: config.shutdownGraceSeconds,
    defaultBackend: config.backend,
    scoreWindowSize: config.scoreWindowSize,
    scoreBatchSize: config.scoreBatchSize,
  };
}
