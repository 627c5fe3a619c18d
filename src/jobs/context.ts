// The contract between the worker and job handlers: the context a handler runs with, and the
// handler interface.
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Database } from '../db/client.js';
import type { Attempt, JobRow, ProgressUpdate } from './job-rows.js';
import type { JobKind } from './kinds.js';

/**
 * Why an attempt must stop before its work is done:
 * - `canceled`: cancelJob canceled the job;
 * - `lost`: the attempt no longer owns the job (another worker took it over after this worker
 *   was declared lost, or the queue expired the attempt);
 * - `shutdown`: the worker process is shutting down; the job goes back to the queue.
 */
export type StopReason = 'canceled' | 'lost' | 'shutdown';

/** Thrown inside a handler when its attempt must stop; the worker handles it by reason. */
export class AttemptStopped extends Error {
  override readonly name = 'AttemptStopped';

  constructor(
    readonly reason: StopReason,
    /** Point where the work stopped, for the job's message (for example "at step 40"). */
    readonly position: string | null = null,
  ) {
    super(`attempt stopped (${reason})`);
  }
}

/** A failure that retrying cannot fix (invalid input, a deleted dataset): no retries. */
export class PermanentJobError extends Error {
  override readonly name = 'PermanentJobError';
}

export interface WorkerInfo {
  id: string;
  hostname: string;
  pid: number;
  /** TensorFlow.js backend this worker runs on. */
  backend: string;
  gpu: boolean;
}

export interface JobContext {
  /** The job row as claimed; `attempts` is this attempt's number. */
  readonly job: JobRow;
  readonly attempt: Attempt;
  readonly db: Database;
  readonly logger: Logger;
  readonly worker: WorkerInfo;
  /** Aborted when the attempt must stop; `stopReason()` returns why. */
  readonly signal: AbortSignal;
  stopReason(): StopReason | null;
  /** Throws AttemptStopped when the attempt must stop. */
  throwIfStopped(position?: string): void;
  /**
   * Records progress; throws AttemptStopped('canceled' or 'lost') when the attempt no longer owns
   * the job.
   */
  progress(update: ProgressUpdate): Promise<void>;
  /**
   * Runs `fn` in a transaction that first locks the job row and checks that this attempt still
   * owns it, so the work commits only while it does. Throws AttemptStopped otherwise.
   */
  commit<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T>;
}

export interface JobHandler {
  /** Does the work of one attempt and returns the job's result (stored as JSON). */
  run(context: JobContext): Promise<object>;
  /**
   * Updates what the job works on when it ends without success (for example marks a rater
   * version FAILED). Runs in the transaction that ends the job.
   */
  onEnded?(
    client: pg.ClientBase,
    job: JobRow,
    status: 'FAILED' | 'CANCELED',
    error: string | null,
  ): Promise<void>;
  /** Resets what the job works on when retryJob queues it again; runs in the same transaction. */
  onRetried?(client: pg.ClientBase, job: JobRow): Promise<void>;
}

export type JobHandlers = Partial<Record<JobKind, JobHandler>>;
