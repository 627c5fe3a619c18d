// Job kinds, statuses and the queues that carry them.

export type JobKind = 'IMPORT' | 'META_TRAIN' | 'SCORE' | 'CURATE' | 'EVALUATE';

/**
 * Status of a job row. QUEUED → RUNNING → SUCCEEDED | FAILED | CANCELED; a running job goes back
 * to QUEUED when its attempt fails with retries left, its worker shuts down or stops sending
 * heartbeats; retryJob moves a FAILED or CANCELED job back to QUEUED.
 */
export type JobStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELED';

/** Backend a meta-training job requires. */
export type BackendRequirement = 'ANY' | 'CPU' | 'GPU';

/** Statuses after which no worker touches the job again (until retryJob). */
export function isTerminal(status: JobStatus): boolean {
  switch (status) {
    case 'SUCCEEDED':
    case 'FAILED':
    case 'CANCELED':
      return true;
    case 'QUEUED':
    case 'RUNNING':
      return false;
    default: {
      const unknown: never = status;
      throw new Error(`isTerminal: unknown job status ${String(unknown)}`);
    }
  }
}

/** pg-boss queue names. Meta-training has one queue per backend requirement. */
export const QUEUES = {
  metaTrain: 'meta-train',
  metaTrainCpu: 'meta-train-cpu',
  metaTrainGpu: 'meta-train-gpu',
  score: 'score',
  curate: 'curate',
  evaluate: 'evaluate',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export const ALL_QUEUES: readonly QueueName[] = Object.values(QUEUES);

/** Queue of a job of `kind`; `backend` matters only for META_TRAIN. */
export function queueFor(kind: JobKind, backend: BackendRequirement = 'ANY'): QueueName {
  switch (kind) {
    case 'META_TRAIN':
      if (backend === 'GPU') return QUEUES.metaTrainGpu;
      if (backend === 'CPU') return QUEUES.metaTrainCpu;
      return QUEUES.metaTrain;
    case 'SCORE':
      return QUEUES.score;
    case 'CURATE':
      return QUEUES.curate;
    case 'EVALUATE':
      return QUEUES.evaluate;
    case 'IMPORT':
      throw new Error('queueFor: imports run inside the importCorpus mutation, not on a queue');
    default: {
      const unknown: never = kind;
      throw new Error(`queueFor: unknown job kind ${String(unknown)}`);
    }
  }
}

/**
 * Queues a worker consumes, in the order it polls them. A GPU worker takes GPU and
 * any-backend meta-training; every other worker takes CPU and any-backend meta-training.
 */
export function queuesForWorker(gpu: boolean): QueueName[] {
  const training = gpu
    ? [QUEUES.metaTrainGpu, QUEUES.metaTrain]
    : [QUEUES.metaTrain, QUEUES.metaTrainCpu];
  return [...training, QUEUES.score, QUEUES.curate, QUEUES.evaluate];
}

/** Payload of every queued job: the job row carries everything else. */
export interface QueuePayload {
  jobId: string;
}
