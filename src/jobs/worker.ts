// A job worker: polls its queues, runs at most `concurrency` attempts at once, heartbeats into the
// `worker` table, and on stop lets running attempts checkpoint and go back to the queue.
import crypto from 'node:crypto';
import os from 'node:os';
import type { Logger } from 'pino';
import {
  AttemptStopped,
  PermanentJobError,
  type JobContext,
  type StopReason,
  type WorkerInfo,
} from './context.js';
import {
  claimJob,
  endAttempt,
  lockOwnedJob,
  readJob,
  updateProgress,
  type Attempt,
  type JobRow,
} from './job-rows.js';
import { queuesForWorker, type QueueName } from './kinds.js';
import type { FetchedJob } from './queue.js';
import type { JobSystem } from './system.js';
import { inTransaction } from './transaction.js';
import { markWorkerStopped, registerWorker, sendHeartbeat } from './workers.js';

export interface WorkerOptions {
  system: JobSystem;
  logger: Logger;
  /** Attempts this worker runs at the same time, over all its queues. */
  concurrency: number;
  /** The TensorFlow.js backend this process initialized. */
  backend: { name: string; gpu: boolean };
  /** Whether an error thrown by a handler is worth retrying; default: everything but PermanentJobError. */
  isPermanentError?: (error: unknown) => boolean;
}

interface RunningAttempt {
  jobId: string;
  controller: AbortController;
  reason: StopReason | null;
  done: Promise<void>;
}

export class JobWorker {
  readonly info: WorkerInfo;
  readonly queues: QueueName[];
  private readonly running = new Map<string, RunningAttempt>();
  private stopping = false;
  private loop: Promise<void> = Promise.resolve();
  private wakeUp: (() => void) | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private unsubscribeQueued: () => void = () => undefined;
  private nextQueue = 0;

  private constructor(private readonly options: WorkerOptions) {
    this.info = {
      id: crypto.randomUUID(),
      hostname: os.hostname(),
      pid: process.pid,
      backend: options.backend.name,
      gpu: options.backend.gpu,
    };
    this.queues = queuesForWorker(options.backend.gpu);
  }

  /** Registers the worker, starts its heartbeat and starts taking jobs. */
  static async start(options: WorkerOptions): Promise<JobWorker> {
    const worker = new JobWorker(options);
    const { system, logger } = options;
    system.localWorkers.add(worker.info.id);
    await registerWorker(system.db.pool, {
      ...worker.info,
      queues: worker.queues,
      concurrency: options.concurrency,
    });

    worker.heartbeat = setInterval(() => {
      sendHeartbeat(system.db.pool, worker.info.id).catch((error: unknown) =>
        logger.warn({ err: error, workerId: worker.info.id }, 'worker heartbeat failed'),
      );
    }, system.settings.heartbeatSeconds * 1000);
    worker.unsubscribeQueued = system.events.onQueued(() => worker.wake());
    worker.loop = worker.runLoop();

    logger.info(
      { workerId: worker.info.id, queues: worker.queues, concurrency: options.concurrency },
      'job worker started',
    );
    return worker;
  }

  /** Number of attempts running now. */
  get activeAttempts(): number {
    return this.running.size;
  }

  /**
   * Stops taking jobs, signals running attempts to stop (meta-training writes a checkpoint first),
   * waits up to the shutdown grace period for them, then marks the worker stopped. Attempts still
   * running after the grace period are returned to the queue by the next sweep.
   */
  async stop(): Promise<void> {
    const { system, logger } = this.options;
    this.stopping = true;
    this.unsubscribeQueued();
    this.wake();
    await this.loop;

    for (const attempt of this.running.values()) this.stopAttempt(attempt, 'shutdown');
    const settled = Promise.allSettled([...this.running.values()].map((a) => a.done));
    const graceMs = system.settings.shutdownGraceSeconds * 1000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      settled.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      logger.warn(
        { workerId: this.info.id, running: [...this.running.keys()] },
        `attempts did not stop within ${system.settings.shutdownGraceSeconds} s; they return to the queue when the worker is marked stopped`,
      );
    }

    if (this.heartbeat) clearInterval(this.heartbeat);
    system.localWorkers.delete(this.info.id);
    await markWorkerStopped(system.db.pool, this.info.id);
    if (timedOut) await system.sweep();
    logger.info({ workerId: this.info.id }, 'job worker stopped');
  }

  private wake(): void {
    const wake = this.wakeUp;
    this.wakeUp = null;
    wake?.();
  }

  private async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = null;
        resolve();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async runLoop(): Promise<void> {
    const { system, logger, concurrency } = this.options;
    const pollMs = system.settings.pollSeconds * 1000;
    while (!this.stopping) {
      if (this.running.size >= concurrency) {
        await this.sleep(pollMs);
        continue;
      }

      let fetched: FetchedJob | null = null;
      try {
        fetched = await this.fetchNext();
      } catch (error) {
        logger.error({ err: error, workerId: this.info.id }, 'fetching jobs failed; retrying');
      }
      if (fetched) this.startAttempt(fetched);
      else await this.sleep(pollMs);
    }
  }

  /** Polls the queues round-robin, starting after the queue that gave the last job. */
  private async fetchNext(): Promise<FetchedJob | null> {
    for (let i = 0; i < this.queues.length; i++) {
      const index = (this.nextQueue + i) % this.queues.length;
      const fetched = await this.options.system.queue.fetch(this.queues[index]!);
      if (fetched) {
        this.nextQueue = (index + 1) % this.queues.length;
        return fetched;
      }
    }
    return null;
  }

  private startAttempt(fetched: FetchedJob): void {
    const attempt: RunningAttempt = {
      jobId: fetched.payload.jobId,
      controller: new AbortController(),
      reason: null,
      done: Promise.resolve(),
    };
    this.running.set(fetched.queueJobId, attempt);
    attempt.done = this.runAttempt(fetched, attempt)
      .catch((error: unknown) =>
        this.options.logger.error(
          { err: error, jobId: attempt.jobId, workerId: this.info.id },
          'job attempt bookkeeping failed; the sweeper or the queue expiry will retry the job',
        ),
      )
      .finally(() => {
        this.running.delete(fetched.queueJobId);
        this.wake();
      });
  }

  private stopAttempt(attempt: RunningAttempt, reason: StopReason): void {
    if (attempt.reason) return;
    attempt.reason = reason;
    attempt.controller.abort(new AttemptStopped(reason));
  }

  private async runAttempt(fetched: FetchedJob, running: RunningAttempt): Promise<void> {
    const { system } = this.options;
    const pool = system.db.pool;
    const job = await claimJob(
      pool,
      running.jobId,
      fetched.queueJobId,
      this.info.id,
      `Running on ${this.info.hostname} (pid ${this.info.pid}).`,
    );
    if (!job) {
      await this.dismiss(fetched);
      return;
    }
    system.published([job.id]);
    if (this.stopping) this.stopAttempt(running, 'shutdown');

    const attempt: Attempt = { jobId: job.id, attempt: job.attempts };
    const logger = this.options.logger.child({
      jobId: job.id,
      kind: job.kind,
      attempt: job.attempts,
    });
    const unsubscribe = system.events.onJob(job.id, () => {
      void this.checkOwnership(attempt, running).catch(() => undefined);
    });
    logger.info({ workerId: this.info.id }, 'job attempt started');

    try {
      const handler = system.handlers[job.kind];
      if (!handler) throw new PermanentJobError(`No handler for jobs of kind ${job.kind}.`);
      const result = await handler.run(this.createContext(job, attempt, running, logger));
      await this.succeed(fetched, attempt, result, logger);
    } catch (error) {
      if (error instanceof AttemptStopped) {
        await this.afterStop(fetched, attempt, error, logger);
      } else {
        await this.afterFailure(fetched, job, attempt, error, logger);
      }
    } finally {
      unsubscribe();
    }
  }

  private createContext(
    job: JobRow,
    attempt: Attempt,
    running: RunningAttempt,
    logger: Logger,
  ): JobContext {
    const { system } = this.options;
    const pool = system.db.pool;
    const lost = async (): Promise<AttemptStopped> => {
      const reason = await this.lossReason(attempt.jobId);
      this.stopAttempt(running, reason);
      return new AttemptStopped(reason);
    };
    return {
      job,
      attempt,
      db: system.db,
      logger,
      worker: this.info,
      signal: running.controller.signal,
      stopReason: () => running.reason,
      throwIfStopped(position?: string) {
        if (running.reason) throw new AttemptStopped(running.reason, position ?? null);
      },
      async progress(update) {
        if (!(await updateProgress(pool, attempt, update))) throw await lost();
        system.published([attempt.jobId]);
      },
      async commit(fn) {
        let owned = true;
        const result = await inTransaction(pool, async (client) => {
          owned = await lockOwnedJob(client, attempt);
          return owned ? fn(client) : undefined;
        });
        if (!owned) throw await lost();
        return result as Awaited<ReturnType<typeof fn>>;
      },
    };
  }

  private async lossReason(jobId: string): Promise<StopReason> {
    const row = await readJob(this.options.system.db.pool, jobId);
    return row?.status === 'CANCELED' ? 'canceled' : 'lost';
  }

  /** Stops the attempt when an event shows the job canceled or taken over. */
  private async checkOwnership(attempt: Attempt, running: RunningAttempt): Promise<void> {
    if (running.reason) return;
    const row = await readJob(this.options.system.db.pool, attempt.jobId);
    if (!row || row.status === 'CANCELED') this.stopAttempt(running, 'canceled');
    else if (row.status !== 'RUNNING' || row.attempts !== attempt.attempt)
      this.stopAttempt(running, 'lost');
  }

  /** Completes a queue entry whose job row is finished, gone, or bound to another entry. */
  private async dismiss(fetched: FetchedJob): Promise<void> {
    const { system, logger } = this.options;
    const row = await readJob(system.db.pool, fetched.payload.jobId);
    const reason = !row
      ? 'job row not found'
      : row.queueJobId !== fetched.queueJobId
        ? 'stale queue entry'
        : `job is ${row.status}`;
    if (row?.status === 'CANCELED') await system.queue.cancel(fetched.queue, fetched.queueJobId);
    else await system.queue.complete(fetched.queue, fetched.queueJobId, { skipped: reason });
    logger.info(
      { jobId: fetched.payload.jobId, queueJobId: fetched.queueJobId, reason },
      'skipped a queue entry',
    );
  }

  private async succeed(
    fetched: FetchedJob,
    attempt: Attempt,
    result: object,
    logger: Logger,
  ): Promise<void> {
    const { system } = this.options;
    const ended = await inTransaction(system.db.pool, async (client) => {
      const message = `Succeeded on attempt ${attempt.attempt}.`;
      if (!(await endAttempt(client, attempt, { status: 'SUCCEEDED', result, message }))) {
        return false;
      }
      await system.queue.complete(fetched.queue, fetched.queueJobId, {}, client);
      return true;
    });
    if (ended) {
      system.published([attempt.jobId]);
      logger.info('job succeeded');
    } else {
      logger.info('job finished its work but no longer owned the job; result discarded');
    }
  }

  private async afterStop(
    fetched: FetchedJob,
    attempt: Attempt,
    stopped: AttemptStopped,
    logger: Logger,
  ): Promise<void> {
    if (stopped.reason !== 'shutdown') {
      logger.info({ reason: stopped.reason }, 'job attempt stopped');
      return;
    }

    // Back to the queue without using up a retry: a fresh queue entry replaces the active one.
    const { system } = this.options;
    const where = stopped.position ? ` ${stopped.position}` : '';
    const message =
      `Worker ${this.info.hostname} (pid ${this.info.pid}) shut down${where}; ` +
      'the job is queued again and resumes from its last checkpoint.';
    const requeued = await inTransaction(system.db.pool, async (client) => {
      if (!(await lockOwnedJob(client, attempt))) return false;
      const queueJobId = crypto.randomUUID();
      await system.queue.send(fetched.queue, { jobId: attempt.jobId }, queueJobId, client);
      await system.queue.complete(fetched.queue, fetched.queueJobId, { requeued: true }, client);
      return endAttempt(client, attempt, { status: 'QUEUED', message, queueJobId });
    });
    if (requeued) system.published([attempt.jobId], true);
    logger.info({ requeued, position: stopped.position }, 'job attempt stopped for shutdown');
  }

  private async afterFailure(
    fetched: FetchedJob,
    job: JobRow,
    attempt: Attempt,
    error: unknown,
    logger: Logger,
  ): Promise<void> {
    const { system, isPermanentError } = this.options;
    const text = asSentence(error instanceof Error ? error.message : String(error));
    const permanent = error instanceof PermanentJobError || (isPermanentError?.(error) ?? false);

    const outcome = await inTransaction(system.db.pool, async (client) => {
      if (!(await lockOwnedJob(client, attempt))) return null;
      const state = await system.queue.fail(fetched.queue, fetched.queueJobId, text, client);

      if (!permanent && (state === 'retry' || state === 'created')) {
        const retry = fetched.retryCount + 1;
        const message =
          `Attempt ${attempt.attempt} failed: ${text} ` +
          `Retrying after a backoff (retry ${retry} of ${fetched.retryLimit}).`;
        await endAttempt(client, attempt, { status: 'QUEUED', message });
        return 'retry' as const;
      }

      if (state === 'retry' || state === 'created') {
        await system.queue.cancel(fetched.queue, fetched.queueJobId, client);
      }
      const message = permanent
        ? `Failed: ${text}`
        : `Failed after ${fetched.retryCount + 1} attempts: ${text}`;
      await endAttempt(client, attempt, { status: 'FAILED', error: text, message });
      await system.handlers[job.kind]?.onEnded?.(client, job, 'FAILED', text);
      return 'failed' as const;
    });

    if (outcome) system.published([attempt.jobId], outcome === 'retry');
    const level = outcome === 'failed' ? 'error' : 'warn';
    logger[level]({ err: error, outcome, permanent }, 'job attempt failed');
  }
}

/** Returns the text with a full stop at the end unless it already ends a sentence. */
function asSentence(text: string): string {
  const trimmed = text.trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}
