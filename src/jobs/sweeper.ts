// Returns the jobs of lost workers to the queue, and keeps the message of GPU-queued jobs saying
// whether a GPU worker is up. Every process with a job system runs one. Two sweepers racing over
// the same job are harmless, because each change is fenced on the job's attempt.
import crypto from 'node:crypto';
import type { Logger } from 'pino';
import type { Database } from '../db/client.js';
import type { JobHandlers } from './context.js';
import type { JobEvents } from './events.js';
import { endAttempt, lockOwnedJob, NOW_UTC, readJob } from './job-rows.js';
import { QUEUES, type QueueName } from './kinds.js';
import type { JobQueue } from './queue.js';
import { gpuQueueMessage, type JobSettings } from './settings.js';
import { inTransaction } from './transaction.js';
import { countLiveGpuWorkers, pruneWorkers } from './workers.js';

interface LostAttempt {
  jobId: string;
  attempt: number;
  queueName: QueueName;
  queueJobId: string;
  workerId: string;
  hostname: string | null;
  pid: number | null;
  stopped: boolean;
}

export class Sweeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly options: {
      db: Database;
      queue: JobQueue;
      events: JobEvents;
      settings: JobSettings;
      handlers: JobHandlers;
      logger: Logger;
      localWorkers: ReadonlySet<string>;
    },
  ) {}

  /** Sweeps every heartbeat interval. */
  start(): void {
    const every = Math.max(1, this.options.settings.heartbeatSeconds) * 1000;
    this.timer = setInterval(() => void this.sweep(), every);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Runs one sweep; a sweep already in progress is awaited instead of started twice. */
  sweep(): Promise<void> {
    this.running ??= this.sweepOnce()
      .catch((error: unknown) => this.options.logger.error({ err: error }, 'job sweep failed'))
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private async sweepOnce(): Promise<void> {
    const { db, settings, localWorkers } = this.options;
    const lostAttempts = await findLostAttempts(db, settings.workerStaleSeconds, [...localWorkers]);
    for (const lost of lostAttempts) {
      await this.requeueLost(lost);
    }
    await this.refreshGpuMessages();
    await pruneWorkers(db.pool, 7);
  }

  /**
   * Fails the lost attempt in the queue, which schedules a retry with backoff while retries
   * remain, and moves the job row back to QUEUED (or to FAILED when none remain).
   */
  private async requeueLost(lost: LostAttempt): Promise<void> {
    const { db, queue, events, handlers, logger } = this.options;
    const workerName = lost.hostname
      ? `${lost.workerId} (${lost.hostname}, pid ${lost.pid})`
      : lost.workerId;
    const reason = lost.stopped
      ? `Worker ${workerName} stopped without finishing attempt ${lost.attempt}`
      : `Worker ${workerName} stopped sending heartbeats during attempt ${lost.attempt}`;

    const requeued = await inTransaction(db.pool, async (client) => {
      const attempt = { jobId: lost.jobId, attempt: lost.attempt };
      if (!(await lockOwnedJob(client, attempt))) return null;

      const state = await queue.fail(lost.queueName, lost.queueJobId, reason, client);
      if (state === 'failed') {
        const error = `${reason}, and no retries are left (${queue.settings.retryLimit} allowed).`;
        await endAttempt(client, attempt, { status: 'FAILED', error, message: error });
        const job = await readJob(client, lost.jobId);
        if (job) await handlers[job.kind]?.onEnded?.(client, job, 'FAILED', error);
        return 'failed' as const;
      }

      // When pg-boss no longer keeps the entry as retryable (archived, or completed by a worker
      // that crashed between its two commits), the job gets a fresh entry.
      let queueJobId: string | undefined;
      if (state !== 'retry' && state !== 'created') {
        queueJobId = crypto.randomUUID();
        await queue.send(lost.queueName, { jobId: lost.jobId }, queueJobId, client);
      }
      await endAttempt(client, attempt, {
        status: 'QUEUED',
        message: `${reason}; the job is queued again and resumes from its last checkpoint.`,
        queueJobId,
      });
      return 'queued' as const;
    });

    if (requeued) {
      logger.warn({ jobId: lost.jobId, workerId: lost.workerId, outcome: requeued }, reason);
      events.published([lost.jobId], requeued === 'queued');
    }
  }

  private async refreshGpuMessages(): Promise<void> {
    const { db, settings, events } = this.options;
    const live = await countLiveGpuWorkers(db.pool, settings.workerStaleSeconds);
    const message = gpuQueueMessage(live, settings.workerStaleSeconds);
    const { rows } = await db.pool.query<{ id: string }>(
      `WITH changed AS (
         UPDATE job SET message = $2, updated_at = ${NOW_UTC}
          WHERE status = 'QUEUED' AND queue_name = $1 AND message IS DISTINCT FROM $2
          RETURNING id)
       SELECT id, pg_notify('datarater_job', id::text) FROM changed`,
      [QUEUES.metaTrainGpu, message],
    );
    events.published(rows.map((row) => row.id));
  }
}

/**
 * Running attempts whose worker stopped, has no row, or sent no heartbeat for `staleSeconds`,
 * except those of `localWorkers` (running in this process).
 */
async function findLostAttempts(
  db: Database,
  staleSeconds: number,
  localWorkers: string[],
): Promise<LostAttempt[]> {
  const { rows } = await db.pool.query<LostAttempt>(
    `SELECT j.id AS "jobId", j.attempts AS attempt, j.queue_name AS "queueName",
            j.queue_job_id AS "queueJobId", j.worker_id AS "workerId",
            w.hostname, w.pid, (w.stopped_at IS NOT NULL) AS stopped
       FROM job j LEFT JOIN worker w ON w.id = j.worker_id
      WHERE j.status = 'RUNNING' AND j.queue_name IS NOT NULL AND j.queue_job_id IS NOT NULL
        AND NOT (j.worker_id = ANY($2::uuid[]))
        AND (w.id IS NULL OR w.stopped_at IS NOT NULL
             OR w.heartbeat_at < ${NOW_UTC} - make_interval(secs => $1))`,
    [staleSeconds, localWorkers],
  );
  return rows;
}
